package dev.braid.backend;

import dev.braid.runtime.StrictHttp;
import dev.braid.runtime.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive HTTP/1.1 connections to origins, one pool per event loop so that an exchange and its
 * origin connection share a thread and no lock is needed. Origin channels run with auto-read off:
 * the exchange reads the next chunk only when its TMP stream can take it.
 */
final class OriginPool {

    /** Idle pooled connections are closed after this long, in seconds. */
    static final int IDLE_SECONDS = 30;
    static final int CONNECT_TIMEOUT_MILLIS = 5000;

    static final AttributeKey<OriginExchange> EXCHANGE = AttributeKey.valueOf("braid.origin.exchange");

    private final Transport transport;
    private final FastThreadLocal<Map<InetSocketAddress, ArrayDeque<Channel>>> idle = new FastThreadLocal<>() {
        @Override
        protected Map<InetSocketAddress, ArrayDeque<Channel>> initialValue() {
            return new HashMap<>();
        }
    };

    OriginPool(Transport transport) {
        this.transport = transport;
    }

    /** Returns an idle connection to {@code origin} on {@code loop}, or starts a new one. Call on {@code loop}. */
    ChannelFuture acquire(EventLoop loop, InetSocketAddress origin) {
        ArrayDeque<Channel> queue = idle.get().get(origin);
        while (queue != null && !queue.isEmpty()) {
            Channel ch = queue.pollLast();
            if (ch.isActive()) {
                return ch.newSucceededFuture();
            }
        }
        return new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.closeFuture().addListener(f -> {
                            ArrayDeque<Channel> q = idle.get().get(origin);
                            if (q != null) {
                                q.remove(ch);
                            }
                        });
                        ch.pipeline().addLast(
                                new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS),
                                new HttpClientCodec(StrictHttp.decoderConfig(), false, true),
                                new Dispatch());
                    }
                })
                .connect(origin);
    }

    /** Returns a connection whose last exchange ended cleanly. Call on its event loop. */
    void release(InetSocketAddress origin, Channel ch) {
        ch.attr(EXCHANGE).set(null);
        if (!ch.isActive()) {
            return;
        }
        idle.get().computeIfAbsent(origin, k -> new ArrayDeque<>()).addLast(ch);
        // Read while idle so that a close by the origin is noticed at once.
        ch.read();
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
