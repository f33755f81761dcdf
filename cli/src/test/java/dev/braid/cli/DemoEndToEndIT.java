package dev.braid.cli;

import dev.braid.cli.demo.SampleOrigin;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The foundation end to end, on real loopback sockets with every role in one JVM: clients talk
 * HTTP/1.x to the front-end, which carries each request over the TMP link to the back-end, which
 * fetches it from the sample origin. Every byte of every body and every header that must survive
 * the trip is checked, and so are the headers the hops add (Via, X-Cache) or must keep off the
 * client side (Braid-Site, hop-by-hop fields).
 *
 * <p>Each test starts its own demo and closes it, event loops included, so that the pooled-memory
 * baseline can demand every buffer back: idle keep-alive connections left by one test would
 * otherwise hold buffers into the next (under io_uring a channel waiting to read holds one).
 * Durations are logged, never asserted, except for ordering bounds generous enough for a loaded
 * machine.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DemoEndToEndIT {

    private static final Logger log = LoggerFactory.getLogger(DemoEndToEndIT.class);

    private static final String VIA = "1.1 be-1, 1.1 fe-1";
    private static final long TEN_MIB = SampleOrigin.MAX_OBJECT_SIZE;

    private Transport transport;
    private Demo demo;

    private void start(Transport transport) throws Exception {
        this.transport = transport;
        demo = DemoSupport.startAndAwait(transport);
    }

    @AfterEach
    void stop() {
        if (demo != null) {
            demo.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    private WireClient frontEnd() throws IOException {
        return new WireClient(demo.frontEnd());
    }

    private WireClient origin() throws IOException {
        return new WireClient(demo.origin());
    }

    /** A request for the demo site, with {@code extra} header lines (each ending in CRLF). */
    private static String site(String method, String target, String extra) {
        return method + " " + target + " HTTP/1.1\r\nHost: " + Demo.SITE_HOST + "\r\n" + extra + "\r\n";
    }

    private static String site(String method, String target) {
        return site(method, target, "");
    }

    /** The front-end's cache answers HIT, MISS (looked up, fetched) or BYPASS (not cacheable, e.g. a POST). */
    private static final java.util.Set<String> CACHE_STATUS = java.util.Set.of("HIT", "MISS", "BYPASS");

    /** What every response that crossed the link carries, and what it must not. */
    private static void assertCrossedTheLink(WireClient.Response r) {
        assertEquals(VIA, r.header("Via"), () -> "Via of " + r);
        assertEquals(1, r.head().all("Via").size(), () -> "one Via field in " + r);
        assertTrue(CACHE_STATUS.contains(r.header("X-Cache")), () -> "X-Cache of " + r);
        assertFalse(r.has("Braid-Site"), () -> "the link-only Braid-Site header reached the client: " + r);
        assertFalse(r.has("Keep-Alive"), () -> "hop-by-hop Keep-Alive reached the client: " + r);
        assertFalse(r.has("Transfer-Encoding") && r.has("Content-Length"), () -> "both framings in " + r);
    }

    /** Checks every byte of a downloaded object against the origin's definition, naming the first wrong one. */
    private static void assertObject(long size, byte[] body) {
        assertEquals(size, body.length, "object length");
        for (int i = 0; i < body.length; i++) {
            if (body[i] != SampleOrigin.byteAt(size, i)) {
                fail("object of " + size + " bytes: byte " + i + " is " + body[i] + ", expected "
                        + SampleOrigin.byteAt(size, i));
            }
        }
    }

    private static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    // ------------------------------------------------------------------ tests

    @TransportTest
    void getHeadAndPostKeepEveryEndToEndHeader(Transport transport) throws Exception {
        start(transport);
        WireClient.Response direct;
        try (WireClient o = origin()) {
            direct = o.exchange("GET / HTTP/1.1\r\nHost: " + Demo.SITE_HOST + "\r\n\r\n", "GET");
        }
        assertEquals(200, direct.status());
        try (WireClient c = frontEnd()) {
            WireClient.Response page = c.exchange(site("GET", "/"), "GET");
            assertEquals(200, page.status());
            assertEquals("HTTP/1.1", page.version());
            for (String name : List.of("Content-Type", "Content-Length", "ETag", "Cache-Control", "Last-Modified",
                    "Server")) {
                assertNotNull(direct.header(name), name);
                assertEquals(direct.header(name), page.header(name), name + " survives the trip");
            }
            assertArrayEquals(direct.body(), page.body(), "the page, byte for byte");
            assertEquals(HttpWire.Framing.LENGTH, page.framing());
            assertCrossedTheLink(page);
            assertNull(page.header("Connection"), "nothing to say about a kept-alive connection");

            // HEAD answers the same headers and no body; the next answer on the connection proves
            // that no body bytes followed.
            WireClient.Response head = c.exchange(site("HEAD", "/"), "HEAD");
            assertEquals(200, head.status());
            for (String name : List.of("Content-Type", "Content-Length", "ETag", "Cache-Control", "Last-Modified")) {
                assertEquals(direct.header(name), head.header(name), "HEAD " + name);
            }
            assertCrossedTheLink(head);
            WireClient.Response headObject = c.exchange(site("HEAD", "/objects/10m"), "HEAD");
            assertEquals(200, headObject.status());
            assertEquals(String.valueOf(TEN_MIB), headObject.header("Content-Length"));
            assertEquals("\"o-" + TEN_MIB + "\"", headObject.header("ETag"));
            assertEquals("application/octet-stream", headObject.header("Content-Type"));
            assertEquals("public, max-age=300", headObject.header("Cache-Control"));
            assertCrossedTheLink(headObject);
            WireClient.Response after = c.exchange(site("GET", "/objects/1k"), "GET");
            assertEquals(200, after.status());
            assertObject(1024, after.body());

            byte[] hello = "héllo, origin".getBytes(StandardCharsets.UTF_8);
            c.write(site("POST", "/echo", "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "
                    + hello.length + "\r\n"));
            c.write(hello);
            WireClient.Response echo = c.read("POST");
            assertEquals(200, echo.status());
            assertArrayEquals(hello, echo.body());
            assertEquals("text/plain; charset=utf-8", echo.header("Content-Type"));
            assertEquals(String.valueOf(hello.length), echo.header("X-Echo-Length"));
            assertCrossedTheLink(echo);

            // Status codes and their fields cross unchanged too.
            WireClient.Response notModified = c.exchange(site("GET", "/", "If-None-Match: " + direct.header("ETag")
                    + "\r\n"), "GET");
            assertEquals(304, notModified.status());
            assertEquals(direct.header("ETag"), notModified.header("ETag"));
            assertEquals(0, notModified.body().length);
            assertCrossedTheLink(notModified);
            WireClient.Response missing = c.exchange(site("GET", "/nope"), "GET");
            assertEquals(404, missing.status());
            assertEquals("no-store", missing.header("Cache-Control"));
            assertCrossedTheLink(missing);
            WireClient.Response wrongMethod = c.exchange(site("DELETE", "/"), "DELETE");
            assertEquals(405, wrongMethod.status());
            assertEquals("GET, HEAD", wrongMethod.header("Allow"));
            assertCrossedTheLink(wrongMethod);
            WireClient.Response badParameter = c.exchange(site("GET", "/slow?ms=abc"), "GET");
            assertEquals(400, badParameter.status());
            assertTrue(badParameter.text().startsWith("ms: abc"), badParameter.text());
            assertCrossedTheLink(badParameter);
        }
    }

    @TransportTest
    void theSiteIsServedByEveryHostNameAndByTheFrontEndsAddress(Transport transport) throws Exception {
        start(transport);
        int port = demo.frontEnd().getPort();
        List<String> hosts = List.of(Demo.SITE_HOST, "shop.example", "WWW.Shop.Example", Demo.SITE_HOST + ":" + port,
                "127.0.0.1", "127.0.0.1:" + port);
        try (WireClient c = frontEnd()) {
            for (String host : hosts) {
                WireClient.Response r = c.exchange("GET /objects/1k HTTP/1.1\r\nHost: " + host + "\r\n\r\n", "GET");
                assertEquals(200, r.status(), () -> "Host: " + host + " -> " + r);
                assertObject(1024, r.body());
                assertCrossedTheLink(r);
            }
            // Absolute-form targets name the host in the request line.
            WireClient.Response absolute = c.exchange("GET http://" + Demo.SITE_HOST + "/objects/1k HTTP/1.1\r\nHost: "
                    + Demo.SITE_HOST + "\r\n\r\n", "GET");
            assertEquals(200, absolute.status(), absolute::toString);
            assertObject(1024, absolute.body());
        }
    }

    @TransportTest
    void aHundredConcurrentClientsGetEveryByte(Transport transport) throws Exception {
        start(transport);
        int clients = 100;
        int perClient = 4;
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        // The JDK client sets Host from the URI; the front-end serves its only site to requests
        // addressed to its own IP.
        String base = "http://127.0.0.1:" + demo.frontEnd().getPort();
        byte[] page;
        try (WireClient o = origin()) {
            page = o.exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET").body();
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            int client = i;
            done.add(pool.submit(() -> {
                go.await();
                try {
                    for (int round = 0; round < perClient; round++) {
                        long t0 = System.nanoTime();
                        switch (round) {
                            case 0 -> {
                                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + "/objects/100k"))
                                        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
                                check(r, 200);
                                assertObject(100 * 1024, r.body());
                                assertEquals("\"o-102400\"", r.headers().firstValue("ETag").orElse(null));
                            }
                            case 1 -> {
                                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + "/objects/1m"))
                                        .method("HEAD", HttpRequest.BodyPublishers.noBody())
                                        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
                                check(r, 200);
                                assertEquals("1048576", r.headers().firstValue("Content-Length").orElse(null));
                                assertEquals(0, r.body().length);
                            }
                            case 2 -> {
                                byte[] body = random(16 * 1024 + client, client);
                                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + "/echo"))
                                        .header("Content-Type", "application/x-client-" + client)
                                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
                                check(r, 200);
                                assertArrayEquals(body, r.body(), "echo of client " + client);
                                assertEquals("application/x-client-" + client,
                                        r.headers().firstValue("Content-Type").orElse(null));
                                assertEquals(String.valueOf(body.length),
                                        r.headers().firstValue("X-Echo-Length").orElse(null));
                            }
                            default -> {
                                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + "/"))
                                        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
                                check(r, 200);
                                assertArrayEquals(page, r.body(), "the shop page");
                            }
                        }
                        latencies.add(System.nanoTime() - t0);
                    }
                } catch (Throwable t) {
                    failures.add("client " + client + ": " + t);
                }
                return null;
            }));
        }
        long begin = System.nanoTime();
        go.countDown();
        try {
            for (Future<?> f : done) {
                f.get(90, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        long took = millisSince(begin);
        assertTrue(failures.isEmpty(), () -> failures.size() + " client(s) failed, e.g. "
                + failures.stream().limit(5).toList());
        assertEquals(clients * perClient, latencies.size());
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        log.info("{}: {} clients x {} requests (100 KiB GET, 1 MiB HEAD, 16 KiB echo, page) in {} ms; "
                        + "latency p50 {} ms, p99 {} ms, max {} ms", transport.label(), clients, perClient, took,
                sorted.get(sorted.size() / 2) / 1_000_000, sorted.get(sorted.size() * 99 / 100) / 1_000_000,
                sorted.get(sorted.size() - 1) / 1_000_000);
    }

    private static void check(HttpResponse<byte[]> r, int status) {
        assertEquals(status, r.statusCode(), () -> r.uri() + " -> " + r.statusCode() + " " + new String(r.body(),
                StandardCharsets.UTF_8));
        assertEquals(VIA, String.join(", ", r.headers().allValues("Via")));
        assertTrue(CACHE_STATUS.contains(r.headers().firstValue("X-Cache").orElse(null)));
        assertTrue(r.headers().firstValue("Braid-Site").isEmpty());
    }

    @TransportTest
    void tenMebibytesArriveByteForByte(Transport transport) throws Exception {
        start(transport);
        long t0 = System.nanoTime();
        WireClient.Response direct;
        try (WireClient o = origin()) {
            direct = o.exchange("GET /objects/10m HTTP/1.1\r\nHost: x\r\n\r\n", "GET");
        }
        long directMillis = millisSince(t0);
        assertEquals(TEN_MIB, direct.body().length);

        long t1 = System.nanoTime();
        WireClient.Response r;
        try (WireClient c = frontEnd()) {
            r = c.exchange(site("GET", "/objects/10m"), "GET");
        }
        long braidMillis = millisSince(t1);
        assertEquals(200, r.status());
        assertEquals(String.valueOf(TEN_MIB), r.header("Content-Length"));
        assertEquals("\"o-" + TEN_MIB + "\"", r.header("ETag"));
        assertEquals(direct.header("Last-Modified"), r.header("Last-Modified"));
        assertCrossedTheLink(r);
        assertObject(TEN_MIB, r.body());
        log.info("{}: 10 MiB from the origin directly in {} ms, through front-end -> TMP -> back-end in {} ms "
                + "({} MiB/s)", transport.label(), directMillis, braidMillis,
                braidMillis == 0 ? "-" : String.format("%.1f", 10_000.0 / braidMillis));
    }

    @TransportTest
    void pipelinedRequestsAreAnsweredInOrder(Transport transport) throws Exception {
        start(transport);
        byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
        try (WireClient c = frontEnd()) {
            // One write: the front-end receives all six requests before answering the first.
            c.write(site("GET", "/slow?ms=200")
                    + site("GET", "/objects/100k")
                    + site("HEAD", "/")
                    + site("POST", "/echo", "Content-Length: 4\r\n") + "ping"
                    + site("GET", "/nope")
                    + site("GET", "/objects/12345")
                    + site("GET", "/slow?ms=5"));
            WireClient.Response slow = c.read("GET");
            assertEquals(200, slow.status());
            assertEquals("waited 200 ms\n", slow.text());
            WireClient.Response object = c.read("GET");
            assertEquals(200, object.status());
            assertObject(100 * 1024, object.body());
            WireClient.Response head = c.read("HEAD");
            assertEquals(200, head.status());
            assertEquals("text/html; charset=utf-8", head.header("Content-Type"));
            WireClient.Response echo = c.read("POST");
            assertArrayEquals(ping, echo.body());
            assertEquals(404, c.read("GET").status());
            WireClient.Response odd = c.read("GET");
            assertEquals(200, odd.status());
            assertObject(12345, odd.body());
            WireClient.Response last = c.read("GET");
            assertEquals("waited 5 ms\n", last.text());
            for (WireClient.Response r : List.of(slow, object, head, echo, odd, last)) {
                assertCrossedTheLink(r);
            }
        }
    }

    @TransportTest
    void keepAliveCarriesManyExchangesOnOneConnection(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            for (int i = 0; i < 30; i++) {
                WireClient.Response r;
                switch (i % 3) {
                    case 0 -> {
                        r = c.exchange(site("GET", "/objects/10k"), "GET");
                        assertObject(10 * 1024, r.body());
                    }
                    case 1 -> {
                        byte[] body = random(1000 + i, i);
                        c.write(site("POST", "/echo", "Content-Length: " + body.length + "\r\n"));
                        c.write(body);
                        r = c.read("POST");
                        assertArrayEquals(body, r.body());
                    }
                    default -> r = c.exchange(site("HEAD", "/objects/1m"), "HEAD");
                }
                assertEquals(200, r.status(), r::toString);
                assertNull(r.header("Connection"), () -> "exchange " + r);
                assertCrossedTheLink(r);
            }
            WireClient.Response last = c.exchange(site("GET", "/", "Connection: close\r\n"), "GET");
            assertEquals(200, last.status());
            assertEquals("close", last.header("Connection"));
            assertTrue(c.closedByPeer(), "the front-end closes after answering Connection: close");
        }
    }

    @TransportTest
    void http10ClientsAreAnsweredAndTheirConnectionsHandledAsTheyAsk(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            WireClient.Response r = c.exchange("GET /objects/10k HTTP/1.0\r\nHost: " + Demo.SITE_HOST + "\r\n\r\n", "GET");
            assertEquals(200, r.status());
            assertObject(10 * 1024, r.body());
            assertCrossedTheLink(r);
            assertFalse(HttpWire.chunked(r.head()), "no chunked framing towards an HTTP/1.0 client");
            assertTrue(c.closedByPeer(), "an HTTP/1.0 exchange without keep-alive ends the connection");
        }
        try (WireClient c = frontEnd()) {
            String keepAlive = "Host: " + Demo.SITE_HOST + "\r\nConnection: keep-alive\r\n";
            WireClient.Response first = c.exchange("GET /objects/1k HTTP/1.0\r\n" + keepAlive + "\r\n", "GET");
            assertEquals(200, first.status());
            assertObject(1024, first.body());
            byte[] body = "item=Poster&quantity=2".getBytes(StandardCharsets.US_ASCII);
            c.write("POST /echo HTTP/1.0\r\n" + keepAlive + "Content-Type: application/x-www-form-urlencoded\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n");
            c.write(body);
            WireClient.Response second = c.read("POST");
            assertEquals(200, second.status(), "the connection stayed open for a second request");
            assertArrayEquals(body, second.body());
            assertEquals("application/x-www-form-urlencoded", second.header("Content-Type"));
        }
    }

    @TransportTest
    void anHttp10RequestWithoutHostIsServedByTheFrontEndsAddress(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            WireClient.Response r = c.exchange("GET /objects/1k HTTP/1.0\r\n\r\n", "GET");
            assertEquals(200, r.status(), r::toString);
            assertObject(1024, r.body());
            assertCrossedTheLink(r);
        }
    }

    @TransportTest
    void aChunkedUploadOfSeveralMebibytesIsEchoedByteForByte(Transport transport) throws Exception {
        start(transport);
        byte[] upload = random(6 * 1024 * 1024 + 123, 2024);
        try (WireClient c = frontEnd()) {
            long t0 = System.nanoTime();
            c.write(site("POST", "/echo", "Content-Type: application/x-test\r\nTransfer-Encoding: chunked\r\n"));
            // Write from another thread: a gateway that answered early must not deadlock the test.
            ExecutorService writer = Executors.newSingleThreadExecutor();
            try {
                Future<?> sent = writer.submit(() -> {
                    Random sizes = new Random(7);
                    int off = 0;
                    while (off < upload.length) {
                        int n = Math.min(upload.length - off, 1 + sizes.nextInt(70_000));
                        ByteArrayOutputStream chunk = new ByteArrayOutputStream(n + 16);
                        chunk.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        chunk.write(upload, off, n);
                        chunk.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
                        c.write(chunk.toByteArray());
                        off += n;
                    }
                    c.write("0\r\n\r\n");
                    return null;
                });
                WireClient.Response r = c.read("POST");
                sent.get(30, TimeUnit.SECONDS);
                long took = millisSince(t0);
                assertEquals(200, r.status(), r::toString);
                assertEquals(String.valueOf(upload.length), r.header("X-Echo-Length"));
                assertEquals("application/x-test", r.header("Content-Type"));
                assertArrayEquals(upload, r.body(), "the echo, byte for byte");
                assertCrossedTheLink(r);
                log.info("{}: {} bytes uploaded chunked and echoed back through the link in {} ms", transport.label(),
                        upload.length, took);
            } finally {
                writer.shutdownNow();
            }
            // The connection is still good.
            assertEquals(200, c.exchange(site("GET", "/objects/1k"), "GET").status());
        }
    }

    @TransportTest
    void expectContinueGetsAnInterimAnswerBeforeTheBody(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            c.write(site("POST", "/echo", "Content-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"));
            WireClient.Response interim = c.read("POST");
            assertEquals(100, interim.status(), interim::toString);
            c.write("hello");
            WireClient.Response r = c.read("POST");
            assertEquals(200, r.status(), r::toString);
            assertEquals("hello", r.text());
            assertEquals("5", r.header("X-Echo-Length"));
            assertCrossedTheLink(r);

            byte[] big = random(1024 * 1024, 100);
            c.write(site("POST", "/echo", "Content-Length: " + big.length + "\r\nExpect: 100-continue\r\n"));
            assertEquals(100, c.read("POST").status());
            c.write(big);
            WireClient.Response large = c.read("POST");
            assertEquals(200, large.status());
            assertArrayEquals(big, large.body());
            // No second interim answer is left on the connection: the next response is the next request's.
            WireClient.Response next = c.exchange(site("GET", "/objects/1k"), "GET");
            assertEquals(200, next.status(), next::toString);
            assertObject(1024, next.body());
        }
    }

    @TransportTest
    void anUnknownHostIsMisdirectedAndTheConnectionStaysUsable(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            WireClient.Response r = c.exchange("GET / HTTP/1.1\r\nHost: www.other.example\r\n\r\n", "GET");
            assertEquals(421, r.status(), r::toString);
            assertTrue(r.text().contains("www.other.example"), r.text());
            assertFalse(r.has("Via"), "answered by the front-end itself");
            WireClient.Response next = c.exchange(site("GET", "/objects/1k"), "GET");
            assertEquals(200, next.status(), next::toString);
            assertObject(1024, next.body());
        }
        try (WireClient c = frontEnd()) {
            // A body that follows a misdirected request is not read: the connection ends after the answer.
            WireClient.Response r = c.exchange("POST /echo HTTP/1.1\r\nHost: www.other.example\r\nContent-Length: 3\r\n\r\nabc",
                    "POST");
            assertEquals(421, r.status());
            assertTrue(c.closedByPeer());
        }
    }

    @TransportTest
    void malformedRequestsAreRefusedAndTheConnectionClosed(Transport transport) throws Exception {
        start(transport);
        record Case(String what, String request, int status) {
        }
        List<Case> cases = List.of(
                new Case("bare LF line ends", "GET / HTTP/1.1\nHost: " + Demo.SITE_HOST + "\n\n", 400),
                new Case("not HTTP", "HELLO THERE\r\n\r\n", 400),
                new Case("request line over 8 KiB", "GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: "
                        + Demo.SITE_HOST + "\r\n\r\n", 414),
                new Case("header block over 16 KiB", site("GET", "/", "X-Big: " + "b".repeat(20_000) + "\r\n"), 431),
                new Case("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400),
                new Case("two Host fields", site("GET", "/", "Host: shop.example\r\n"), 400),
                new Case("Content-Length and Transfer-Encoding", site("POST", "/echo",
                        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n") + "4\r\nping\r\n0\r\n\r\n", 400),
                new Case("space before the colon", "GET / HTTP/1.1\r\nHost : " + Demo.SITE_HOST + "\r\n\r\n", 400),
                new Case("bad chunk size in a body", site("POST", "/echo", "Transfer-Encoding: chunked\r\n")
                        + "4\r\nping\r\nzz\r\n", 400));
        for (Case k : cases) {
            try (WireClient c = frontEnd()) {
                // A valid request follows in the same write; it must not be answered.
                c.write(k.request() + site("GET", "/objects/1k"));
                WireClient.Response r = c.read("GET");
                assertEquals(k.status(), r.status(), () -> k.what() + " -> " + r);
                assertTrue(c.closedByPeer(), () -> k.what() + ": the connection is closed after " + r);
            }
        }
    }

    @TransportTest
    void anUnsupportedHttpVersionIsRefused(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            WireClient.Response r = c.exchange("GET / HTTP/2.0\r\nHost: " + Demo.SITE_HOST + "\r\n\r\n", "GET");
            assertEquals(505, r.status(), r::toString);
        }
    }

    @TransportTest
    void anInvalidHostValueIsABadRequest(Transport transport) throws Exception {
        start(transport);
        for (String host : List.of(Demo.SITE_HOST + "/evil", "a b", Demo.SITE_HOST + ":port", "user@" + Demo.SITE_HOST)) {
            try (WireClient c = frontEnd()) {
                WireClient.Response r = c.exchange("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n", "GET");
                assertEquals(400, r.status(), () -> "Host: " + host + " -> " + r);
            }
        }
    }

    @TransportTest
    void anAbsoluteFormTargetNamesTheSite(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            WireClient.Response shop = c.exchange("GET http://" + Demo.SITE_HOST + "/objects/1k HTTP/1.1\r\n"
                    + "Host: www.other.example\r\n\r\n", "GET");
            assertEquals(200, shop.status(), shop::toString);
            assertObject(1024, shop.body());
            WireClient.Response other = c.exchange("GET http://www.other.example/objects/1k HTTP/1.1\r\n"
                    + "Host: " + Demo.SITE_HOST + "\r\n\r\n", "GET");
            assertEquals(421, other.status(), other::toString);
        }
    }

    @TransportTest
    void aStalledReaderPinsOnlyAFewBuffersAlongTheWay(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = new WireClient(demo.frontEnd(), 64 * 1024)) {
            long before = PooledMemoryBaseline.liveBuffers();
            c.write(site("GET", "/objects/10m"));
            // Long enough for a chain without backpressure to pull most of the 10 MiB into memory.
            long peak = 0;
            long settled = Long.MAX_VALUE;
            for (int i = 0; i < 13; i++) {
                Thread.sleep(100);
                long live = PooledMemoryBaseline.liveBuffers() - before;
                peak = Math.max(peak, live);
                if (i >= 10) {
                    settled = Math.min(settled, live);
                }
            }
            log.info("{}: a client not reading a 10 MiB answer pins {} pooled buffers once the chain has stopped "
                    + "(at most {} on the way) in origin, back-end, link and front-end", transport.label(), settled, peak);
            // Once stopped, what is held is one stream window (gathered into 64 KiB chunks on the
            // receiving side) plus the water marks at each hop: a few dozen buffers. 10 MiB held in
            // 16 KiB reads or 64 KiB chunks would be 160 to 640.
            assertTrue(settled <= 64, "a stalled 10 MiB download holds " + settled + " pooled buffers");
            // On the way the sender may have a window of datagrams (one buffer each) queued in the
            // socket's write path (io_uring submits them asynchronously): one stream window in
            // packets, never the whole body (7,490 packets).
            long windowInPackets = 1024 * 1024 / 1400 + 1;
            assertTrue(peak <= windowInPackets + 64,
                    "a stalled 10 MiB download held " + peak + " pooled buffers on the way (bound " + (windowInPackets + 64) + ")");
            WireClient.Response r = c.read("GET");
            assertEquals(200, r.status());
            assertObject(TEN_MIB, r.body());
        }
    }

    @TransportTest
    void aClientThatLeavesMidDownloadLeavesNothingBehind(Transport transport) throws Exception {
        start(transport);
        for (int i = 0; i < 3; i++) {
            try (WireClient c = frontEnd()) {
                c.write(site("GET", "/objects/10m"));
                c.readSome(200_000);
            }
        }
        // The link and the back-end go on serving; the baseline check then finds every buffer returned.
        try (WireClient c = frontEnd()) {
            WireClient.Response r = c.exchange(site("GET", "/objects/1m"), "GET");
            assertEquals(200, r.status());
            assertObject(1024 * 1024, r.body());
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        double open = Double.NaN;
        while (System.nanoTime() < deadline) {
            open = DemoSupport.sample(DemoSupport.scrape(demo.frontEndAdmin()), "braid_frontend_client_connections");
            if (open == 0.0) {
                break;
            }
            Thread.sleep(20);
        }
        assertEquals(0.0, open, "client connections the front-end still counts");
    }

    @TransportTest
    void anUploadTheOriginRefusesIsAnsweredAndTheConnectionClosed(Transport transport) throws Exception {
        start(transport);
        try (WireClient c = frontEnd()) {
            WireClient.Response r = c.exchange(site("POST", "/echo", "Content-Length: "
                    + (SampleOrigin.MAX_ECHO_BYTES + 1) + "\r\n"), "POST");
            assertEquals(413, r.status(), r::toString);
            assertCrossedTheLink(r);
            assertEquals("close", r.header("Connection"), "the unread body cannot be skipped");
            assertTrue(c.closedByPeer());
        }
    }

    @TransportTest
    void aSlowOriginAnswerDoesNotHoldUpFastOnes(Transport transport) throws Exception {
        start(transport);
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try {
            long begin = System.nanoTime();
            // Four 300 ms answers and one of 3 s, each on its own client connection; all share the one TMP link.
            List<Future<long[]>> slow = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                int ms = i == 0 ? 3000 : 300;
                slow.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    try (WireClient c = frontEnd()) {
                        WireClient.Response r = c.exchange(site("GET", "/slow?ms=" + ms), "GET");
                        assertEquals("waited " + ms + " ms\n", r.text());
                    }
                    long end = System.nanoTime();
                    return new long[] {ms, (end - t0) / 1_000_000, end};
                }));
            }
            Thread.sleep(100);
            List<Long> fast = new ArrayList<>();
            long fastDone;
            try (WireClient c = frontEnd()) {
                for (int i = 0; i < 20; i++) {
                    long t0 = System.nanoTime();
                    WireClient.Response r = c.exchange(site("GET", "/objects/1k"), "GET");
                    fast.add(millisSince(t0));
                    assertEquals(200, r.status());
                    assertObject(1024, r.body());
                }
                fastDone = System.nanoTime();
            }
            List<String> slowTimes = new ArrayList<>();
            long longestEnd = 0;
            for (Future<long[]> f : slow) {
                long[] t = f.get(30, TimeUnit.SECONDS);
                slowTimes.add(t[0] + " ms asked: " + t[1] + " ms");
                assertTrue(t[1] >= t[0], "a slow answer came after " + t[1] + " ms, before the " + t[0] + " ms it waits");
                if (t[0] == 3000) {
                    longestEnd = t[2];
                }
            }
            List<Long> sorted = new ArrayList<>(fast);
            Collections.sort(sorted);
            log.info("{}: 20 fast requests beside 5 slow ones: fast median {} ms, max {} ms, all 20 in {} ms; slow {}",
                    transport.label(), sorted.get(10), sorted.get(19), (fastDone - begin) / 1_000_000 - 100, slowTimes);
            // Generous: twenty 1 KiB requests, sent 100 ms after a 3 s one started, all finish before it does.
            assertTrue(fastDone < longestEnd, "the fast requests waited for the slow one: " + fast);
        } finally {
            pool.shutdownNow();
        }
    }
}
