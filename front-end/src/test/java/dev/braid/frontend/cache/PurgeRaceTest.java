package dev.braid.frontend.cache;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A purge (or an invalidation after an unsafe method, RFC 9111 §4.4) that arrives while a fetch
 * of a matching URL is in flight keeps that fetch's response out of the cache: the origin may have
 * answered before the change the purge announces. The origin here is gated: the test holds each
 * fill and answers it after the purge.
 */
class PurgeRaceTest {

    /** Starts a fetch of {@code target} as a cold GET would and returns its fill, not answered yet. */
    private static CacheFill startFetch(CacheHarness h, String target) {
        HttpRequest request = CacheHarness.request(HttpMethod.GET, target);
        HttpCache.Lookup lookup = h.cache.lookup(CacheHarness.SITE, h.policy, request);
        assertEquals(HttpCache.Lookup.Kind.MISS, lookup.kind());
        HttpCache.Fetch f = h.cache.fetch(lookup, request, true);
        assertEquals(HttpCache.Fetch.Kind.LEAD_ATTACHED, f.kind());
        return f.fill();
    }

    private static CacheHarness.Origin old(String... extra) {
        String[] h = new String[2 + extra.length];
        h[0] = "Cache-Control";
        h[1] = "max-age=600";
        System.arraycopy(extra, 0, h, 2, extra.length);
        return CacheHarness.Origin.of(200, "before the purge", h);
    }

    @Test
    void aFetchThatStartedBeforeAPurgeOfItsUrlIsNotStored() {
        try (CacheHarness h = new CacheHarness()) {
            CacheFill fill = startFetch(h, "/a");
            assertEquals(0, h.cache.purgeUrl("http://www.shop.example/a"), "nothing stored yet");
            CacheHarness.feed(fill, old());
            CacheFill.Result result = fill.result().join();
            assertEquals(CacheFill.Outcome.UNCACHEABLE, result.outcome());
            assertEquals("not stored: purged while the fetch was in flight", result.reason());
            assertEquals(0, h.cache.entries());
            h.origin = r -> CacheHarness.Origin.of(200, "after the purge", "Cache-Control", "max-age=600");
            assertEquals("after the purge", h.get("/a").body());
            assertEquals(CacheResult.HIT, h.get("/a").result());
            assertEquals("after the purge", h.get("/a").body());
            assertTrue(h.metrics.scrape().contains("\nbraid_frontend_cache_fills_purged_total 1\n"), h.metrics.scrape());
        }
    }

    @Test
    void aPurgeBetweenTheHeadAndTheEndOfTheBodyCounts() {
        try (CacheHarness h = new CacheHarness()) {
            CacheFill fill = startFetch(h, "/a");
            CacheHarness.Origin o = old();
            assertTrue(fill.head(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    o.headers().copy())));
            h.cache.purgePrefix("http://www.shop.example/");
            io.netty.buffer.ByteBuf b = io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer();
            try {
                b.writeCharSequence(o.body(), java.nio.charset.StandardCharsets.UTF_8);
                fill.content(b);
            } finally {
                b.release();
            }
            fill.end();
            assertEquals(CacheFill.Outcome.UNCACHEABLE, fill.result().join().outcome());
            assertEquals(0, h.cache.entries());
        }
    }

    @Test
    void aSurrogateKeyPurgeMatchesTheResponseThatArrivesAfterIt() {
        try (CacheHarness h = new CacheHarness()) {
            CacheFill tagged = startFetch(h, "/tagged");
            CacheFill other = startFetch(h, "/other");
            h.cache.purgeSurrogateKey("product-7");
            CacheHarness.feed(tagged, old("Surrogate-Key", "catalog product-7"));
            CacheHarness.feed(other, old("Surrogate-Key", "product-8"));
            assertEquals(CacheFill.Outcome.UNCACHEABLE, tagged.result().join().outcome());
            assertEquals(CacheFill.Outcome.STORED, other.result().join().outcome(), "the purge did not name it");
            assertEquals(1, h.cache.entries());
        }
    }

    @Test
    void aPurgeOfAnotherUrlOrBeforeTheFetchStartedLeavesTheFetchAlone() {
        try (CacheHarness h = new CacheHarness()) {
            h.cache.purgeUrl("http://www.shop.example/a");
            CacheFill fill = startFetch(h, "/a");
            h.cache.purgeUrl("http://www.shop.example/b");
            CacheHarness.feed(fill, old());
            assertEquals(CacheFill.Outcome.STORED, fill.result().join().outcome());
            assertEquals(CacheResult.HIT, h.get("/a").result());
            assertEquals(0, h.cache.purgeLogSize(), "no fill in flight: the log is empty");
        }
    }

    @Test
    void anUnsafeRequestWhileAFetchIsInFlightKeepsItsResponseOut() {
        try (CacheHarness h = new CacheHarness()) {
            CacheFill fill = startFetch(h, "/a");
            // §4.4: a successful POST to the URL invalidates it, and the fetch in flight with it.
            h.cache.invalidateAfter(CacheHarness.SITE, CacheHarness.request(HttpMethod.POST, "/a"),
                    new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
            CacheHarness.feed(fill, old());
            assertEquals(CacheFill.Outcome.UNCACHEABLE, fill.result().join().outcome());
            assertEquals(0, h.cache.entries());
        }
    }

    @Test
    void aValidationInFlightDuringAPurgeDoesNotBringTheOldResponseBack() {
        try (CacheHarness h = new CacheHarness()) {
            h.origin = r -> CacheHarness.Origin.of(200, "v1", "Cache-Control", "max-age=10", "ETag", "\"1\"");
            h.get("/a");
            h.advance(11_000);
            HttpRequest request = CacheHarness.request(HttpMethod.GET, "/a");
            HttpCache.Lookup lookup = h.cache.lookup(CacheHarness.SITE, h.policy, request);
            assertEquals(HttpCache.Lookup.Kind.VALIDATE, lookup.kind());
            HttpCache.Fetch f = h.cache.fetch(lookup, request, true);
            h.cache.purgeUrl("http://www.shop.example/a");
            CacheHarness.feed(f.fill(), CacheHarness.Origin.of(304, "", "ETag", "\"1\"", "Cache-Control", "max-age=10"));
            CacheFill.Result result = f.fill().result().join();
            assertEquals(CacheFill.Outcome.RELEASED, result.outcome(), result.reason());
            assertEquals(0, h.cache.entries());
        }
    }

    @Test
    void thePurgeLogIsBoundedWhileAFetchHangs() {
        try (CacheHarness h = new CacheHarness()) {
            CacheFill hanging = startFetch(h, "/slow");
            for (int i = 0; i < HttpCache.MAX_PURGE_LOG + 10; i++) {
                h.cache.purgeUrl("http://www.shop.example/p" + i);
            }
            assertTrue(h.cache.purgeLogSize() <= HttpCache.MAX_PURGE_LOG, "log of " + h.cache.purgeLogSize());
            // Past the bound the purges merged into one that matches everything: the hanging fetch stores nothing.
            CacheHarness.feed(hanging, old());
            assertEquals(CacheFill.Outcome.UNCACHEABLE, hanging.result().join().outcome());
            h.cache.purgeUrl("http://www.shop.example/none");
            assertEquals(0, h.cache.purgeLogSize());
        }
    }
}
