package dev.braid.frontend.tls;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Sits between {@code Http2StreamFrameToHttpObjectCodec} and the gateway on each HTTP/2 stream,
 * so that the gateway sees exactly what an HTTP/1.1 connection gives it:
 *
 * <ul>
 *   <li>a request whose HEADERS frame ended the stream arrives as one {@link FullHttpRequest};
 *       it is split into the head and a {@link LastHttpContent}, since the gateway ends the
 *       request's TMP stream on the last content;</li>
 *   <li>the codec's own {@code x-http2-*} headers (stream id, scheme) are removed, and so is any
 *       a client sent: they are not the origin's business;</li>
 *   <li>{@code :authority} has become {@code Host}; a client that also sent a {@code host} field
 *       with the same value (RFC 9113 §8.3.1 allows it) leaves one, while different values stay
 *       two and the gateway refuses them;</li>
 *   <li>an empty buffer written to the stream (the gateway's "flush, then close" of HTTP/1.1) is
 *       dropped: on a stream, closing the child channel is the whole signal.</li>
 * </ul>
 */
final class Http2StreamAdapter extends ChannelDuplexHandler {

    private static final String EXTENSION_PREFIX = "x-http2-";

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FullHttpRequest full) {
            HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
            head.setDecoderResult(full.decoderResult());
            normalize(head.headers());
            if (full.content().isReadable() && !HttpUtil.isContentLengthSet(head)
                    && !HttpUtil.isTransferEncodingChunked(head)) {
                HttpUtil.setContentLength(head, full.content().readableBytes());
            }
            // The content's ownership moves to the last content; the full request is not released.
            LastHttpContent last = new DefaultLastHttpContent(full.content());
            last.trailingHeaders().set(full.trailingHeaders());
            ctx.fireChannelRead(head);
            ctx.fireChannelRead(last);
            return;
        }
        if (msg instanceof HttpRequest request) {
            normalize(request.headers());
        } else if (msg instanceof LastHttpContent last) {
            removeExtensions(last.trailingHeaders());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf && !buf.isReadable()) {
            buf.release();
            promise.setSuccess();
            return;
        }
        ctx.write(msg, promise);
    }

    private static void normalize(HttpHeaders headers) {
        removeExtensions(headers);
        List<String> hosts = headers.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1 && hosts.stream().allMatch(h -> h.equalsIgnoreCase(hosts.get(0)))) {
            headers.set(HttpHeaderNames.HOST, hosts.get(0));
        }
    }

    private static void removeExtensions(HttpHeaders headers) {
        List<String> extensions = new ArrayList<>();
        for (String name : headers.names()) {
            if (name.toLowerCase(Locale.ROOT).startsWith(EXTENSION_PREFIX)) {
                extensions.add(name);
            }
        }
        extensions.forEach(headers::remove);
    }
}
