package dev.braid.frontend;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Answers a connection that arrived while the front-end was at its connection capacity: its first
 * request gets a 307 to the sibling front-end the configuration names (same path and query), or
 * else 503 with Retry-After, and the connection closes. A client that sends no request head within
 * the header timeout is closed without a word.
 */
final class Overloaded extends ChannelInboundHandlerAdapter {

    /** Seconds a client is asked to wait before it tries this front-end again. */
    static final int RETRY_AFTER_SECONDS = 5;

    private final String siblingUrl;
    private final int headerTimeoutMillis;
    private boolean answered;

    Overloaded(String siblingUrl, int headerTimeoutMillis) {
        this.siblingUrl = siblingUrl == null ? null
                : siblingUrl.endsWith("/") ? siblingUrl.substring(0, siblingUrl.length() - 1) : siblingUrl;
        this.headerTimeoutMillis = headerTimeoutMillis;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.executor().schedule(() -> {
            if (!answered) {
                ctx.close();
            }
        }, headerTimeoutMillis, TimeUnit.MILLISECONDS);
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (answered || !(msg instanceof HttpRequest request)) {
                return;
            }
            answered = true;
            boolean redirect = siblingUrl != null && !request.decoderResult().isFailure() && request.uri().startsWith("/");
            HttpResponseStatus status = redirect ? HttpResponseStatus.TEMPORARY_REDIRECT
                    : HttpResponseStatus.SERVICE_UNAVAILABLE;
            byte[] body = (redirect ? "307 Temporary Redirect: this front-end is full; try " + siblingUrl
                    : "503 Service Unavailable: this front-end is at its connection capacity").getBytes(StandardCharsets.UTF_8);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            if (redirect) {
                res.headers().set(HttpHeaderNames.LOCATION, siblingUrl + request.uri());
            } else {
                res.headers().setInt(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
            }
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!answered) {
            ctx.read();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
