package dev.braid.frontend;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.runtime.AdminServer;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The cache on the real path: client → front-end → TMP → back-end → origin (a JDK HTTP server
 * that counts what reaches it), plus the front-end's admin API for purges.
 */
@ExtendWith(PooledMemoryBaseline.class)
class CacheIT {

    static {
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    private final AtomicInteger notModified = new AtomicInteger();
    private final CountDownLatch slowGate = new CountDownLatch(1);
    private HttpServer origin;
    private ExecutorService originThreads;
    private Metrics metrics;
    private URI base;
    private URI admin;

    @AfterEach
    void tearDown() throws Exception {
        slowGate.countDown();
        LinkedNodes.closeAll(resources, origin, originThreads);
    }

    private int count(String path) {
        AtomicInteger n = hits.get(path);
        return n == null ? 0 : n.get();
    }

    private void answer(HttpExchange ex, int status, String body, String... headers) throws IOException {
        for (int i = 0; i < headers.length; i += 2) {
            ex.getResponseHeaders().add(headers[i], headers[i + 1]);
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        boolean noBody = status == 304 || "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(status, noBody ? -1 : bytes.length);
        if (!noBody) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
        ex.close();
    }

    private void start(Transport transport) throws IOException {
        origin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        originThreads = Executors.newFixedThreadPool(4);
        origin.setExecutor(originThreads);
        origin.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            hits.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            if (path.startsWith("/item/")) {
                String n = path.substring(6);
                answer(ex, 200, "item " + n + " " + "x".repeat(2000), "Cache-Control", "max-age=60",
                        "Surrogate-Key", "items item-" + n, "Content-Type", "text/plain");
            } else if (path.equals("/validate")) {
                if ("\"e1\"".equals(ex.getRequestHeaders().getFirst("If-None-Match"))) {
                    notModified.incrementAndGet();
                    answer(ex, 304, "", "ETag", "\"e1\"", "Cache-Control", "max-age=0", "X-Seen", "again");
                } else {
                    answer(ex, 200, "validated body", "ETag", "\"e1\"", "Cache-Control", "max-age=0");
                }
            } else if (path.equals("/slow")) {
                try {
                    slowGate.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                answer(ex, 200, "slow but shared", "Cache-Control", "max-age=60");
            } else if (path.equals("/turns-private")) {
                // Stored stale with a validator; its validation is answered with a response that may not be stored.
                if (ex.getRequestHeaders().containsKey("If-None-Match")) {
                    answer(ex, 200, "now for one user", "Cache-Control", "no-store", "ETag", "\"t2\"",
                            "Set-Cookie", "session=7");
                } else {
                    answer(ex, 200, "for everyone", "Cache-Control", "max-age=0", "ETag", "\"t1\"");
                }
            } else if (path.equals("/private")) {
                answer(ex, 200, "for one user", "Cache-Control", "private, max-age=60");
            } else {
                answer(ex, 404, "none", "Cache-Control", "max-age=5");
            }
        });
        origin.start();
        EventLoops loops = EventLoops.create("cache-it", transport, 2);
        resources.add(loops);
        BraidConfig config = LinkedNodes.oneSite(origin.getAddress().getPort(),
                List.of(new ClientClass("standard", 2, 1, List.of())));
        metrics = new Metrics();
        FrontEnd fe = LinkedNodes.start(loops, config, metrics, resources);
        AdminServer adminServer = fe.adminRoutes(AdminServer.builder(metrics)).bind(loops,
                new InetSocketAddress("127.0.0.1", 0));
        resources.add(adminServer);
        base = URI.create("http://127.0.0.1:" + fe.localAddress().getPort());
        admin = URI.create("http://127.0.0.1:" + adminServer.localAddress().getPort());
    }

    private static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    private HttpResponse<String> get(HttpClient client, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).header("Host", "www.shop.example");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String xCache(HttpResponse<?> r) {
        return r.headers().firstValue("X-Cache").orElse("none");
    }

    private int purge(HttpClient client, String json) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(admin.resolve("/api/v1/cache/purge"))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return Integer.parseInt(r.body().replaceAll("[^0-9]", ""));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void hitMissRevalidationRangesAndPurgeThroughTheAdminApi(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable());
        start(transport);
        HttpClient client = client();

        HttpResponse<String> miss = get(client, "/item/1");
        assertEquals("MISS", xCache(miss));
        HttpResponse<String> hit = get(client, "/item/1");
        assertEquals("HIT", xCache(hit));
        assertEquals(miss.body(), hit.body());
        assertTrue(hit.headers().firstValue("Age").isPresent());
        assertEquals("1.1 be-1, 1.1 fe-1", hit.headers().firstValue("Via").orElseThrow());
        assertTrue(hit.headers().firstValue("Surrogate-Key").isEmpty());
        assertEquals(1, count("/item/1"));

        HttpResponse<String> range = get(client, "/item/1", "Range", "bytes=0-5");
        assertEquals(206, range.statusCode());
        assertEquals("item 1", range.body());
        assertEquals(416, get(client, "/item/1", "Range", "bytes=99999-").statusCode());
        HttpResponse<String> head = client.send(HttpRequest.newBuilder(base.resolve("/item/1"))
                .header("Host", "www.shop.example").method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("HIT", xCache(head));
        assertEquals(1, count("/item/1"));

        assertEquals("MISS", xCache(get(client, "/validate")));
        HttpResponse<String> revalidated = get(client, "/validate");
        assertEquals("HIT", xCache(revalidated));
        assertEquals("REVALIDATED", revalidated.headers().firstValue("X-Cache-Detail").orElseThrow());
        assertEquals("validated body", revalidated.body());
        assertEquals("again", revalidated.headers().firstValue("X-Seen").orElseThrow(), "the 304 updated the head");
        assertEquals(1, notModified.get());
        // max-age=0: this one is validated with the origin too, then answered 304 from the cache.
        assertEquals(304, get(client, "/validate", "If-None-Match", "\"e1\"").statusCode());

        assertEquals("MISS", xCache(get(client, "/private")));
        assertEquals("MISS", xCache(get(client, "/private")));
        assertEquals(2, count("/private"));
        HttpResponse<String> post = client.send(HttpRequest.newBuilder(base.resolve("/item/9"))
                .header("Host", "www.shop.example").POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("BYPASS", xCache(post));

        for (int i = 2; i <= 6; i++) {
            get(client, "/item/" + i);
        }
        assertEquals(1, purge(client, "{\"url\":\"http://www.shop.example/item/1\"}"));
        assertEquals("MISS", xCache(get(client, "/item/1")));
        assertEquals(1, purge(client, "{\"surrogateKey\":\"item-2\"}"));
        assertEquals("MISS", xCache(get(client, "/item/2")));
        assertEquals("HIT", xCache(get(client, "/item/3")));
        assertEquals(6, purge(client, "{\"prefix\":\"http://www.shop.example/item/\"}"));
        assertEquals("MISS", xCache(get(client, "/item/3")));
        assertEquals(2, count("/item/3"));
        HttpResponse<String> bad = client.send(HttpRequest.newBuilder(admin.resolve("/api/v1/cache/purge"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"url\":\"item/3\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, bad.statusCode());

        String scrape = metrics.scrape();
        assertTrue(scrape.contains("braid_frontend_cache_requests_total{result=\"hit\"}"), scrape);
        assertTrue(scrape.contains("braid_frontend_cache_requests_total{result=\"revalidated\"} 2"), scrape);
        assertTrue(scrape.contains("braid_frontend_cache_requests_total{result=\"bypass\"} 1"), scrape);
    }

    /**
     * A validation that the origin answers with a full response the cache may not store: the
     * client that caused it gets that response, and the origin sees its request once (it used to
     * be sent again, unconditionally, after the validation's answer was found unstorable).
     */
    @Test
    void aValidationAnsweredWithAnUnstorableResponseReachesTheOriginOnce() throws Exception {
        start(Transport.NIO);
        HttpClient client = client();
        assertEquals("for everyone", get(client, "/turns-private").body());
        HttpResponse<String> second = get(client, "/turns-private");
        assertEquals(200, second.statusCode());
        assertEquals("now for one user", second.body());
        assertEquals("MISS", xCache(second));
        assertEquals("session=7", second.headers().firstValue("Set-Cookie").orElseThrow(), "passed on whole");
        assertEquals(2, count("/turns-private"), "one request per client request");
        // A client's own validators lead a detached fill too; its unstorable answer is its own.
        HttpResponse<String> third = get(client, "/turns-private", "If-None-Match", "\"t1\"");
        assertEquals("now for one user", third.body());
        assertEquals(3, count("/turns-private"));
    }

    @Test
    void thousandConcurrentRequestsForAColdUrlMakeOneOriginFetch() throws Exception {
        start(Transport.NIO);
        HttpClient client = client();
        int n = 1000;
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            responses.add(client.sendAsync(HttpRequest.newBuilder(base.resolve("/slow"))
                    .header("Host", "www.shop.example").timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        // Hold the origin until every other request waits for the first one's fetch.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!metrics.scrape().contains("braid_frontend_cache_collapsed_total " + (n - 1))
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(metrics.scrape().contains("braid_frontend_cache_collapsed_total " + (n - 1)),
                "collapsed requests: " + metrics.scrape().lines()
                        .filter(l -> l.startsWith("braid_frontend_cache_collapsed_total")).toList());
        slowGate.countDown();
        int miss = 0;
        int collapsed = 0;
        for (CompletableFuture<HttpResponse<String>> f : responses) {
            HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertEquals("slow but shared", r.body());
            if ("MISS".equals(xCache(r))) {
                miss++;
            } else if ("COLLAPSED".equals(r.headers().firstValue("X-Cache-Detail").orElse(""))) {
                collapsed++;
            }
        }
        assertEquals(1, count("/slow"), "one fetch reached the origin");
        assertEquals(1, miss);
        assertEquals(n - 1, collapsed);
        assertEquals("HIT", xCache(get(client, "/slow")));
    }
}
