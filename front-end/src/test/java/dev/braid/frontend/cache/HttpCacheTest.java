package dev.braid.frontend.cache;

import dev.braid.frontend.cache.CacheHarness.Answer;
import dev.braid.frontend.cache.CacheHarness.Origin;
import dev.braid.managers.config.CacheSettings;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.braid.frontend.cache.CacheHarness.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache beyond RFC 9111's requirements: collapsing, RFC 5861, the byte budget, purge, proactive refresh. */
class HttpCacheTest {

    private static HttpCache.Lookup lookup(CacheHarness h, String target) {
        return h.cache.lookup("shop", h.policy, request(HttpMethod.GET, target));
    }

    @Test
    void thousandConcurrentMissesMakeOneFetchAndAllAreServedFromIt() throws Exception {
        try (CacheHarness h = new CacheHarness()) {
            int n = 1000;
            int threads = 8;
            List<HttpCache.Fetch> fetches = java.util.Collections.synchronizedList(new ArrayList<>());
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread w = new Thread(() -> {
                    try {
                        start.await(5, TimeUnit.SECONDS);
                        for (int i = 0; i < n / threads; i++) {
                            HttpRequest r = request(HttpMethod.GET, "/hot");
                            fetches.add(h.cache.fetch(h.cache.lookup("shop", h.policy, r), r, true));
                        }
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                w.start();
                workers.add(w);
            }
            for (Thread w : workers) {
                w.join(10_000);
            }
            assertEquals(n, fetches.size());
            List<HttpCache.Fetch> leaders = fetches.stream().filter(f -> f.kind() != HttpCache.Fetch.Kind.JOIN).toList();
            assertEquals(1, leaders.size());
            assertEquals(HttpCache.Fetch.Kind.LEAD_ATTACHED, leaders.get(0).kind());
            assertEquals(1, h.cache.fillsInFlight());
            CacheHarness.feed(leaders.get(0).fill(), h.callOrigin(request(HttpMethod.GET, "/hot")));
            int served = 0;
            for (HttpCache.Fetch f : fetches) {
                if (f.kind() == HttpCache.Fetch.Kind.JOIN) {
                    CacheFill.Result r = f.fill().result().get(5, TimeUnit.SECONDS);
                    Answer a = h.answer(h.cache.serve(r, request(HttpMethod.GET, "/hot")), CacheResult.HIT);
                    assertEquals("hello", a.body());
                    served++;
                }
            }
            assertEquals(n - 1, served);
            assertEquals(1, h.originCalls());
            assertEquals(0, h.cache.fillsInFlight());
        }
    }

    @Test
    void waitersOfAnUncacheableResponseForwardTheirOwnAndLaterRequestsSkipCollapsing() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> Origin.of(200, "mine", "Cache-Control", "private");
            HttpRequest r = request(HttpMethod.GET, "/p");
            HttpCache.Fetch lead = h.cache.fetch(lookup(h, "/p"), r, true);
            HttpCache.Fetch waiter = h.cache.fetch(lookup(h, "/p"), r, true);
            CacheHarness.feed(lead.fill(), h.callOrigin(r));
            CacheFill.Result result = waiter.fill().result().join();
            assertEquals(CacheFill.Outcome.UNCACHEABLE, result.outcome());
            assertEquals(HttpCache.Fetch.Kind.DIRECT, h.cache.fetch(lookup(h, "/p"), r, false).kind());
            assertEquals(HttpCache.Fetch.Kind.DIRECT, h.cache.fetch(lookup(h, "/p"), r, true).kind(),
                    "hit-for-miss: no waiting behind a fetch that will not be shared");
            h.advance(HttpCache.PASS_MILLIS + 1);
            HttpCache.Fetch again = h.cache.fetch(lookup(h, "/p"), r, true);
            assertEquals(HttpCache.Fetch.Kind.LEAD_ATTACHED, again.kind());
            again.fill().abandon("test");
        }
    }

