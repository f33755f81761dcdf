package dev.braid.frontend.cache;

import dev.braid.managers.config.SiteCachePolicy;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pure parts: directives, dates, freshness and age arithmetic, ranges, validators. */
class CacheCoreTest {

    private static final long NOW = Instant.parse("2025-03-01T12:00:00Z").toEpochMilli();

    private static HttpHeaders headers(String... kv) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < kv.length; i += 2) {
            h.add(kv[i], kv[i + 1]);
        }
        return h;
    }

    @Test
    void s5_2_directivesParseCaseInsensitivelyWithTokenOrQuotedArguments() {
        CacheControl cc = CacheControl.ofResponse(headers("Cache-Control", "Max-Age=\"60\", S-MAXAGE=30",
                "Cache-Control", "no-cache=\"Set-Cookie, X-A\", PUBLIC, stale-while-revalidate=5"));
        assertEquals(60, cc.maxAge);
        assertEquals(30, cc.sMaxAge);
        assertTrue(cc.noCache, "the qualified form counts as the unqualified one");
        assertTrue(cc.isPublic);
        assertEquals(5, cc.staleWhileRevalidate);
        assertEquals(CacheControl.ABSENT, cc.staleIfError);
    }

    @Test
    void s4_2_1_firstOccurrenceWinsAndInvalidMaxAgeMeansStale() {
        assertEquals(10, CacheControl.ofResponse(headers("Cache-Control", "max-age=10, max-age=99")).maxAge);
        assertEquals(0, CacheControl.ofResponse(headers("Cache-Control", "max-age=ten")).maxAge);
        assertEquals(0, CacheControl.ofResponse(headers("Cache-Control", "max-age=-5")).maxAge);
    }

    @Test
    void s5_4_pragmaNoCacheCountsOnlyWithoutCacheControl() {
        assertTrue(CacheControl.ofRequest(headers("Pragma", "no-cache")).noCache);
        assertFalse(CacheControl.ofRequest(headers("Pragma", "no-cache", "Cache-Control", "max-age=5")).noCache);
    }

    @Test
    void s5_2_1_2_maxStaleWithoutValueAcceptsAnyStaleness() {
        assertEquals(CacheControl.DELTA_INFINITY, CacheControl.ofRequest(headers("Cache-Control", "max-stale")).maxStale);
        assertEquals(7, CacheControl.ofRequest(headers("Cache-Control", "max-stale=7")).maxStale);
    }

    @Test
    void rfc9110_s5_6_7_allThreeDateFormatsAreAccepted() {
        long expected = Instant.parse("1994-11-06T08:49:37Z").toEpochMilli();
        assertEquals(expected, HttpDates.parse("Sun, 06 Nov 1994 08:49:37 GMT", NOW));
        assertEquals(expected, HttpDates.parse("Sunday, 06-Nov-94 08:49:37 GMT", NOW));
        assertEquals(expected, HttpDates.parse("Sun Nov  6 08:49:37 1994", NOW));
        assertNull(HttpDates.parse("0", NOW));
        assertNull(HttpDates.parse("Sun, 06 Nov 1994 25:49:37 GMT", NOW));
        assertEquals("Sat, 01 Mar 2025 12:00:00 GMT", HttpDates.format(NOW));
    }

    @Test
    void rfc9110_s5_6_7_twoDigitYearMoreThan50YearsAheadIsInThePast() {
        long y2070 = Instant.parse("2070-01-01T00:00:00Z").toEpochMilli();
        assertEquals(Instant.parse("1980-01-01T00:00:00Z").toEpochMilli(),
                HttpDates.parse("Tuesday, 01-Jan-80 00:00:00 GMT", NOW));
        assertEquals(y2070, HttpDates.parse("Wednesday, 01-Jan-70 00:00:00 GMT", NOW));
    }

    @Test
    void s4_2_3_ageCalculation() {
        // Date 10 s before receipt, Age 2, request took 3 s: apparent 10 s beats 2 + 3.
        long requestTime = NOW - 3000;
        assertEquals(10_000, Freshness.correctedInitialAgeMillis(2, NOW - 10_000, requestTime, NOW));
        // A clock ahead of ours gives no negative apparent age; Age plus delay wins.
        assertEquals(8_000, Freshness.correctedInitialAgeMillis(5, NOW + 60_000, requestTime, NOW));
        assertEquals(18_000, Freshness.currentAgeMillis(8_000, NOW, NOW + 10_000));
        assertEquals(CacheControl.DELTA_INFINITY, Freshness.ageHeaderSeconds(Long.MAX_VALUE / 2));
    }

    @Test
    void s4_2_1_lifetimePrecedence() {
        SiteCachePolicy p = SiteCachePolicy.DEFAULT;
        HttpHeaders h = headers("Cache-Control", "max-age=100, s-maxage=5", "Expires", HttpDates.format(NOW + 999_000));
        assertEquals(5_000, Freshness.lifetimeMillis(200, CacheControl.ofResponse(h), h, NOW, p));
        h = headers("Cache-Control", "max-age=100", "Expires", HttpDates.format(NOW + 999_000));
        assertEquals(100_000, Freshness.lifetimeMillis(200, CacheControl.ofResponse(h), h, NOW, p));
        h = headers("Expires", HttpDates.format(NOW + 30_000));
        assertEquals(30_000, Freshness.lifetimeMillis(200, CacheControl.ofResponse(h), h, NOW, p));
    }

    @Test
    void s4_2_2_heuristicOnlyForHeuristicStatusesOrPublicAndBounded() {
        SiteCachePolicy p = new SiteCachePolicy(true, 10, 3600);
        HttpHeaders lm = headers("Last-Modified", HttpDates.format(NOW - 100L * 86_400_000));
        assertEquals(3_600_000, Freshness.lifetimeMillis(200, CacheControl.ofResponse(lm), lm, NOW, p));
        assertEquals(0, Freshness.lifetimeMillis(302, CacheControl.ofResponse(lm), lm, NOW, p));
        HttpHeaders pub = headers("Last-Modified", HttpDates.format(NOW - 10_000_000), "Cache-Control", "public");
        assertEquals(1_000_000, Freshness.lifetimeMillis(302, CacheControl.ofResponse(pub), pub, NOW, p));
        assertEquals(0, Freshness.lifetimeMillis(200, CacheControl.ofResponse(lm), lm, NOW,
                new SiteCachePolicy(true, 0, 3600)));
    }

    @Test
    void rfc9110_s14_1_2_rangeParsing() {
        assertEquals(new ByteRange(0, 499), ByteRange.parse("bytes=0-499", 1000));
        assertEquals(new ByteRange(500, 999), ByteRange.parse("bytes=500-", 1000));
        assertEquals(new ByteRange(900, 999), ByteRange.parse("bytes=-100", 1000));
        assertEquals(new ByteRange(0, 999), ByteRange.parse("bytes=-5000", 1000));
        assertEquals(new ByteRange(10, 999), ByteRange.parse("bytes=10-99999999999999999999", 1000));
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=1000-", 1000));
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=-0", 1000));
        assertEquals(ByteRange.IGNORE, ByteRange.parse("bytes=5-1", 1000));
        assertEquals(ByteRange.IGNORE, ByteRange.parse("items=0-1", 1000));
        assertEquals(ByteRange.IGNORE, ByteRange.parse("bytes=0-1,3-4", 1000));
        assertEquals(ByteRange.IGNORE, ByteRange.parse("bytes=a-b", 1000));
    }

    @Test
    void rfc9110_s8_8_3_entityTagComparison() {
        assertTrue(Conditionals.weakEquals("W/\"1\"", "\"1\""));
        assertFalse(Conditionals.strongEquals("W/\"1\"", "\"1\""));
        assertTrue(Conditionals.strongEquals("\"1\"", "\"1\""));
        assertEquals(java.util.List.of("\"a,b\"", "W/\"c\"", "*"),
                Conditionals.entityTags(java.util.List.of("\"a,b\", W/\"c\"", "*")));
    }

    @Test
    void cacheKeyNormalisesSchemeHostAndDefaultPort() {
        assertEquals("http://www.shop.example/a?b", CacheKey.effectiveUri("WWW.Shop.Example:80", "/a?b"));
        assertEquals("http://www.shop.example:8080/a", CacheKey.effectiveUri("x", "HTTP://www.shop.example:8080/a"));
        assertNull(CacheKey.normalUrl("ftp://x/"));
        assertNull(CacheKey.normalUrl("http://x/a b"));
        assertEquals("http://x/", CacheKey.normalUrl("http://x"));
    }

    @Test
    void s4_4_sameOriginResolution() {
        assertEquals("http://h/b", HttpCache.sameOrigin("http://h/a", "/b"));
        assertEquals("http://h/a/c?q", HttpCache.sameOrigin("http://h/a/b", "c?q"));
        assertNull(HttpCache.sameOrigin("http://h/a", "http://evil/b"));
        assertNull(HttpCache.sameOrigin("http://h/a", "https://h/b"));
        assertNull(HttpCache.sameOrigin("http://h/a", "::not a uri::"));
    }
}
