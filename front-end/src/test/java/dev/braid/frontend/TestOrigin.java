package dev.braid.frontend;

import dev.braid.runtime.EventLoops;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small Netty origin for the front-end's integration tests. Every response is
 * {@code "<METHOD> <target> <request body bytes>"}, {@code text/plain}, {@code Cache-Control:
 * no-store}, so each client can check it got the answer to its own request. A query parameter
 * {@code delay=<ms>} holds the answer that long (a slow origin keeps requests in flight). It
 * counts the requests it received per {@code "METHOD path"}, counted when the request has arrived
 * whole, before any delay.
 */
final class TestOrigin implements AutoCloseable {

    private final Channel server;
    private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    TestOrigin(EventLoops loops) {
        server = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.transport().serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new Answer());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Requests received as {@code "METHOD path"} (query string left out). */
    int received(String methodAndPath) {
        AtomicInteger n = received.get(methodAndPath);
        return n == null ? 0 : n.get();
    }

    int total() {
        return total.get();
    }

    private final class Answer extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            QueryStringDecoder q = new QueryStringDecoder(req.uri());
            received.computeIfAbsent(req.method() + " " + q.path(), k -> new AtomicInteger()).incrementAndGet();
            total.incrementAndGet();
            String text = req.method() + " " + req.uri() + " " + req.content().readableBytes();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            boolean head = HttpMethod.HEAD.equals(req.method());
            long delay = q.parameters().containsKey("delay") ? Long.parseLong(q.parameters().get("delay").get(0)) : 0;
            Runnable send = () -> {
                byte[] body = text.getBytes(StandardCharsets.UTF_8);
                ByteBuf content = ctx.alloc().buffer(body.length).writeBytes(body);
                FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        head ? ctx.alloc().buffer(0) : content);
                if (head) {
                    content.release();
                }
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
                res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
                res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
                HttpUtil.setKeepAlive(res, keepAlive);
                var f = ctx.writeAndFlush(res);
                if (!keepAlive) {
                    f.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
                }
            };
            if (delay > 0) {
                ctx.executor().schedule(send, delay, TimeUnit.MILLISECONDS);
            } else {
                send.run();
            }
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
    }
}