    @Test
    void waitersOfAFailedFetchGetTheErrorOrStaleIfErrorAllows() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> Origin.of(200, "old", "Cache-Control", "max-age=1, stale-if-error=60", "ETag", "\"1\"");
            h.get("/s");
            h.advance(2000);
            h.origin = r -> Origin.of(503, "down", "Retry-After", "5");
            Answer a = h.get("/s");
            assertEquals(CacheResult.STALE, a.result());
            assertEquals("old", a.body());
            h.advance(120_000);
            assertEquals(503, h.get("/s").status(), "beyond stale-if-error the error stands");
        }
    }

    @Test
    void staleIfErrorOfTheRequestCounts() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> Origin.of(200, "old", "Cache-Control", "max-age=1", "ETag", "\"1\"");
            h.get("/s");
            h.advance(5000);
            h.origin = r -> Origin.of(500, "boom");
            assertEquals(500, h.get("/s").status());
            assertEquals("old", h.get("/s", "Cache-Control", "stale-if-error=10").body());
        }
    }

    @Test
    void staleWhileRevalidateServesStaleAndValidatesInTheBackground() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> Origin.of(200, "v1", "Cache-Control", "max-age=10, stale-while-revalidate=30",
                    "ETag", "\"1\"");
            h.get("/w");
            h.advance(15_000);
            h.holdBackground = true;
            Answer stale = h.get("/w");
            assertEquals(CacheResult.STALE, stale.result());
            assertEquals("v1", stale.body());
            assertEquals(1, h.heldFills.size(), "one background validation");
            assertEquals(CacheResult.STALE, h.get("/w").result(), "a second stale hit does not start another");
            assertEquals(1, h.heldFills.size());
            h.origin = r -> Origin.of(200, "v2", "Cache-Control", "max-age=10, stale-while-revalidate=30",
                    "ETag", "\"2\"");
            CacheFill fill = h.heldFills.remove(0);
            assertEquals("\"1\"", fill.request().headers().get("If-None-Match"));
            CacheHarness.feed(fill, h.callOrigin(fill.request()));
            Answer fresh = h.get("/w");
            assertEquals(CacheResult.HIT, fresh.result());
            assertEquals("v2", fresh.body());
            h.advance(50_000);
            h.holdBackground = false;
            assertEquals(CacheResult.MISS, h.get("/w").result(), "past the window: validated in the foreground");
        }
    }

    @Test
    void hotResponsesAreRefreshedShortlyBeforeTheyExpire() {
        try (CacheHarness h = new CacheHarness(new CacheSettings(true, null, null, 3, 10))) {
            AtomicInteger version = new AtomicInteger(1);
            h.origin = r -> Origin.of(200, "v" + version.get(), "Cache-Control", "max-age=60",
                    "ETag", "\"" + version.get() + "\"");
            h.get("/hot");
            h.get("/cold");
            for (int i = 0; i < 3; i++) {
                assertEquals(CacheResult.HIT, h.get("/hot").result());
            }
            h.get("/cold");
            assertEquals(1, h.pendingTimers(), "only the response hit 3 times is scheduled");
            version.set(2);
            h.advance(49_000);
            assertEquals(2, h.originCalls(), "not before expiry minus 10 s");
            h.advance(1_500);
            assertEquals(3, h.originCalls());
            assertEquals("\"1\"", h.lastOriginRequest().headers().get("If-None-Match"));
            h.advance(20_000);
            Answer hot = h.get("/hot");
            assertEquals(CacheResult.HIT, hot.result(), "refreshed, so still fresh after the first lifetime");
            assertEquals("v2", hot.body());
            assertEquals(CacheResult.MISS, h.get("/cold").result());
        }
    }

    @Test
    void refreshDelayIsAheadOfExpiryByAtMostHalfTheLifetime() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> Origin.of(200, "x", "Cache-Control", "max-age=4");
            h.get("/a");
            StoredResponse r = h.cache.lookup("shop", h.policy, request(HttpMethod.GET, "/a")).stored;
            assertEquals(2000, HttpCache.refreshDelay(r, 10, h.now));
            assertEquals(3000, HttpCache.refreshDelay(r, 1, h.now));
        }
    }

    @Test
    void byteBudgetEvictsAndReleasesBodies() {
        long budget = 1 << 20;
        try (CacheHarness h = new CacheHarness(new CacheSettings(true, budget, 200_000L, 0, null))) {
            String body = "x".repeat(100_000);
            h.origin = r -> Origin.of(200, body, "Cache-Control", "max-age=600");
            for (int i = 0; i < 30; i++) {
                h.get("/big/" + i);
            }
            assertTrue(h.cache.weightedSize() <= budget, "weighted " + h.cache.weightedSize());
            assertTrue(h.cache.entries() < 30 && h.cache.entries() >= 5, "entries " + h.cache.entries());
            assertTrue(h.metrics.scrape().contains("braid_frontend_cache_evictions_total"));
        }
    }

    @Test
    void largeResponsesAreStreamedThroughUncached() {
        try (CacheHarness h = new CacheHarness(new CacheSettings(true, null, 1000L, 0, null))) {
            h.origin = r -> Origin.of(200, "y".repeat(5000), "Cache-Control", "max-age=600");
            Answer a = h.get("/declared");
            assertEquals(5000, a.body().length());
            assertEquals(0, h.cache.entries());
            // Without Content-Length the limit is found while copying, and the copy stops there.
            HttpRequest r = request(HttpMethod.GET, "/chunked");
            CacheFill fill = h.cache.fetch(lookup(h, "/chunked"), r, true).fill();
            Origin o = Origin.of(200, "z".repeat(5000), "Cache-Control", "max-age=600");
            o.headers().remove("Content-Length");
            CacheHarness.feed(fill, o);
            assertEquals(CacheFill.Outcome.UNCACHEABLE, fill.result().join().outcome());
            assertEquals(0, h.cache.entries());
        }
    }

    @Test
    void purgeByUrlPrefixAndSurrogateKey() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> Origin.of(200, "x", "Cache-Control", "max-age=600", "Surrogate-Key",
                    r.uri().startsWith("/p/") ? "products " + r.uri().substring(3) : "misc");
            for (String t : new String[]{"/p/1", "/p/2", "/p/3", "/img/a", "/img/b", "/home"}) {
                h.get(t);
            }
            assertNull(h.get("/p/1").header("Surrogate-Key"), "the keys are not for clients");
            assertEquals(1, h.cache.purgeUrl(CacheKey.normalUrl("HTTP://WWW.shop.example:80/p/1")));
            assertEquals(CacheResult.MISS, h.get("/p/1").result());
            assertEquals(2, h.cache.purgePrefix(CacheKey.normalUrl("http://www.shop.example/img/")));
            assertEquals(CacheResult.MISS, h.get("/img/a").result());
            assertEquals(1, h.cache.purgeSurrogateKey("2"));
            assertEquals(2, h.cache.purgeSurrogateKey("products"), "/p/1 and /p/3; /p/2 is gone already");
            assertEquals(CacheResult.HIT, h.get("/home").result(), "untouched entries still serve");
            assertEquals(CacheResult.HIT, h.get("/img/a").result());
        }
    }

    @Test
    void storedBodyIsNeverLeasedAfterItsRelease() {
        io.netty.buffer.ByteBuf buf = io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(4).writeInt(7);
        StoredBody body = new StoredBody(buf);
        io.netty.buffer.ByteBuf lease = body.lease(0, 4);
        assertNotNull(lease);
        body.release();
        assertEquals(7, lease.getInt(0), "a lease keeps the memory until it is released");
        lease.release();
        assertNull(body.lease(0, 4));
        assertTrue(body.isReleased());
    }

    @Test
    void abandonedFillLetsWaitersStartOver() throws Exception {
        try (CacheHarness h = new CacheHarness()) {
            HttpRequest r = request(HttpMethod.GET, "/x");
            HttpCache.Fetch lead = h.cache.fetch(lookup(h, "/x"), r, true);
            HttpCache.Fetch waiter = h.cache.fetch(lookup(h, "/x"), r, true);
            CountDownLatch done = new CountDownLatch(1);
            waiter.fill().result().thenRun(done::countDown);
            lead.fill().abandon("client left");
            assertTrue(done.await(1, TimeUnit.SECONDS));
            assertEquals(CacheFill.Outcome.RELEASED, waiter.fill().result().join().outcome());
            HttpCache.Fetch next = h.cache.fetch(lookup(h, "/x"), r, true);
            assertEquals(HttpCache.Fetch.Kind.LEAD_ATTACHED, next.kind(), "the first to start over leads");
            next.fill().abandon("test");
        }
    }

    @Test
    void varyMismatchedWaiterFetchesOnItsOwn() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> Origin.of(200, "lang=" + r.headers().get("Accept-Language"), "Cache-Control",
                    "max-age=60", "Vary", "Accept-Language");
            HttpRequest en = request(HttpMethod.GET, "/v", "Accept-Language", "en");
            HttpRequest fr = request(HttpMethod.GET, "/v", "Accept-Language", "fr");
            HttpCache.Fetch lead = h.cache.fetch(h.cache.lookup("shop", h.policy, en), en, true);
            HttpCache.Lookup frLookup = h.cache.lookup("shop", h.policy, fr);
            HttpCache.Fetch waiter = h.cache.fetch(frLookup, fr, true);
            CacheHarness.feed(lead.fill(), h.callOrigin(en));
            CacheFill.Result result = waiter.fill().result().join();
            assertEquals(CacheFill.Outcome.STORED, result.outcome());
            Answer a = h.filled(frLookup, fr, result, false);
            assertEquals("lang=fr", a.body());
            assertEquals(2, h.originCalls());
        }
    }

    @Test
    void disablingTheCacheReleasesEverything() {
        try (CacheHarness h = new CacheHarness()) {
            h.get("/a");
            assertEquals(1, h.cache.entries());
            h.cache.update(new CacheSettings(false, null, null, null, null));
            assertEquals(0, h.cache.entries());
            assertEquals(CacheResult.BYPASS, h.get("/a").result());
        }
    }

    @Test
    void requestsAreCountedByResult() {
        try (CacheHarness h = new CacheHarness()) {
            h.get("/a");
            h.get("/a");
            h.send(request(HttpMethod.POST, "/a"));
            assertEquals(1, h.cache.requests(CacheResult.MISS));
            assertEquals(1, h.cache.requests(CacheResult.HIT));
            assertEquals(1, h.cache.requests(CacheResult.BYPASS));
            String scrape = h.metrics.scrape();
            assertTrue(scrape.contains("braid_frontend_cache_requests_total{result=\"hit\"} 1"), scrape);
            assertTrue(scrape.contains("braid_frontend_cache_entries"), scrape);
            assertTrue(scrape.contains("braid_frontend_cache_stored_bytes"), scrape);
        }
    }
}
