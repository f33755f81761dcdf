package dev.braid.backend;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small origin for tests on 127.0.0.1: answers {@code <name> <METHOD> <uri>} with
 * {@code X-Origin: <name>}, after a delay or only when released, with a chosen status; serves
 * {@code /health} with a chosen status and {@code /big} as a 1 GiB body written only while the
 * connection is writable; records every request (and its {@code X-Request-Id}) and the most
 * requests it ever held at once; can be killed (connections reset) and restarted on its port.
 */
final class TestOrigin implements AutoCloseable {

    static final long BIG_BYTES = 1L << 30;

    final String name;
    private final EventLoopGroup group;
    private final SslContext ssl;
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel server;
    private int port;

    volatile int delayMillis;
    /**
     * Closes each connection at its second request, unanswered: an origin whose keep-alive idle
     * timeout fires just as a request arrives on the connection.
     */
    volatile boolean closeAtSecondRequest;
    volatile boolean hold;
    volatile int status = 200;
    volatile int healthStatus = 200;
    final ConcurrentLinkedQueue<String> arrivals = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> requestIds = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> held = new ConcurrentLinkedQueue<>();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    final AtomicLong bigBytesWritten = new AtomicLong();
    final AtomicInteger healthChecks = new AtomicInteger();

    TestOrigin(String name, EventLoopGroup group) {
        this(name, group, null);
    }

    TestOrigin(String name, EventLoopGroup group, SslContext ssl) {
        this.name = name;
        this.group = group;
        this.ssl = ssl;
        start(0);
    }

    int port() {
        return port;
    }

    String url() {
        return (ssl != null ? "https" : "http") + "://127.0.0.1:" + port;
    }

    private void start(int bindPort) {
        server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new Handler());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", bindPort)).syncUninterruptibly().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Stops listening and resets every connection (SO_LINGER 0), as a crashed server would. */
    void kill() {
        server.close().syncUninterruptibly();
        for (Channel ch : channels) {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        }
        channels.close().awaitUninterruptibly();
        held.clear();
    }

    /** Listens again on the same port. */
    void restart() {
        start(port);
    }

    /** Answers the oldest held request; false if none is held. */
    boolean releaseOne() {
        Runnable r = held.poll();
        if (r == null) {
            return false;
        }
        r.run();
        return true;
    }

    void releaseAll() {
        hold = false;
        while (releaseOne()) {
            // keep going
        }
    }

    int heldCount() {
        return held.size();
    }

    List<String> arrivals() {
        return new ArrayList<>(arrivals);
    }

    @Override
    public void close() {
        releaseAll();
        server.close().syncUninterruptibly();
        channels.close().awaitUninterruptibly();
    }

    private static final io.netty.util.AttributeKey<Integer> SERVED_HERE =
            io.netty.util.AttributeKey.valueOf("test.origin.requests");
    /** Requests closed unanswered by {@link #closeAtSecondRequest}. */
    final java.util.concurrent.atomic.AtomicInteger dropped = new java.util.concurrent.atomic.AtomicInteger();

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (req.uri().equals("/health")) {
                healthChecks.incrementAndGet();
                respond(ctx, healthStatus, "health", HttpUtil.isKeepAlive(req));
                return;
            }
            arrivals.add(req.method() + " " + req.uri());
            io.netty.util.Attribute<Integer> served = ctx.channel().attr(SERVED_HERE);
            int n = served.get() == null ? 1 : served.get() + 1;
            served.set(n);
            if (closeAtSecondRequest && n == 2) {
                dropped.incrementAndGet();
                ctx.close();
                return;
            }
            String id = req.headers().get("X-Request-Id");
            if (id != null) {
                requestIds.add(id);
            }
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            if (req.uri().equals("/big")) {
                big(ctx);
                return;
            }
            String body = name + " " + req.method() + " " + req.uri() + " " + req.content().readableBytes();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            Runnable answer = () -> ctx.executor().execute(() -> {
                inFlight.decrementAndGet();
                respond(ctx, status, body, keepAlive);
            });
            if (hold) {
                held.add(answer);
            } else if (delayMillis > 0) {
                ctx.executor().schedule(answer, delayMillis, TimeUnit.MILLISECONDS);
            } else {
                answer.run();
            }
        }

        private void respond(ChannelHandlerContext ctx, int code, String body, boolean keepAlive) {
            if (!ctx.channel().isActive()) {
                return;
            }
            ByteBuf content = ctx.alloc().buffer();
            content.writeCharSequence(body, StandardCharsets.UTF_8);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code), content);
            res.headers().set("X-Origin", name);
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            HttpUtil.setKeepAlive(res, keepAlive);
            ctx.writeAndFlush(res).addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
        }

        /** Writes 1 GiB in 16 KiB chunks, only while the connection can take more. */
        private void big(ChannelHandlerContext ctx) {
            HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            res.headers().set("X-Origin", name);
            HttpUtil.setContentLength(res, BIG_BYTES);
            ctx.writeAndFlush(res);
            long[] left = {BIG_BYTES};
            Runnable pump = () -> {
                while (left[0] > 0 && ctx.channel().isWritable()) {
                    int n = (int) Math.min(16 * 1024, left[0]);
                    ByteBuf chunk = ctx.alloc().buffer(n);
                    chunk.writeZero(n);
                    left[0] -= n;
                    bigBytesWritten.addAndGet(n);
                    ctx.write(left[0] == 0 ? new io.netty.handler.codec.http.DefaultLastHttpContent(chunk)
                            : new DefaultHttpContent(chunk));
                }
                ctx.flush();
                if (left[0] == 0) {
                    inFlight.decrementAndGet();
                }
            };
            ctx.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                @Override
                public void channelWritabilityChanged(ChannelHandlerContext c) {
                    if (c.channel().isWritable() && left[0] > 0) {
                        pump.run();
                    }
                    c.fireChannelWritabilityChanged();
                }
            });
            pump.run();
        }
    }

}
