package dev.braid.runtime;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
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
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A node's admin HTTP endpoint: {@code GET /metrics} (Prometheus text), {@code GET /health}, and
 * whatever routes the role adds (the managers add their configuration API here). Requests are
 * parsed strictly and bounded ({@link #MAX_BODY_BYTES}); a route may answer later (long polls).
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** Largest admin request body accepted, in bytes; larger ones get 413. */
    public static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

    /** A parsed admin request; the body is copied out of Netty's buffers, so handlers own nothing. */
    public record Request(String method, String path, Map<String, List<String>> query,
                          io.netty.handler.codec.http.HttpHeaders headers, byte[] body, InetSocketAddress remote) {
        public String queryParam(String name) {
            List<String> v = query.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** An admin response. */
    public record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
        public static Response text(int status, String text) {
            return new Response(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8), Map.of());
        }

        public static Response json(int status, String json) {
            return new Response(status, "application/json", json.getBytes(StandardCharsets.UTF_8), Map.of());
        }

        public Response withHeader(String name, String value) {
            Map<String, String> h = new LinkedHashMap<>(headers);
            h.put(name, value);
            return new Response(status, contentType, body, h);
        }
    }

    /** One route's handler. It may complete later, on any thread. */
    @FunctionalInterface
    public interface Route {
        CompletionStage<Response> handle(Request request);
    }

    private record Entry(String method, String path, boolean prefix, Route route) {
    }

    private final List<Entry> routes;
    private final Channel channel;

    private AdminServer(List<Entry> routes, Channel channel) {
        this.routes = routes;
        this.channel = channel;
    }

    public static Builder builder(Metrics metrics) {
        return new Builder(metrics);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
    }

    /** Collects routes, then binds. */
    public static final class Builder {
        private final List<Entry> routes = new ArrayList<>();

        Builder(Metrics metrics) {
            route("GET", "/metrics", req -> CompletableFuture.completedFuture(new Response(200,
                    "text/plain; version=0.0.4; charset=utf-8",
                    metrics.scrape().getBytes(StandardCharsets.UTF_8), Map.of())));
            route("GET", "/health", req -> CompletableFuture.completedFuture(Response.text(200, "ok\n")));
        }

        /** Adds a route for an exact path. A later route for the same method and path replaces the earlier one. */
        public Builder route(String method, String path, Route route) {
            routes.removeIf(e -> e.method.equals(method) && e.path.equals(path) && !e.prefix);
            routes.add(new Entry(method, path, false, route));
            return this;
        }

        /** Adds a route for every path under {@code prefix} (which should end with '/'). */
        public Builder prefixRoute(String method, String prefix, Route route) {
            routes.add(new Entry(method, prefix, true, route));
            return this;
        }

        public AdminServer bind(EventLoops loops, InetSocketAddress address) {
            List<Entry> frozen = List.copyOf(routes);
            Channel ch = new ServerBootstrap()
                    .group(loops.group())
                    .channel(loops.transport().serverSocketChannel())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(StrictHttp.decoderConfig()),
                                    new HttpObjectAggregator(MAX_BODY_BYTES),
                                    new Dispatcher(frozen));
                        }
                    })
                    .bind(address).syncUninterruptibly().channel();
            return new AdminServer(frozen, ch);
        }
    }

    private static final class Dispatcher extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final List<Entry> routes;

        Dispatcher(List<Entry> routes) {
            this.routes = routes;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
            DecoderResult result = msg.decoderResult();
            if (result.isFailure()) {
                Throwable cause = result.cause();
                int status = cause instanceof TooLongHttpLineException ? 414
                        : cause instanceof TooLongHttpHeaderException ? 431
                        : cause instanceof TooLongFrameException ? 413 : 400;
                send(ctx, false, false, Response.text(status, "bad request: " + cause.getMessage() + "\n"));
                return;
            }
            boolean keepAlive = HttpUtil.isKeepAlive(msg);
            boolean head = HttpMethod.HEAD.equals(msg.method());
            QueryStringDecoder qs = new QueryStringDecoder(msg.uri());
            String method = head ? "GET" : msg.method().name();
            Route route = null;
            boolean pathKnown = false;
            for (Entry e : routes) {
                boolean match = e.prefix ? qs.path().startsWith(e.path) : qs.path().equals(e.path);
                if (match) {
                    pathKnown = true;
                    if (e.method.equals(method)) {
                        route = e.route;
                        break;
                    }
                }
            }
            if (route == null) {
                send(ctx, keepAlive, head, pathKnown
                        ? Response.text(405, "method " + msg.method() + " not allowed on " + qs.path() + "\n")
                        : Response.text(404, "no such admin resource: " + qs.path() + "\n"));
                return;
            }
            byte[] body = new byte[msg.content().readableBytes()];
            msg.content().getBytes(msg.content().readerIndex(), body);
            Request request = new Request(msg.method().name(), qs.path(), qs.parameters(), msg.headers().copy(), body,
                    (InetSocketAddress) ctx.channel().remoteAddress());
            CompletionStage<Response> stage;
            try {
                stage = route.handle(request);
            } catch (RuntimeException e) {
                stage = CompletableFuture.failedFuture(e);
            }
            stage.whenComplete((response, error) -> ctx.executor().execute(() -> {
                if (error != null) {
                    log.warn("admin {} {} failed", request.method(), request.path(), error);
                    send(ctx, keepAlive, head, Response.text(500, "internal error: " + error + "\n"));
                } else {
                    send(ctx, keepAlive, head, response);
                }
            }));
        }

        private static void send(ChannelHandlerContext ctx, boolean keepAlive, boolean head, Response r) {
            if (!ctx.channel().isActive()) {
                return;
            }
            ByteBuf body = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body());
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(r.status()), body);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
            r.headers().forEach((k, v) -> res.headers().set(k, v));
            if (!keepAlive) {
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            var f = ctx.writeAndFlush(res);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("admin connection from {} failed", ctx.channel().remoteAddress(), cause);
            ctx.close();
        }
    }
}
