package dev.braid.backend;

import dev.braid.runtime.StrictHttp;
import dev.braid.runtime.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive HTTP/1.1 connections to origins (optionally TLS), kept per event loop so that an
 * exchange and its origin connection share a thread and need no lock (idle connections are reused
 * last-in first-out on the loop that asks). Open connections to an origin, idle ones included,
 * never exceed its {@code maxConnections} across the whole node: at the limit an acquirer waits
 * while an idle connection on another loop is closed for it.
 *
 * <p>Origin channels run with auto-read off and a write-buffer water mark: an exchange reads the
 * next chunk of a response only when its TMP stream can take it.
 */
final class OriginPool {

    /** Idle pooled connections are closed after this long, in seconds. */
    static final int IDLE_SECONDS = 30;
    /** Write-buffer water marks of origin channels, in bytes. */
    static final int LOW_WATER_BYTES = 32 * 1024;
    static final int HIGH_WATER_BYTES = 128 * 1024;

    static final AttributeKey<OriginExchange> EXCHANGE = AttributeKey.valueOf("braid.origin.exchange");
    /** Set once a connection has served an exchange and gone back to the pool: a later close may race a request. */
    static final AttributeKey<Boolean> SERVED = AttributeKey.valueOf("braid.origin.served");

    private final Transport transport;
    private final ChannelGroup all = new DefaultChannelGroup("origin-connections", GlobalEventExecutor.INSTANCE);
    private final FastThreadLocal<Map<OriginTarget, ArrayDeque<Channel>>> idleHere = new FastThreadLocal<>() {
        @Override
        protected Map<OriginTarget, ArrayDeque<Channel>> initialValue() {
            return new IdentityHashMap<>();
        }
    };

    OriginPool(Transport transport) {
        this.transport = transport;
    }

    /** An idle connection to {@code target} on {@code loop}, or a new one (TLS handshake done). Call on {@code loop}. */
    Future<Channel> acquire(EventLoop loop, OriginTarget target) {
        return acquire(loop, target, false);
    }

    /**
     * {@link #acquire(EventLoop, OriginTarget)}; with {@code fresh}, a new connection, never an idle
     * one: after one closed under a request, the others to that origin may be as stale.
     */
    Future<Channel> acquire(EventLoop loop, OriginTarget target, boolean fresh) {
        Promise<Channel> promise = loop.newPromise();
        tryAcquire(loop, target, promise, fresh);
        return promise;
    }

    private void tryAcquire(EventLoop loop, OriginTarget target, Promise<Channel> promise, boolean fresh) {
        ArrayDeque<Channel> local = fresh ? null : idleHere.get().get(target);
        while (local != null && !local.isEmpty()) {
            Channel ch = local.pollLast();
            if (target.idle.remove(ch) && ch.isActive()) {
                ch.config().setAutoRead(false);
                promise.setSuccess(ch);
                return;
            }
        }
        for (;;) {
            int n = target.open.get();
            if (n >= target.maxConnections) {
                break;
            }
            if (target.open.compareAndSet(n, n + 1)) {
                connect(loop, target, promise);
                return;
            }
        }
        // At the limit: wait for a slot, and free one held idle on another loop.
        target.waiters.add(new AbstractMap.SimpleImmutableEntry<>(loop, () -> tryAcquire(loop, target, promise, fresh)));
        if (target.open.get() < target.maxConnections) {
            wakeWaiter(target);
        }
        for (Channel ch : target.idle) {
            if (target.idle.remove(ch)) {
                ch.close();
                break;
            }
        }
    }

    private static void wakeWaiter(OriginTarget target) {
        Map.Entry<EventLoop, Runnable> w = target.waiters.poll();
        if (w != null) {
            w.getKey().execute(w.getValue());
        }
    }

