package dev.braid.frontend.tls;

import dev.braid.managers.config.HttpsSettings;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.ServerChannel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTTP/2 side of the HTTPS listener with a recording stand-in for the gateway: what the gateway
 * receives for each stream, and what a client gets back.
 */
class Http2PipelineTest {

    /** Stands for the listening socket the connection was accepted from (the multiplexer checks). */
    private static final class Acceptor extends EmbeddedChannel implements ServerChannel {
    }

    /** Records what reaches the gateway's place, reading on demand as the gateway does. */
    private final class Recorder extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest r) {
                    seen.add("HEAD " + r.method() + " " + r.uri() + " " + r.headers().entries());
                }
                if (msg instanceof HttpContent c && c.content().isReadable()) {
                    seen.add("BODY " + c.content().toString(StandardCharsets.US_ASCII));
                }
                if (msg instanceof LastHttpContent last) {
                    seen.add("END " + last.trailingHeaders().entries());
                    ctx.write(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII)));
                    // The gateway's HTTP/1.1 way to close after a response: an empty buffer, then close.
                    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER);
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

    private final List<String> seen = new ArrayList<>();
    private final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
    private final EmbeddedChannel ch = new EmbeddedChannel(new Acceptor(), DefaultChannelId.newInstance(), true, false,
            ClientTls.http2Handlers(new HttpsSettings("127.0.0.1:0", 2, 4096, 3, 30), Recorder::new));

    @AfterEach
    void finish() {
        ch.finishAndReleaseAll();
    }

    /** Writes frames as a client would put them on the wire, then feeds them to the front-end. */
    private void send(FrameWriting frames) {
        EmbeddedChannel wire = new EmbeddedChannel(new ChannelOutboundHandlerAdapter());
        frames.write(wire.pipeline().firstContext(), wire);
        wire.flush();
        // One read of everything, as from a socket: what follows a connection error is never read.
        ByteBuf bytes = ByteBufAllocator.DEFAULT.buffer();
        for (Object o = wire.readOutbound(); o != null; o = wire.readOutbound()) {
            bytes.writeBytes((ByteBuf) o);
            ((ByteBuf) o).release();
        }
        wire.finishAndReleaseAll();
        ch.writeInbound(bytes);
        ch.runPendingTasks();
    }

    private interface FrameWriting {
        void write(ChannelHandlerContext ctx, EmbeddedChannel wire);
    }

    private void preface() {
        send((ctx, wire) -> {
            ctx.write(Http2CodecUtil.connectionPrefaceBuf());
            writer.writeSettings(ctx, new Http2Settings(), wire.newPromise());
        });
        drainOutbound();
    }

    private static Http2Headers request(String method, String path) {
        return new DefaultHttp2Headers().method(method).scheme("https").path(path).authority("www.shop.example:8443");
    }

    /** Frames the front-end sent, as text: "HEADERS 1 200 end=false", "DATA 1 ok end=true", "RST 3 7", "GOAWAY 1". */
    private List<String> drainOutbound() {
        ByteBuf all = ByteBufAllocator.DEFAULT.buffer();
        for (Object o = ch.readOutbound(); o != null; o = ch.readOutbound()) {
            all.writeBytes((ByteBuf) o);
            ((ByteBuf) o).release();
        }
        List<String> frames = new ArrayList<>();
        try (DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader()) {
            reader.readFrame(ch.pipeline().firstContext(), all, new Http2EventAdapter() {
                @Override
                public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                          boolean endOfStream) {
                    frames.add("HEADERS " + streamId + " " + headers.status() + " end=" + endOfStream);
                }

                @Override
                public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                                      boolean endOfStream) {
                    frames.add("DATA " + streamId + " " + data.toString(StandardCharsets.US_ASCII) + " end=" + endOfStream);
                    return data.readableBytes() + padding;
                }

                @Override
                public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
                    frames.add("RST " + streamId + " " + errorCode);
                }

                @Override
                public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
                    frames.add("GOAWAY " + errorCode);
                }
            });
        } catch (Exception e) {
            throw new AssertionError(e);
        } finally {
            all.release();
        }
        return frames;
    }

    @Test
    void aRequestWithoutBodyReachesTheGatewayAsHeadAndEndWithTheHostFromAuthority() {
        preface();
        send((ctx, wire) -> writer.writeHeaders(ctx, 1, request("GET", "/a?b=c"), 0, true, wire.newPromise()));
        assertEquals(List.of("HEAD GET /a?b=c [host=www.shop.example:8443]", "END []"), seen);
        List<String> frames = drainOutbound();
        assertTrue(frames.contains("HEADERS 1 200 end=false"), frames.toString());
        assertTrue(frames.contains("DATA 1 ok end=true"), frames.toString());
    }

    @Test
    void aBodyAndTrailersArriveInOrderAndCodecHeadersStayInside() {
        preface();
        Http2Headers head = request("POST", "/up").add("x-http2-forged", "1").add("host", "www.shop.example:8443");
        send((ctx, wire) -> {
            writer.writeHeaders(ctx, 1, head, 0, false, wire.newPromise());
            writer.writeData(ctx, 1, Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII), 0, false, wire.newPromise());
            writer.writeHeaders(ctx, 1, new DefaultHttp2Headers().add("x-sum", "5"), 0, true, wire.newPromise());
        });
        assertEquals(List.of("HEAD POST /up [host=www.shop.example:8443, transfer-encoding=chunked]", "BODY hello",
                "END [x-sum=5]"), seen);
    }

    @Test
    void aHostDifferentFromTheAuthorityIsRefusedBeforeTheGateway() {
        preface();
        send((ctx, wire) -> writer.writeHeaders(ctx, 1, request("GET", "/").add("host", "evil.example"), 0, true,
                wire.newPromise()));
        assertEquals(List.of("RST 1 1"), drainOutbound(), "reset with PROTOCOL_ERROR (RFC 9113 §8.3.1)");
        assertEquals(List.of(), seen, "the gateway never sees it");
    }

    @Test
    void tooManyStreamsAreRefusedAndARapidResetFloodEndsTheConnection() {
        preface();
        send((ctx, wire) -> {
            for (int id = 1; id <= 5; id += 2) {
                writer.writeHeaders(ctx, id, request("POST", "/slow"), 0, false, wire.newPromise());
            }
        });
        List<String> frames = drainOutbound();
        assertTrue(frames.contains("RST 5 7"), "the third concurrent stream is refused (REFUSED_STREAM): " + frames);

        send((ctx, wire) -> {
            for (int id = 7; id <= 21; id += 2) {
                writer.writeHeaders(ctx, id, request("GET", "/"), 0, false, wire.newPromise());
                writer.writeRstStream(ctx, id, 8, wire.newPromise());
            }
        });
        List<String> after = drainOutbound();
        assertTrue(after.stream().anyMatch(f -> f.startsWith("GOAWAY")), after.toString());
        assertFalse(ch.isActive(), "the flooding connection is closed");
    }

    @Test
    void garbageAfterThePrefaceIsAnsweredWithGoawayAndNothingEscapesThePipeline() {
        // Found by Http2FrameFuzzTest: the codec's connection errors reached the pipeline's tail, a
        // warning per bad connection; they end in the listener's own tail now.
        preface();
        send((ctx, wire) -> ctx.write(Unpooled.wrappedBuffer(new byte[] {0, 0, 4, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})));
        List<String> frames = drainOutbound();
        assertTrue(frames.stream().anyMatch(f -> f.startsWith("GOAWAY")), frames.toString());
        assertFalse(ch.isActive());
    }
}
