package dev.braid.backend;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.StrictHttp;
import dev.braid.tmp.LinkCore;
import dev.braid.tmp.LinkSettings;
import dev.braid.tmp.ResetCode;
import dev.braid.tmp.TmpClient;
import dev.braid.tmp.TmpLink;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The front-end's side of a TMP link, for tests: the real {@link TmpClient} and link core, with
 * each request serialised onto its own stream at a chosen ring through an
 * {@code EmbeddedChannel(HttpClientCodec)}, as the front-end's gateway handler does, and the
 * response parsed back. Stream credit is returned as the response is read, as the front-end does
 * once bytes reach its client.
 */
final class TestFrontEnd implements AutoCloseable {

    /** A response as the test sees it. */
    record Reply(int status, HttpHeaders headers, String body) {
        String origin() {
            return headers.get("X-Origin");
        }

        String error() {
            return headers.get("X-Braid-Error");
        }
    }

    /** The stream was reset instead of answered. */
    static final class StreamReset extends RuntimeException {
        final ResetCode code;

        StreamReset(ResetCode code, String reason) {
            super(code + ": " + reason);
            this.code = code;
        }
    }

    private final TmpClient client;
    private final TmpLink link;

    TestFrontEnd(EventLoops loops, InetSocketAddress backEnd) throws Exception {
        client = TmpClient.start(loops, backEnd, "be-1", LinkSettings.DEFAULT, "fe-test", new LinkCore.Listener() {
            @Override
            public TmpStreamHandler onStreamOpened(TmpStream stream) {
                return null;
            }
        });
        link = client.awaitLink().get(5, TimeUnit.SECONDS);
    }

    TmpLink link() {
        return link;
    }

    static FullHttpRequest get(String uri) {
        return request(HttpMethod.GET, uri, null);
    }

    static FullHttpRequest request(HttpMethod method, String uri, String body) {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, uri,
                body == null ? Unpooled.EMPTY_BUFFER
                        : io.netty.buffer.ByteBufAllocator.DEFAULT.buffer().writeBytes(body.getBytes(StandardCharsets.UTF_8)));
        req.headers().set(HttpHeaderNames.HOST, "www.shop.example");
        req.headers().set("Braid-Site", "shop");
        req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
        return req;
    }

    CompletableFuture<Reply> send(FullHttpRequest request, int ring) {
        Exchange ex = new Exchange();
        TmpStream s = link.openStream(ring, "test", false, ex);
        s.executor().execute(() -> ex.start(s, request));
        return ex.result;
    }

    Reply call(FullHttpRequest request, int ring) throws Exception {
        return send(request, ring).get(20, TimeUnit.SECONDS);
    }

    /**
     * Opens a stream for {@code request} whose response is read like a client reading
     * {@code bytesPerSecond}: credit goes back only at that pace. Data is dropped on arrival (this
     * side holds it only as credit not yet returned).
     */
    SlowReader slowRead(FullHttpRequest request, int ring, int bytesPerSecond) {
        SlowReader r = new SlowReader(bytesPerSecond);
        TmpStream s = link.openStream(ring, "test", false, r);
        r.stream = s;
        s.executor().execute(() -> {
            EmbeddedChannel codec = new EmbeddedChannel(new HttpClientCodec(StrictHttp.decoderConfig(), false, true));
            codec.writeOutbound(request);
            ByteBuf out;
            while ((out = codec.readOutbound()) != null) {
                s.write(out);
            }
            s.end();
            r.tick = s.executor().scheduleAtFixedRate(r::credit, 100, 100, TimeUnit.MILLISECONDS);
        });
        return r;
    }

    /** A response read at a fixed pace; counters are read from the test thread. */
    static final class SlowReader implements TmpStreamHandler {
        private final int bytesPerTick;
        volatile TmpStream stream;
        volatile java.util.concurrent.ScheduledFuture<?> tick;
        volatile long received;
        volatile long consumed;
        volatile String reset;

        SlowReader(int bytesPerSecond) {
            this.bytesPerTick = bytesPerSecond / 10;
        }

        @Override
        public void onData(TmpStream s, ByteBuf data, boolean fin) {
            received += data.readableBytes();
            data.release();
        }

        void credit() {
            long n = Math.min(bytesPerTick, received - consumed);
            if (n > 0) {
                consumed += n;
                stream.consumed((int) n);
            }
        }

        @Override
        public void onReset(TmpStream s, ResetCode code, String reason) {
            reset = code + ": " + reason;
        }

        /** Bytes received whose credit has not gone back: what this side holds for the stream. */
        long held() {
            return received - consumed;
        }

        void cancel() {
            tick.cancel(false);
            stream.reset(ResetCode.CANCELLED, "client gave up");
        }
    }

    private static final class Exchange implements TmpStreamHandler {
        final CompletableFuture<Reply> result = new CompletableFuture<>();
        private final EmbeddedChannel codec = new EmbeddedChannel(new HttpClientCodec(StrictHttp.decoderConfig(), false, true));
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private HttpResponse head;

        void start(TmpStream s, FullHttpRequest request) {
            codec.writeOutbound(request);
            ByteBuf out;
            while ((out = codec.readOutbound()) != null) {
                s.write(out);
            }
            s.end();
        }

        @Override
        public void onData(TmpStream s, ByteBuf data, boolean fin) {
            int n = data.readableBytes();
            codec.writeInbound(data);
            Object msg;
            while ((msg = codec.readInbound()) != null) {
                try {
                    if (msg instanceof HttpResponse res) {
                        head = res;
                    }
                    if (msg instanceof HttpContent c) {
                        c.content().readBytes(body, c.content().readableBytes());
                        if (c instanceof LastHttpContent && head != null) {
                            result.complete(new Reply(head.status().code(), head.headers().copy(),
                                    body.toString(StandardCharsets.UTF_8)));
                        }
                    }
                } catch (java.io.IOException e) {
                    result.completeExceptionally(e);
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }
            s.consumed(n);
            if (fin) {
                result.completeExceptionally(new IllegalStateException("stream ended before the response did"));
                finish();
            }
        }

        @Override
        public void onReset(TmpStream s, ResetCode code, String reason) {
            result.completeExceptionally(new StreamReset(code, reason));
            finish();
        }

        /** Releases what the codec holds; a missing response is already reported through the result. */
        private void finish() {
            try {
                codec.finishAndReleaseAll();
            } catch (RuntimeException expected) {
                // PrematureChannelClosureException when the stream ended before the response.
            }
        }
    }

    @Override
    public void close() {
        client.close();
    }

    static void await(java.util.function.BooleanSupplier condition, Duration within, String what) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }
}
