package dev.braid.cli.demo;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The sample origin on real loopback sockets, once per transport this machine can run, talked to
 * by the JDK's HTTP client and, where the exact bytes on the wire matter (HEAD, pipelining, bad
 * requests, backpressure), by a plain socket.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SampleOriginIT {

    private EventLoops loops;
    private SampleOrigin origin;
    private HttpClient client;

    private void start(Transport transport) {
        assumeTrue(transport.isAvailable(), () -> transport.label() + " is not available here");
        loops = EventLoops.create("origin-it", transport, 2);
        origin = SampleOrigin.start(loops, new InetSocketAddress("127.0.0.1", 0));
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterEach
    void stop() {
        if (origin != null) {
            origin.close();
        }
        if (loops != null) {
            loops.close();
        }
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + origin.localAddress().getPort() + pathAndQuery);
    }

    private HttpResponse<byte[]> get(String pathAndQuery) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> send(String method, String pathAndQuery, String contentType, byte[] body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    private static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void homePageIsCacheableHtmlWithValidators(Transport transport) throws Exception {
        start(transport);
        HttpResponse<byte[]> page = get("/");
        assertEquals(200, page.statusCode());
        assertEquals("text/html; charset=utf-8", header(page, "Content-Type"));
        assertEquals("max-age=60", header(page, "Cache-Control"));
        assertEquals(String.valueOf(page.body().length), header(page, "Content-Length"));
        String etag = header(page, "ETag");
        String lastModified = header(page, "Last-Modified");
        assertNotNull(etag);
        assertNotNull(lastModified);
        assertNotNull(header(page, "Date"));
        String html = text(page);
        assertTrue(html.contains("<title>Braid demo shop</title>"), html);
        for (String size : new String[] {"1k", "10k", "100k", "1m", "10m"}) {
            assertTrue(html.contains("href=\"/objects/" + size + "\""), "links /objects/" + size);
        }
        assertTrue(html.contains("href=\"/form\""));

        HttpResponse<byte[]> byTag = client.send(HttpRequest.newBuilder(uri("/"))
                .header("If-None-Match", "\"other\", " + etag).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(304, byTag.statusCode());
        assertEquals(0, byTag.body().length);
        assertEquals(etag, header(byTag, "ETag"));
        HttpResponse<byte[]> byDate = client.send(HttpRequest.newBuilder(uri("/"))
                .header("If-Modified-Since", lastModified).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(304, byDate.statusCode());
        HttpResponse<byte[]> stale = client.send(HttpRequest.newBuilder(uri("/"))
                .header("If-None-Match", "\"other\"").header("If-Modified-Since", lastModified).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, stale.statusCode(), "If-None-Match decides when present");
        assertArrayEquals(page.body(), stale.body());
        assertEquals(4, origin.requestCount("/"));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void objectsCarryTheirSizeAndEveryByteIsAsSpecified(Transport transport) throws Exception {
        start(transport);
        Map<String, Long> sizes = new LinkedHashMap<>();
        sizes.put("1k", 1024L);
        sizes.put("10k", 10 * 1024L);
        sizes.put("100k", 100 * 1024L);
        sizes.put("1m", 1024 * 1024L);
        sizes.put("10m", 10 * 1024 * 1024L);
        sizes.put("12345", 12345L);
        for (Map.Entry<String, Long> e : sizes.entrySet()) {
            HttpResponse<byte[]> r = get("/objects/" + e.getKey());
            long size = e.getValue();
            assertEquals(200, r.statusCode(), e.getKey());
            assertEquals("application/octet-stream", header(r, "Content-Type"));
            assertEquals(String.valueOf(size), header(r, "Content-Length"));
            assertEquals("public, max-age=300", header(r, "Cache-Control"));
            assertEquals("\"o-" + size + "\"", header(r, "ETag"));
            assertArrayEquals(SampleOrigin.expectedObjectBytes(size), r.body(), "/objects/" + e.getKey());
            assertEquals(1, origin.requestCount("/objects/" + e.getKey()));
        }
        HttpResponse<byte[]> revalidated = client.send(HttpRequest.newBuilder(uri("/objects/1m"))
                .header("If-None-Match", "W/\"o-1048576\"").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(304, revalidated.statusCode(), "weak comparison for If-None-Match");
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void headAnswersHeadersOnlyOnEveryGetResource(Transport transport) throws Exception {
        start(transport);
        int pageLength = get("/").body().length;
        int formLength = get("/form").body().length;
        long connections = origin.connectionCount();
        try (RawConnection c = new RawConnection(origin)) {
            // Each answer is followed by another on the same connection: a stray body byte would
            // corrupt the next status line.
            assertHead(c, "/", 200, pageLength);
            assertHead(c, "/form", 200, formLength);
            assertHead(c, "/objects/10m", 200, SampleOrigin.MAX_OBJECT_SIZE);
            assertHead(c, "/slow?ms=10", 200, "waited 10 ms\n".length());
            assertHead(c, "/nope", 404, -1);
            RawResponse after = c.exchange("GET /objects/1k HTTP/1.1\r\nHost: origin\r\n\r\n", false);
            assertEquals(200, after.status());
            assertArrayEquals(SampleOrigin.expectedObjectBytes(1024), after.body());
        }
        assertEquals(connections + 1, origin.connectionCount(), "one connection for all the HEAD requests");
    }

    private static void assertHead(RawConnection c, String target, int status, long length) throws IOException {
        RawResponse r = c.exchange("HEAD " + target + " HTTP/1.1\r\nHost: origin\r\n\r\n", true);
        assertEquals(status, r.status(), target);
        if (length >= 0) {
            assertEquals(String.valueOf(length), r.header("content-length"), target);
        }
        assertEquals(0, r.body().length);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void slowWaitsAndExplainsBadParameters(Transport transport) throws Exception {
        start(transport);
        long begin = System.nanoTime();
        HttpResponse<byte[]> slow = get("/slow?ms=300");
        long tookMillis = (System.nanoTime() - begin) / 1_000_000;
        assertEquals(200, slow.statusCode());
        assertEquals("waited 300 ms\n", text(slow));
        assertTrue(tookMillis >= 300, "answered after " + tookMillis + " ms");

        HttpResponse<byte[]> garbage = get("/slow?ms=abc");
        assertEquals(400, garbage.statusCode());
        assertEquals("ms: abc (expected: an integer number of milliseconds, 0..30000)\n", text(garbage));
        HttpResponse<byte[]> missing = get("/slow");
        assertEquals(400, missing.statusCode());
        assertTrue(text(missing).startsWith("ms: missing"), text(missing));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void echoReturnsTheBodyWithItsTypeAndLength(Transport transport) throws Exception {
        start(transport);
        byte[] hello = "héllo, origin".getBytes(StandardCharsets.UTF_8);
        HttpResponse<byte[]> r = send("POST", "/echo", "text/plain; charset=utf-8", hello);
        assertEquals(200, r.statusCode());
        assertArrayEquals(hello, r.body());
        assertEquals("text/plain; charset=utf-8", header(r, "Content-Type"));
        assertEquals(String.valueOf(hello.length), header(r, "X-Echo-Length"));

        byte[] form = "item=Poster&quantity=2".getBytes(StandardCharsets.US_ASCII);
        HttpResponse<byte[]> posted = send("POST", "/form", "application/x-www-form-urlencoded", form);
        assertEquals(200, posted.statusCode());
        assertArrayEquals(form, posted.body());
        assertEquals("application/x-www-form-urlencoded", header(posted, "Content-Type"));

        HttpResponse<byte[]> empty = send("POST", "/echo", null, new byte[0]);
        assertEquals(200, empty.statusCode());
        assertEquals("0", header(empty, "X-Echo-Length"));
        assertEquals("application/octet-stream", header(empty, "Content-Type"));

        // Chunked upload (length unknown to the client library), 5 MiB of random bytes.
        byte[] big = new byte[5 * 1024 * 1024];
        new Random(42).nextBytes(big);
        HttpResponse<byte[]> chunked = client.send(HttpRequest.newBuilder(uri("/echo"))
                .header("Content-Type", "application/x-test")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, chunked.statusCode());
        assertEquals(String.valueOf(big.length), header(chunked, "X-Echo-Length"));
        assertArrayEquals(big, chunked.body());
        assertEquals(3, origin.requestCount("/echo"));
        assertEquals(1, origin.requestCount("/form"));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void echoTakesExactlyTheLimitAndRefusesMore(Transport transport) throws Exception {
        start(transport);
        byte[] limit = new byte[SampleOrigin.MAX_ECHO_BYTES];
        new Random(7).nextBytes(limit);
        HttpResponse<byte[]> r = send("POST", "/echo", "application/x-test", limit);
        assertEquals(200, r.statusCode());
        assertArrayEquals(limit, r.body());

        try (RawConnection c = new RawConnection(origin)) {
            RawResponse tooLarge = c.exchange("POST /echo HTTP/1.1\r\nHost: origin\r\nContent-Length: "
                    + (SampleOrigin.MAX_ECHO_BYTES + 1) + "\r\n\r\n", false);
            assertEquals(413, tooLarge.status());
            assertEquals("close", tooLarge.header("connection"));
            assertTrue(c.atEndOfStream(), "the connection is closed after 413");
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void expectContinueGetsContinueBeforeTheBody(Transport transport) throws Exception {
        start(transport);
        try (RawConnection c = new RawConnection(origin)) {
            c.write("POST /echo HTTP/1.1\r\nHost: origin\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                    + "Expect: 100-continue\r\n\r\n");
            assertEquals(100, c.read(false).status());
            c.write("hello");
            RawResponse r = c.read(false);
            assertEquals(200, r.status());
            assertEquals("hello", new String(r.body(), StandardCharsets.US_ASCII));
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void unknownPathsAre404AndWrongMethods405WithAllow(Transport transport) throws Exception {
        start(transport);
        assertEquals(404, get("/nope").statusCode());
        HttpResponse<byte[]> badSize = get("/objects/abc");
        assertEquals(404, badSize.statusCode());
        assertTrue(text(badSize).contains("expected: /objects/{size}"), text(badSize));
        assertEquals(404, get("/objects/20m").statusCode());
        assertEquals(404, get("/objects/1023").statusCode());
        assertEquals(404, get("/objects/").statusCode());

        HttpResponse<byte[]> postRoot = send("POST", "/", "text/plain", "x".getBytes(StandardCharsets.US_ASCII));
        assertEquals(405, postRoot.statusCode());
        assertEquals("GET, HEAD", header(postRoot, "Allow"));
        HttpResponse<byte[]> getEcho = get("/echo");
        assertEquals(405, getEcho.statusCode());
        assertEquals("POST", header(getEcho, "Allow"));
        HttpResponse<byte[]> deleteObject = send("DELETE", "/objects/1k", null, null);
        assertEquals(405, deleteObject.statusCode());
        assertEquals("GET, HEAD", header(deleteObject, "Allow"));
        HttpResponse<byte[]> putForm = send("PUT", "/form", "text/plain", new byte[0]);
        assertEquals(405, putForm.statusCode());
        assertEquals("GET, HEAD, POST", header(putForm, "Allow"));
        assertEquals(405, send("POST", "/slow?ms=1", null, null).statusCode());
        assertEquals(0, origin.requestCount("/nope"));
        assertEquals(0, origin.requestCount("/echo"));
        assertEquals(10, origin.requestCount());
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void keepAliveServesManyRequestsOnOneConnectionUntilClose(Transport transport) throws Exception {
        start(transport);
        try (RawConnection c = new RawConnection(origin)) {
            for (int i = 0; i < 3; i++) {
                RawResponse r = c.exchange("GET /objects/10k HTTP/1.1\r\nHost: origin\r\n\r\n", false);
                assertEquals(200, r.status());
                assertArrayEquals(SampleOrigin.expectedObjectBytes(10 * 1024), r.body());
            }
            RawResponse http10 = c.exchange("GET /form HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false);
            assertEquals(200, http10.status());
            assertEquals("keep-alive", http10.header("connection"));
            RawResponse absolute = c.exchange("GET http://www.shop.example/objects/1k HTTP/1.1\r\n"
                    + "Host: www.shop.example\r\n\r\n", false);
            assertEquals(200, absolute.status());
            assertEquals(1, origin.requestCount("/objects/1k"));
            assertEquals(1, origin.connectionCount());

            origin.close();
            assertTrue(c.atEndOfStream(), "close() closes idle keep-alive connections");
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void connectionCloseAndHttp10AreHonoured(Transport transport) throws Exception {
        start(transport);
        try (RawConnection c = new RawConnection(origin)) {
            RawResponse r = c.exchange("GET / HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n", false);
            assertEquals(200, r.status());
            assertEquals("close", r.header("connection"));
            assertTrue(c.atEndOfStream());
        }
        try (RawConnection c = new RawConnection(origin)) {
            RawResponse r = c.exchange("GET / HTTP/1.0\r\n\r\n", false);
            assertEquals(200, r.status());
            assertTrue(c.atEndOfStream());
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void pipelinedRequestsAreAnsweredInOrder(Transport transport) throws Exception {
        start(transport);
        try (RawConnection c = new RawConnection(origin)) {
            c.write("GET /slow?ms=100 HTTP/1.1\r\nHost: origin\r\n\r\n"
                    + "GET /objects/100k HTTP/1.1\r\nHost: origin\r\n\r\n"
                    + "HEAD / HTTP/1.1\r\nHost: origin\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: origin\r\nContent-Length: 4\r\n\r\nping"
                    + "GET /nope HTTP/1.1\r\nHost: origin\r\n\r\n"
                    + "GET /form HTTP/1.1\r\nHost: origin\r\n\r\n");
            RawResponse slow = c.read(false);
            assertEquals(200, slow.status());
            assertEquals("waited 100 ms\n", new String(slow.body(), StandardCharsets.US_ASCII));
            RawResponse object = c.read(false);
            assertEquals(200, object.status());
            assertArrayEquals(SampleOrigin.expectedObjectBytes(100 * 1024), object.body());
            RawResponse head = c.read(true);
            assertEquals(200, head.status());
            assertEquals("text/html; charset=utf-8", head.header("content-type"));
            RawResponse echo = c.read(false);
            assertEquals("ping", new String(echo.body(), StandardCharsets.US_ASCII));
            assertEquals(404, c.read(false).status());
            RawResponse form = c.read(false);
            assertEquals(200, form.status());
            assertTrue(new String(form.body(), StandardCharsets.UTF_8).contains("action=\"/echo\""));
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void malformedRequestsGetAPreciseStatusAndAClosedConnection(Transport transport) throws Exception {
        start(transport);
        try (RawConnection c = new RawConnection(origin)) {
            RawResponse bareLf = c.exchange("GET / HTTP/1.1\nHost: origin\n\n", false);
            assertEquals(400, bareLf.status());
            assertTrue(c.atEndOfStream());
        }
        try (RawConnection c = new RawConnection(origin)) {
            RawResponse longHeader = c.exchange("GET / HTTP/1.1\r\nHost: origin\r\nX-Big: "
                    + "a".repeat(20_000) + "\r\n\r\n", false);
            assertEquals(431, longHeader.status());
            assertTrue(c.atEndOfStream());
        }
        try (RawConnection c = new RawConnection(origin)) {
            RawResponse both = c.exchange("POST /echo HTTP/1.1\r\nHost: origin\r\nContent-Length: 4\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n4\r\nping\r\n0\r\n\r\n", false);
            assertEquals(400, both.status());
            assertTrue(c.atEndOfStream());
        }
        try (RawConnection c = new RawConnection(origin)) {
            RawResponse brokenEcho = c.exchange("POST /echo HTTP/1.1\r\nHost: origin\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n4\r\nping\r\nzz\r\n", false);
            assertEquals(400, brokenEcho.status(), "a broken chunk in a body being echoed");
            assertTrue(c.atEndOfStream());
        }
        try (RawConnection c = new RawConnection(origin)) {
            // The request is answered before its body is read; the broken body then only ends the connection.
            RawResponse answered = c.exchange("POST / HTTP/1.1\r\nHost: origin\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n4\r\nping\r\nzz\r\n", false);
            assertEquals(405, answered.status());
            assertTrue(c.atEndOfStream(), "no second answer, and the connection closes");
        }
        try (RawConnection c = new RawConnection(origin)) {
            RawResponse asterisk = c.exchange("OPTIONS * HTTP/1.1\r\nHost: origin\r\n\r\n", false);
            assertEquals(400, asterisk.status());
            assertTrue(new String(asterisk.body(), StandardCharsets.US_ASCII).startsWith("request target: *"));
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aStalledReaderPinsOnlyAFewChunks(Transport transport) throws Exception {
        start(transport);
        try (RawConnection c = new RawConnection(origin, 64 * 1024)) {
            long before = PooledMemoryBaseline.liveBuffers();
            c.write("GET /objects/10m HTTP/1.1\r\nHost: origin\r\n\r\n");
            // Long enough for an origin without backpressure to have produced most of the 640 chunks.
            Thread.sleep(700);
            long pinned = PooledMemoryBaseline.liveBuffers() - before;
            assertTrue(pinned <= 48, "a stalled 10 MiB download holds " + pinned + " pooled buffers");
            RawResponse r = c.read(false);
            assertEquals(200, r.status());
            assertArrayEquals(SampleOrigin.expectedObjectBytes(SampleOrigin.MAX_OBJECT_SIZE), r.body());
        }
    }

    /** A response as read off the wire; header names in lower case. */
    private record RawResponse(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name);
        }
    }

    /** One plain client connection that reads responses by their Content-Length. */
    private static final class RawConnection implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        RawConnection(SampleOrigin origin) throws IOException {
            this(origin, 0);
        }

        RawConnection(SampleOrigin origin, int receiveBuffer) throws IOException {
            socket = new Socket();
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer);
            }
            socket.setSoTimeout(20_000);
            socket.connect(origin.localAddress(), 5_000);
            in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            out = socket.getOutputStream();
        }

        void write(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }

        RawResponse exchange(String request, boolean head) throws IOException {
            write(request);
            return read(head);
        }

        RawResponse read(boolean head) throws IOException {
            String statusLine = line();
            assertTrue(statusLine.startsWith("HTTP/1.1 "), "status line: " + statusLine);
            int status = Integer.parseInt(statusLine.substring(9, 12));
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line = line(); !line.isEmpty(); line = line()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            boolean bodiless = head || status / 100 == 1 || status == 204 || status == 304;
            String length = headers.get("content-length");
            if (bodiless || length == null) {
                assertTrue(bodiless || status / 100 != 2, "a 2xx body without Content-Length");
                return new RawResponse(status, headers, new byte[0]);
            }
            byte[] body = in.readNBytes(Integer.parseInt(length));
            assertEquals(Integer.parseInt(length), body.length, "body ended early");
            return new RawResponse(status, headers, body);
        }

        /** True when the server has closed its side and sent nothing more. */
        boolean atEndOfStream() throws IOException {
            try {
                return in.read() == -1;
            } catch (java.net.SocketException reset) {
                return true;
            }
        }

        private String line() throws IOException {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != '\n') {
                if (b == -1) {
                    throw new IOException("connection closed inside a response head: " + buffer);
                }
                buffer.write(b);
            }
            String line = buffer.toString(StandardCharsets.ISO_8859_1);
            assertTrue(line.endsWith("\r"), "line ends with CRLF: " + line);
            return line.substring(0, line.length() - 1);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
