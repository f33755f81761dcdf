package dev.braid.cli.reliability;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.StrictHttp;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An origin for the chaos tests that counts what is applied to it: {@code POST /order} with an
 * {@code X-Order-Id} header is an order, counted by id, so a POST replayed anywhere on the way
 * shows as a count of two; {@code GET /item/{n}} answers {@code item-{n}}; {@code GET /health}
 * answers {@code ok} (the back-end's probe); {@code GET /slow} answers after 2 s; {@code GET /big} streams {@value #BIG_BYTES} bytes,
 * 16 KiB at a time and only while the connection is writable, counting what it wrote. Every answer
 * is {@code no-store}, so every request crosses the whole system.
 *
 * <p>{@link #kill()} drops the listener and every connection at once (what a crashed origin
 * looks like to its peers); {@link #restart()} listens again on the same port. The counts
 * outlive both, as an origin's database would.
 */
final class CountingOrigin implements AutoCloseable {

    /** Size of the {@code /big} response: 1 GiB. */
    static final long BIG_BYTES = 1L << 30;
    private static final int BIG_CHUNK = 16 * 1024;

    private final EventLoops loops;
    private final AtomicLong bigWritten = new AtomicLong();
    private final Map<String, AtomicInteger> orders = new ConcurrentHashMap<>();
    private final AtomicLong slowStarted = new AtomicLong();
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private InetSocketAddress address;
    private Channel server;

    CountingOrigin(EventLoops loops) {
        this.loops = loops;
        this.address = new InetSocketAddress("127.0.0.1", 0);
        restart();
    }

    synchronized void restart() {
        if (server != null) {
            throw new IllegalStateException("origin already listening on " + address);
        }
        server = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.transport().serverSocketChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        children.add(ch);
                        ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(32 * 1024, 128 * 1024));
                        ch.pipeline().addLast(new HttpServerCodec(StrictHttp.decoderConfig()),
                                new HttpObjectAggregator(1 << 20), new Handler());
                    }
                })
                .bind(address).syncUninterruptibly().channel();
        address = (InetSocketAddress) server.localAddress();
    }

    /** Stops listening and closes every connection, without finishing what is in flight. */
    synchronized void kill() {
        if (server != null) {
            server.close().syncUninterruptibly();
            server = null;
        }
        children.close().awaitUninterruptibly();
    }

    InetSocketAddress address() {
        return address;
    }

    /** How many times the order {@code id} reached this origin (0 if never). */
    int applied(String id) {
        AtomicInteger n = orders.get(id);
        return n == null ? 0 : n.get();
    }

    Map<String, AtomicInteger> orders() {
        return orders;
    }

    /** {@code /slow} requests received so far. */
    long slowStarted() {
        return slowStarted.get();
    }

    /** Bytes of {@code /big} bodies written to connections so far. */
    long bigWritten() {
        return bigWritten.get();
    }

    @Override
    public void close() {
        kill();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        /** Bytes of the {@code /big} body still to write on this connection (0: none in progress). */
        private long bigLeft;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = req.uri();
            if (req.method().equals(HttpMethod.GET) && path.equals("/big")) {
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM)
                        .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
                        .set(HttpHeaderNames.CONTENT_LENGTH, BIG_BYTES);
                ctx.write(head);
                bigLeft = BIG_BYTES;
                writeBig(ctx);
                return;
            }
            if (req.method().equals(HttpMethod.GET) && path.equals("/slow")) {
                slowStarted.incrementAndGet();
                ctx.executor().schedule(() -> ctx.writeAndFlush(text(HttpResponseStatus.OK, "slow")), 2,
                        java.util.concurrent.TimeUnit.SECONDS);
                return;
            }
            FullHttpResponse res;
            if (req.method().equals(HttpMethod.POST) && path.equals("/order")) {
                String id = req.headers().get("X-Order-Id");
                if (id == null) {
                    res = text(HttpResponseStatus.BAD_REQUEST, "X-Order-Id missing");
                } else {
                    orders.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
                    String body = req.content().toString(StandardCharsets.UTF_8);
                    res = text(HttpResponseStatus.OK, "accepted " + id + " " + body.length());
                }
            } else if (req.method().equals(HttpMethod.GET) && path.startsWith("/item/")) {
                res = text(HttpResponseStatus.OK, "item-" + path.substring("/item/".length()));
            } else if (req.method().equals(HttpMethod.GET) && path.equals("/health")) {
                res = text(HttpResponseStatus.OK, "ok");
            } else {
                res = text(HttpResponseStatus.NOT_FOUND, "no such resource");
            }
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            HttpUtil.setKeepAlive(res, keepAlive);
            var f = ctx.writeAndFlush(res);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && bigLeft > 0) {
                writeBig(ctx);
            }
            ctx.fireChannelWritabilityChanged();
        }

        /** Writes the big body only while the connection is writable, so a slow reader pins a few chunks. */
        private void writeBig(ChannelHandlerContext ctx) {
            while (bigLeft > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(BIG_CHUNK, bigLeft);
                ByteBuf chunk = ctx.alloc().directBuffer(n);
                chunk.writerIndex(n);
                bigLeft -= n;
                bigWritten.addAndGet(n);
                ctx.write(bigLeft == 0 ? new DefaultLastHttpContent(chunk)
                        : new DefaultHttpContent(chunk));
            }
            ctx.flush();
        }

        private FullHttpResponse text(HttpResponseStatus status, String body) {
            ByteBuf content = ByteBufUtil.writeUtf8(io.netty.buffer.ByteBufAllocator.DEFAULT, body);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
                    .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            return res;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
