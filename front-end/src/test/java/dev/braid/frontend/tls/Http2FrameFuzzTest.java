package dev.braid.frontend.tls;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.braid.managers.config.HttpsSettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.ServerChannel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the front-end's HTTP/2 server path as the HTTPS listener builds it: the connection codec
 * with the listener's limits, the stream multiplexer, and on each stream the HTTP/1 object codec
 * and {@link Http2StreamAdapter}, ending in a stand-in for the gateway that reads on demand,
 * answers each request and releases everything. The input follows the client connection preface.
 * Nothing may throw out of the pipeline, and no buffer may leak.
 *
 * <p>{@code mvn verify} replays {@code Http2FrameFuzzTestInputs/frames}; {@code JAZZER_FUZZ=1}
 * fuzzes (docs/security.md).
 */
class Http2FrameFuzzTest {

    private static final byte[] PREFACE = Http2CodecUtil.connectionPrefaceBuf().toString(StandardCharsets.US_ASCII)
            .getBytes(StandardCharsets.US_ASCII);

    /** Reads like the gateway (auto-read is off on streams), answers at the end of each request. */
    private static final class StandIn extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest request) {
                    request.headers().names();
                }
                if (msg instanceof LastHttpContent) {
                    ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.EMPTY_BUFFER));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.read();
        }
    }

    /** Stands for the listening socket an HTTP/2 connection was accepted from. */
    private static final class Acceptor extends EmbeddedChannel implements ServerChannel {
    }

    @FuzzTest(maxDuration = "5m")
    void frames(byte[] input) {
        // The multiplexer tells server from client by the parent channel: give it an accepting one.
        EmbeddedChannel ch = new EmbeddedChannel(new Acceptor(), DefaultChannelId.newInstance(), true, false,
                ClientTls.http2Handlers(new HttpsSettings("127.0.0.1:0", 10, 4096, 20, 30), StandIn::new));
        ByteBuf bytes = ByteBufAllocator.DEFAULT.directBuffer(PREFACE.length + input.length)
                .writeBytes(PREFACE).writeBytes(input);
        try {
            ch.writeInbound(bytes);
            ch.runPendingTasks();
            assertTrue(ch.inboundMessages().isEmpty(), "the pipeline consumes everything");
        } finally {
            ch.finishAndReleaseAll();
        }
        assertEquals(0, bytes.refCnt(), "the codec releases what it reads");
    }
}