    private void connect(EventLoop loop, OriginTarget target, Promise<Channel> promise) {
        ChannelFuture f = bootstrap(loop, target, new Dispatch()).connect(target.address);
        Channel ch = f.channel();
        all.add(ch);
        ch.closeFuture().addListener(x -> {
            // Runs on the channel's loop, whose idle list may still name it.
            ArrayDeque<Channel> local = idleHere.get().get(target);
            if (local != null) {
                local.remove(ch);
            }
            target.idle.remove(ch);
            target.open.decrementAndGet();
            wakeWaiter(target);
        });
        f.addListener(x -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                promise.trySuccess(ch);
                return;
            }
            ssl.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    promise.trySuccess(ch);
                } else {
                    ch.close();
                    promise.tryFailure(h.cause());
                }
            });
        });
    }

    private Bootstrap bootstrap(EventLoop loop, OriginTarget target, ChannelInboundHandlerAdapter last) {
        return new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, target.connectTimeoutMillis)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(LOW_WATER_BYTES, HIGH_WATER_BYTES))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (target.ssl != null) {
                            SslHandler ssl = target.ssl.newHandler(ch.alloc(), target.host, target.port);
                            ssl.setHandshakeTimeoutMillis(target.connectTimeoutMillis);
                            ch.pipeline().addLast(ssl);
                        }
                        ch.pipeline().addLast(
                                new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS),
                                new HttpClientCodec(StrictHttp.decoderConfig(), false, true),
                                last);
                    }
                });
    }

    /**
     * Keeps a connection whose exchange ended cleanly, or closes it when its target was replaced.
     * Call on the connection's loop.
     */
    void release(OriginTarget target, Channel ch) {
        ch.attr(EXCHANGE).set(null);
        ch.attr(SERVED).set(Boolean.TRUE);
        if (!ch.isActive()) {
            return;
        }
        if (target.retired) {
            ch.close();
            return;
        }
        idleHere.get().computeIfAbsent(target, k -> new ArrayDeque<>()).addLast(ch);
        target.idle.add(ch);
        // Read while idle so that a close by the origin is noticed at once.
        ch.config().setAutoRead(true);
        if (!target.waiters.isEmpty()) {
            // Someone on another loop waits for a slot: give this one up for them.
            if (target.idle.remove(ch)) {
                ch.close();
            }
        }
    }

    /** Stops reusing a target's connections: idle ones close now, busy ones when their exchange ends. */
    void retire(OriginTarget target) {
        target.retired = true;
        for (Channel ch : target.idle) {
            if (target.idle.remove(ch)) {
                ch.close();
            }
        }
    }

    /** Open origin connections, idle and busy, across every origin (for tests and metrics). */
    int openConnections() {
        return all.size();
    }

    /** Closes every origin connection. */
    void close() {
        all.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }

    /**
     * An active health probe: a fresh connection (outside the pool and its limit), {@code GET path}
     * with {@code Connection: close}; completes with the response status, or fails with why.
     */
    Future<Integer> probe(EventLoop loop, OriginTarget target, String path, String host, int timeoutMillis) {
        Promise<Integer> result = loop.newPromise();
        ChannelFuture f = bootstrap(loop, target, new ProbeHandler(result)).connect(target.address);
        Channel ch = f.channel();
        all.add(ch);
        ScheduledFuture<?> timeout = loop.schedule(() -> {
            if (result.tryFailure(new java.util.concurrent.TimeoutException("no answer within " + timeoutMillis + " ms"))) {
                ch.close();
            }
        }, timeoutMillis, TimeUnit.MILLISECONDS);
        result.addListener(x -> timeout.cancel(false));
        f.addListener(x -> {
            if (!f.isSuccess()) {
                result.tryFailure(f.cause());
                return;
            }
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path, Unpooled.EMPTY_BUFFER);
            req.headers().set(HttpHeaderNames.HOST, host);
            req.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            req.headers().set(HttpHeaderNames.USER_AGENT, "braid-health-check");
            ch.writeAndFlush(req);
            ch.config().setAutoRead(true);
        });
        return result;
    }

    /** Reads a probe's response head, then closes the connection. */
    private static final class ProbeHandler extends ChannelInboundHandlerAdapter {
        private final Promise<Integer> result;

        ProbeHandler(Promise<Integer> result) {
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpResponse res) {
                    if (res.decoderResult().isFailure()) {
                        result.tryFailure(new IllegalStateException("malformed response: " + res.decoderResult().cause().getMessage()));
                    } else {
                        result.trySuccess(res.status().code());
                    }
                    ctx.close();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.tryFailure(new IllegalStateException("connection closed before a response"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.tryFailure(cause);
            ctx.close();
        }
    }

    /** Routes an origin channel's events to the exchange currently using it. */
    private static final class Dispatch extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            OriginExchange exchange = ctx.channel().attr(EXCHANGE).get();
            if (exchange == null) {
                // Bytes from an idle connection: the origin broke the protocol; do not reuse it.
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            exchange.originRead(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            OriginExchange exchange = ctx.channel().attr(EXCHANGE).get();
            if (exchange != null) {
                exchange.originReadComplete();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            OriginExchange exchange = ctx.channel().attr(EXCHANGE).get();
            if (exchange != null) {
                exchange.originClosed("origin closed the connection");
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent && ctx.channel().attr(EXCHANGE).get() == null) {
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            OriginExchange exchange = ctx.channel().attr(EXCHANGE).get();
            ctx.close();
            if (exchange != null) {
                exchange.originClosed(cause.getClass().getSimpleName() + ": " + cause.getMessage());
            }
        }
    }
}
