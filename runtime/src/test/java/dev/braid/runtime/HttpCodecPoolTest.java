package dev.braid.runtime;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HttpCodecPoolTest {

    private static ByteBuf bytes(String s) {
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer();
        b.writeCharSequence(s, StandardCharsets.ISO_8859_1);
        return b;
    }

    /** Sends a bodiless request through a client codec and returns what the codec wrote, as text. */
    private static String send(EmbeddedChannel codec, HttpMethod method) {
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, "/x");
        req.headers().set("Host", "www.shop.example");
        codec.writeOutbound(req, LastHttpContent.EMPTY_LAST_CONTENT);
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = codec.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    /** Feeds response bytes to a client codec; returns the parts decoded, bodies as text, all released. */
    private static List<String> receive(EmbeddedChannel codec, String response) {
        codec.writeInbound(bytes(response));
        List<String> parts = new ArrayList<>();
        Object msg;
        while ((msg = codec.readInbound()) != null) {
            try {
                HttpObject obj = (HttpObject) msg;
                if (obj.decoderResult().isFailure()) {
                    parts.add("failure: " + obj.decoderResult().cause().getMessage());
                }
                if (msg instanceof HttpResponse res) {
                    parts.add("status " + res.status().code());
                }
                if (msg instanceof HttpContent c && c.content().isReadable()) {
                    parts.add(c.content().toString(StandardCharsets.ISO_8859_1));
                }
                if (msg instanceof LastHttpContent) {
                    parts.add("end");
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
        return parts;
    }

    @Test
    void aClientCodecGivenBackIsTakenAgainAndStillFramesByTheRequestItAnswers() {
        HttpCodecPool pool = HttpCodecPool.client();
        EmbeddedChannel first = pool.take();
        assertTrue(send(first, HttpMethod.GET).startsWith("GET /x HTTP/1.1\r\n"));
        assertEquals(List.of("status 200", "abc", "end"),
                receive(first, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
        int idle = pool.idleHere();
        pool.give(first);
        assertEquals(idle + 1, pool.idleHere());

        EmbeddedChannel again = pool.take();
        assertSame(first, again, "the codec given back is the next one taken on this thread");
        // A HEAD response announces a length but carries no body: only the request tells the codec so.
        assertTrue(send(again, HttpMethod.HEAD).startsWith("HEAD /x HTTP/1.1\r\n"));
        assertEquals(List.of("status 200", "end"), receive(again, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"));
        // Interim, then 204 and 304 without bodies, then a fixed-length body: each framed on its own.
        send(again, HttpMethod.GET);
        assertEquals(List.of("status 100", "end", "status 204", "end"),
                receive(again, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"));
        send(again, HttpMethod.GET);
        assertEquals(List.of("status 304", "end"), receive(again, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"));
        send(again, HttpMethod.GET);
        assertEquals(List.of("status 200", "hello", "end"), receive(again, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
        pool.give(again);
    }

    @Test
    void aReusedCodecKeepsTheStrictDecoder() {
        HttpCodecPool pool = HttpCodecPool.client();
        EmbeddedChannel codec = pool.take();
        send(codec, HttpMethod.GET);
        receive(codec, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        pool.give(codec);
        EmbeddedChannel reused = pool.take();
        assertSame(codec, reused);
        send(reused, HttpMethod.GET);
        List<String> parts = receive(reused, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
        assertTrue(parts.stream().anyMatch(p -> p.startsWith("failure: ") && p.contains("Content-Length")),
                "duplicate Content-Length is refused on a reused codec too: " + parts);
        HttpCodecPool.discard(reused);
        assertFalse(reused.isOpen());
    }

    @Test
    void aCodecWithAnythingStillQueuedIsDiscardedNotKept() {
        HttpCodecPool pool = HttpCodecPool.server();
        EmbeddedChannel codec = pool.take();
        codec.writeInbound(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        int idle = pool.idleHere();
        pool.give(codec);
        assertEquals(idle, pool.idleHere(), "a request left unread keeps the codec out of the list");
        assertFalse(codec.isOpen());
        EmbeddedChannel next = pool.take();
        assertNotSame(codec, next);
        pool.give(next);
    }

    @Test
    void aServerCodecIsReusedBetweenWholeExchanges() {
        HttpCodecPool pool = HttpCodecPool.server();
        EmbeddedChannel codec = pool.take();
        for (String method : List.of("GET", "HEAD")) {
            codec.writeInbound(bytes(method + " /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
            HttpRequest req = codec.readInbound();
            assertEquals(method, req.method().name());
            Object end = codec.readInbound();
            assertInstanceOf(LastHttpContent.class, end);
            ReferenceCountUtil.release(end);
            DefaultFullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    bytes(method.equals("HEAD") ? "" : "hi"));
            res.headers().setInt("Content-Length", 2);
            codec.writeOutbound(res);
            StringBuilder out = new StringBuilder();
            ByteBuf b;
            while ((b = codec.readOutbound()) != null) {
                out.append(b.toString(StandardCharsets.ISO_8859_1));
                b.release();
            }
            assertTrue(out.toString().endsWith(method.equals("HEAD") ? "\r\n\r\n" : "\r\n\r\nhi"), out.toString());
            pool.give(codec);
            EmbeddedChannel next = pool.take();
            assertSame(codec, next);
            codec = next;
        }
        pool.give(codec);
    }

    @Test
    void listsAreBoundedAndPerThread() throws Exception {
        HttpCodecPool pool = HttpCodecPool.server();
        List<EmbeddedChannel> many = new ArrayList<>();
        for (int i = 0; i < HttpCodecPool.MAX_IDLE + 5; i++) {
            many.add(pool.take());
        }
        many.forEach(pool::give);
        assertEquals(HttpCodecPool.MAX_IDLE, pool.idleHere());
        assertEquals(5, many.stream().filter(c -> !c.isOpen()).count(), "codecs past the bound are released");
        CompletableFuture<Integer> elsewhere = new CompletableFuture<>();
        Thread t = new Thread(() -> elsewhere.complete(pool.idleHere()));
        t.start();
        assertEquals(0, elsewhere.get(5, TimeUnit.SECONDS), "another thread sees none of this thread's codecs");
        t.join(5000);
        while (pool.idleHere() > 0) {
            HttpCodecPool.discard(pool.take());
        }
    }
}
