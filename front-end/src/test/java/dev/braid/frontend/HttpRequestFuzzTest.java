package dev.braid.frontend;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.braid.runtime.StrictHttp;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fuzzes the front-end's HTTP/1.1 request parsing: the {@link HttpServerCodec} with
 * {@link StrictHttp#decoderConfig()}, as on the client-facing port, in front of a handler that
 * answers every request head and releases everything. Whatever the bytes and however they are
 * split across reads, nothing may throw out of the pipeline and every buffer must be released
 * (paranoid leak detection is on, and each input buffer's reference count is checked).
 *
 * <p>{@code mvn verify} replays {@code HttpRequestFuzzTestInputs/http1}; {@code JAZZER_FUZZ=1}
 * fuzzes (docs/security.md).
 */
class HttpRequestFuzzTest {

    /** Answers each request head the way the gateway's error path does, and releases what it reads. */
    private static final class Answering extends ChannelInboundHandlerAdapter {
        int heads;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                HttpObject o = (HttpObject) msg;
                o.decoderResult().isFailure();
                if (msg instanceof HttpRequest request) {
                    heads++;
                    request.headers().get(HttpHeaderNames.HOST);
                    ctx.write(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                            o.decoderResult().isFailure() ? HttpResponseStatus.BAD_REQUEST : HttpResponseStatus.OK,
                            Unpooled.EMPTY_BUFFER));
                }
                if (msg instanceof HttpContent content) {
                    content.content().readableBytes();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }

    @FuzzTest(maxDuration = "5m")
    void http1(byte[] input) {
        int whole = parse(input, input.length);
        // The same bytes in small pieces must parse to the same number of request heads.
        int pieces = parse(input, 1 + input.length % 13);
        assertEquals(whole, pieces, "request heads, whole versus split");
    }

    private static int parse(byte[] input, int piece) {
        Answering answering = new Answering();
        EmbeddedChannel ch = new EmbeddedChannel(new HttpServerCodec(StrictHttp.decoderConfig()), answering);
        List<ByteBuf> sent = new ArrayList<>();
        try {
            for (int at = 0; at < input.length && ch.isOpen(); at += piece) {
                int n = Math.min(piece, input.length - at);
                ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(n).writeBytes(input, at, n);
                sent.add(buf);
                ch.writeInbound(buf);
            }
        } finally {
            ch.finishAndReleaseAll();
        }
        for (ByteBuf b : sent) {
            assertEquals(0, b.refCnt(), "the codec releases what it reads");
        }
        return answering.heads;
    }
}
