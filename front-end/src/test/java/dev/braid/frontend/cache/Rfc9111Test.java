package dev.braid.frontend.cache;

import dev.braid.frontend.cache.CacheHarness.Answer;
import dev.braid.frontend.cache.CacheHarness.Origin;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static dev.braid.frontend.cache.CacheHarness.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One test per requirement (MUST / MUST NOT) of RFC 9111 that applies to a shared cache; each
 * test's name starts with the section it checks. docs/cache.md lists them. Virtual time, a
 * scripted origin, tracked buffers.
 */
class Rfc9111Test {

    private final CacheHarness h = new CacheHarness();

    @AfterEach
    void close() {
        h.close();
    }

    private void origin(int status, String body, String... headers) {
        h.origin = r -> Origin.of(status, body, headers);
    }

    // ---- §1.2.2 delta-seconds ----

    @Test
    void s1_2_2_deltaSecondsOverflowReadsAsTwoToThe31() {
        origin(200, "x", "Cache-Control", "max-age=99999999999999999999");
        h.get("/a");
        h.advance(1000L * 86_400 * 365 * 50);
        Answer a = h.get("/a");
        assertEquals(CacheResult.HIT, a.result(), "an overflowing max-age is a very long one, not a negative one");
    }

    // ---- §3 storing responses ----

    @Test
    void s3_responseToUnsafeMethodIsNotStored() {
        origin(200, "posted", "Cache-Control", "max-age=60");
        assertEquals(CacheResult.BYPASS, h.send(request(HttpMethod.POST, "/a")).result());
        assertEquals(CacheResult.MISS, h.get("/a").result());
        assertEquals(2, h.originCalls());
    }

    @Test
    void s3_partialContentIsNotStored() {
        origin(206, "par", "Cache-Control", "max-age=60", "Content-Range", "bytes 0-2/10");
        h.get("/a");
        assertEquals(CacheResult.MISS, h.get("/a").result());
    }

    @Test
    void s3_mustUnderstandStoresOnlyUnderstoodStatus() {
        origin(200, "ok", "Cache-Control", "max-age=60, must-understand, no-store");
        h.get("/known");
        assertEquals(CacheResult.HIT, h.get("/known").result(), "200 is understood, so no-store yields");
        origin(299, "odd", "Cache-Control", "max-age=60, must-understand");
        h.get("/odd");
        assertEquals(CacheResult.MISS, h.get("/odd").result());
    }

    @Test
    void s3_noStoreResponseIsNotStored() {
        origin(200, "secret", "Cache-Control", "max-age=60, no-store");
        h.get("/a");
        assertEquals(CacheResult.MISS, h.get("/a").result());
        assertEquals(0, h.cache.entries());
    }

    @Test
    void s3_privateResponseIsNotStoredBySharedCache() {
        origin(200, "mine", "Cache-Control", "private, max-age=60");
        h.get("/a");
        origin(200, "mine", "Cache-Control", "private=\"Set-Cookie\", max-age=60");
        h.get("/b");
        assertEquals(0, h.cache.entries());
    }

    @Test
    void s3_responseWithoutFreshnessOrHeuristicStatusIsNotStored() {
        origin(302, "", "Location", "/b", "Last-Modified", CacheHarness.date(h.now - 86_400_000));
        h.get("/a");
        assertEquals(0, h.cache.entries(), "302 is not heuristically cacheable");
        origin(302, "", "Location", "/b", "Cache-Control", "max-age=60");
        h.get("/a");
        assertEquals(CacheResult.HIT, h.get("/a").result());
    }

    @Test
    void s3_interimResponseIsNeverStored() {
        origin(103, "", "Link", "</s.css>; rel=preload");
        h.get("/a");
        assertEquals(0, h.cache.entries());
    }

    // ---- §3.1 storing header and trailer fields ----

    @Test
    void s3_1_allReceivedFieldsAreStoredIncludingUnknownOnes() {
        origin(200, "x", "Cache-Control", "max-age=60", "X-Brand-New-Field", "v1", "Content-Type", "text/plain");
        h.get("/a");
        Answer a = h.get("/a");
        assertEquals("v1", a.header("X-Brand-New-Field"));
        assertEquals("text/plain", a.header("Content-Type"));
    }

    @Test
    void s3_1_proxyAuthenticationFieldsAreNotStored() {
        origin(200, "x", "Cache-Control", "max-age=60", "Proxy-Authenticate", "Basic realm=\"p\"",
                "Proxy-Authentication-Info", "nextnonce=\"1\"");
        h.get("/a");
        Answer a = h.get("/a");
        assertEquals(CacheResult.HIT, a.result());
        assertNull(a.header("Proxy-Authenticate"));
        assertNull(a.header("Proxy-Authentication-Info"));
    }

    @Test
    void s3_1_trailerFieldsAreNotCombinedWithHeaderFields() {
        h.origin = r -> {
            Origin o = Origin.of(200, "x", "Cache-Control", "max-age=60");
            return new Origin(o.status(), o.headers(), o.body(), new io.netty.handler.codec.http.DefaultHttpHeaders()
                    .add("X-Checksum", "abc"));
        };
        h.get("/a");
        assertNull(h.get("/a").header("X-Checksum"));
    }

    // ---- §3.2 updating stored header fields ----

    @Test
    void s3_2_304ReplacesStoredFieldsButNotContentLength() {
        origin(200, "body", "Cache-Control", "max-age=10", "ETag", "\"v1\"", "X-Version", "1",
                "Content-Type", "text/plain", "Content-MD5", "hBotaJrYa9FhFEdFPCLG/A==");
        h.get("/a");
        h.advance(20_000);
        origin(304, "", "Cache-Control", "max-age=100", "ETag", "\"v1\"", "X-Version", "2", "Content-Length", "999",
                "Content-Type", "text/plain;charset=utf-8", "Content-MD5", "N7UdGUp1E+RbVvZSTy1R8g==");
        Answer a = h.get("/a");
        assertEquals(CacheResult.REVALIDATED, a.result());
        assertEquals("2", a.header("X-Version"));
        assertEquals("max-age=100", a.header("Cache-Control"));
        assertEquals("text/plain;charset=utf-8", a.header("Content-Type"), "a field the stored bytes do not depend on");
        assertEquals("hBotaJrYa9FhFEdFPCLG/A==", a.header("Content-MD5"), "the digest of the stored bytes stays");
        assertEquals("4", a.header("Content-Length"));
        assertEquals("body", a.body());
    }

    // ---- §3.3 incomplete responses ----

    @Test
    void s3_3_incompleteResponseIsNotStored() {
        CacheFill fill = h.cache.fetch(h.cache.lookup("shop", h.policy, request(HttpMethod.GET, "/a")),
                request(HttpMethod.GET, "/a"), true).fill();
        assertTrue(fill.head(new io.netty.handler.codec.http.DefaultHttpResponse(
                io.netty.handler.codec.http.HttpVersion.HTTP_1_1, io.netty.handler.codec.http.HttpResponseStatus.OK,
                new io.netty.handler.codec.http.DefaultHttpHeaders().add("Cache-Control", "max-age=60")
                        .add("Content-Length", "10"))));
        io.netty.buffer.ByteBuf part = io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(4).writeBytes(new byte[4]);
        try {
            fill.content(part);
        } finally {
            part.release();
        }
        fill.fail(502, "stream reset");
        assertEquals(CacheFill.Outcome.FAILED, fill.result().join().outcome());
        assertEquals(0, h.cache.entries());
    }

    @Test
    void s3_3_partialResponseFromCacheIsMarked206() {
        origin(200, "0123456789", "Cache-Control", "max-age=60");
        h.get("/a");
        Answer a = h.get("/a", "Range", "bytes=2-4");
        assertEquals(206, a.status());
        assertEquals("234", a.body());
        assertEquals("bytes 2-4/10", a.header("Content-Range"));
    }

    // ---- §3.5 authenticated requests ----

    @Test
    void s3_5_responseToAuthorizedRequestIsNotStoredWithoutExplicitPermission() {
        origin(200, "x", "Cache-Control", "max-age=60");
        h.get("/a", "Authorization", "Bearer t");
        assertEquals(CacheResult.MISS, h.get("/a").result());
        for (String cc : new String[]{"public, max-age=60", "s-maxage=60", "max-age=60, must-revalidate"}) {
            origin(200, "x", "Cache-Control", cc);
            h.cache.purgeAll();
            h.get("/b", "Authorization", "Bearer t");
            assertEquals(CacheResult.HIT, h.get("/b").result(), cc);
        }
    }

    // ---- §4 constructing responses from caches ----

    @Test
    void s4_targetUriMustMatch() {
        h.get("/a?x=1");
        assertEquals(CacheResult.MISS, h.get("/a?x=2").result());
        assertEquals(CacheResult.HIT, h.get("/a?x=1").result());
        assertEquals(CacheResult.MISS, h.send(request(HttpMethod.GET, "/a?x=1", "Host", "other.example")).result());
    }

    @Test
    void s4_methodMustAllowReuseHeadFromGetOnly() {
        h.get("/a");
        Answer head = h.head("/a");
        assertEquals(CacheResult.HIT, head.result());
        assertEquals("", head.body());
        assertEquals("5", head.header("Content-Length"));
        assertEquals(CacheResult.BYPASS, h.send(request(HttpMethod.OPTIONS, "/a")).result());
    }

    @Test
    void s4_noCacheResponseIsNotReusedWithoutValidation() {
        origin(200, "x", "Cache-Control", "no-cache, max-age=600", "ETag", "\"1\"");
        h.get("/a");
        origin(304, "", "ETag", "\"1\"");
        Answer a = h.get("/a");
        assertEquals(CacheResult.REVALIDATED, a.result());
        assertEquals("\"1\"", h.lastOriginRequest().headers().get("If-None-Match"));
        assertEquals(2, h.originCalls());
    }

    @Test
    void s4_ageIsGeneratedOnEveryReuse() {
        origin(200, "x", "Cache-Control", "max-age=600", "Age", "5", "Date", CacheHarness.date(h.now));
        h.get("/a");
        h.advance(10_000);
        assertEquals("15", h.get("/a").header("Age"));
    }

    @Test
    void s4_unsafeMethodIsWrittenThrough() {
        h.get("/a");
        Answer post = h.send(request(HttpMethod.POST, "/a"));
        assertEquals(CacheResult.BYPASS, post.result());
        assertEquals(2, h.originCalls());
        assertEquals(HttpMethod.POST, h.lastOriginRequest().method());
    }

    @Test
    void s4_mostRecentMatchingResponseIsUsed() {
        origin(200, "older", "Cache-Control", "max-age=600", "Vary", "Accept-Language",
                "Date", CacheHarness.date(h.now - 5000));
        h.get("/a", "Accept-Language", "en", "Accept-Encoding", "gzip");
        origin(200, "newer", "Cache-Control", "max-age=600", "Vary", "Accept-Encoding",
                "Date", CacheHarness.date(h.now));
        h.cache.purgeAll();
        h.get("/a", "Accept-Language", "en", "Accept-Encoding", "gzip");
        origin(200, "older", "Cache-Control", "max-age=600", "Vary", "Accept-Language",
                "Date", CacheHarness.date(h.now - 5000));
        h.get("/a", "Accept-Language", "en", "Accept-Encoding", "br");
        assertEquals(2, h.cache.entries());
        assertEquals("newer", h.get("/a", "Accept-Language", "en", "Accept-Encoding", "gzip").body());
    }

    // ---- §4.1 Vary ----

    @Test
    void s4_1_storedResponseIsNotUsedWhenNominatedFieldsDiffer() {
        h.origin = r -> Origin.of(200, "lang=" + r.headers().get("Accept-Language"), "Cache-Control", "max-age=60",
                "Vary", "Accept-Language");
        h.get("/a", "Accept-Language", "en");
        Answer fr = h.get("/a", "Accept-Language", "fr");
        assertEquals(CacheResult.MISS, fr.result());
        assertEquals("lang=fr", fr.body());
        assertEquals("lang=en", h.get("/a", "Accept-Language", "en").body());
        assertEquals("lang=fr", h.get("/a", "Accept-Language", "fr").body());
    }

    @Test
    void s4_1_fieldsMatchAfterWhitespaceAndLineCombination() {
        origin(200, "x", "Cache-Control", "max-age=60", "Vary", "Accept-Encoding");
        h.get("/a", "Accept-Encoding", "gzip, br");
        assertEquals(CacheResult.HIT, h.get("/a", "Accept-Encoding", "gzip,br").result());
        assertEquals(CacheResult.HIT, h.get("/a", "Accept-Encoding", "gzip", "Accept-Encoding", "br").result());
    }

    @Test
    void s4_1_absentFieldMatchesOnlyAbsence() {
        origin(200, "x", "Cache-Control", "max-age=60", "Vary", "X-Tier");
        h.get("/a");
        assertEquals(CacheResult.MISS, h.get("/a", "X-Tier", "").result());
    }

    @Test
    void s4_1_varyStarAlwaysFailsToMatch() {
        origin(200, "x", "Cache-Control", "max-age=60", "Vary", "*");
        h.get("/a");
        assertEquals(CacheResult.MISS, h.get("/a").result());
    }

    // ---- §4.2 freshness ----

    @Test
    void s4_2_datesWithAnotherZoneAreInvalidSoLocalTimeCannotAffectAge() {
        assertNull(HttpDates.parse("Sun, 06 Nov 1994 08:49:37 CET", h.now));
        assertEquals(784_111_777_000L, HttpDates.parse("sun, 06 NOV 1994 08:49:37 gmt", h.now));
        origin(200, "x", "Expires", "Sat, 01 Mar 2025 13:00:00 PST");
        h.get("/a");
        assertEquals(CacheResult.MISS, h.get("/a").result(), "an Expires outside GMT is invalid: expired");
    }

    @Test
    void s4_2_1_sharedCacheUsesSMaxAgeFirst() {
        origin(200, "x", "Cache-Control", "max-age=1000, s-maxage=10");
        h.get("/a");
        h.advance(11_000);
        assertEquals(CacheResult.MISS, h.get("/a").result());
    }

    @Test
    void s4_2_2_noHeuristicWhenExplicitExpirationIsPresent() {
        origin(200, "x", "Expires", CacheHarness.date(h.now - 1000), "Date", CacheHarness.date(h.now),
                "Last-Modified", CacheHarness.date(h.now - 100L * 86_400_000));
        h.get("/a");
        assertEquals(CacheResult.MISS, h.get("/a").result());
        origin(200, "x", "Date", CacheHarness.date(h.now), "Last-Modified", CacheHarness.date(h.now - 100_000_000));
        h.get("/b");
        h.advance(9_000_000);
        assertEquals(CacheResult.HIT, h.get("/b").result(), "10% of 100000 s since Last-Modified");
        h.advance(2_000_000);
        assertEquals(CacheResult.MISS, h.get("/b").result());
    }

    @Test
    void s4_2_4_staleResponseIsNotServedWithoutPermission() {
        origin(200, "old", "Cache-Control", "max-age=1");
        h.get("/a");
        h.advance(5000);
        origin(200, "new", "Cache-Control", "max-age=1");
        assertEquals("new", h.get("/a").body());
    }

    @Test
    void s4_2_4_staleIsNotServedWhenADirectiveForbidsIt() {
        for (String cc : new String[]{"max-age=1, must-revalidate", "max-age=1, proxy-revalidate", "s-maxage=1",
                "max-age=1, no-cache"}) {
            h.cache.purgeAll();
            origin(200, "old", "Cache-Control", cc + ", stale-while-revalidate=100, stale-if-error=100");
            h.get("/a");
            h.advance(5000);
            origin(200, "new", "Cache-Control", cc);
            Answer a = h.get("/a", "Cache-Control", "max-stale=100");
            assertEquals("new", a.body(), cc);
        }
    }

    // ---- §4.3 validation ----

    @Test
    void s4_3_1_validationCarriesTheStoredEntityTagAndDate() {
        String lm = CacheHarness.date(h.now - 3_600_000);
        origin(200, "x", "Cache-Control", "max-age=1", "ETag", "W/\"7\"", "Last-Modified", lm);
        h.get("/a");
        h.advance(2000);
        origin(304, "", "ETag", "W/\"7\"");
        assertEquals(CacheResult.REVALIDATED, h.get("/a").result());
        assertEquals("W/\"7\"", h.lastOriginRequest().headers().get("If-None-Match"));
        assertEquals(lm, h.lastOriginRequest().headers().get("If-Modified-Since"));
    }

    @Test
    void s4_3_2_originOnlyPreconditionsAreNotEvaluatedByTheCache() {
        h.get("/a");
        assertEquals(CacheResult.BYPASS, h.get("/a", "If-Match", "\"nope\"").result());
        assertEquals("\"nope\"", h.lastOriginRequest().headers().get("If-Match"), "forwarded for the origin to judge");
        assertEquals(CacheResult.BYPASS, h.get("/a", "If-Unmodified-Since", CacheHarness.date(h.now)).result());
        assertEquals(3, h.originCalls());
    }

    @Test
    void s4_3_2_304FromOriginForOurTagGivesTheClientA200WhenItsTagDiffers() {
        origin(200, "body", "Cache-Control", "max-age=1", "ETag", "\"ours\"");
        h.get("/a");
        h.advance(2000);
        origin(304, "", "ETag", "\"ours\"", "Cache-Control", "max-age=60");
        Answer a = h.get("/a", "If-None-Match", "\"theirs\"");
        assertEquals(200, a.status());
        assertEquals("body", a.body());
        assertEquals("\"ours\"", h.lastOriginRequest().headers().get("If-None-Match"));
    }

    @Test
    void s4_3_2_preconditionsForATargetWithoutStoredResponseAreLeftToTheOrigin() {
        origin(200, "mine", "Cache-Control", "private", "ETag", "\"p\"");
        int before = h.originRequests.size();
        Answer p = h.get("/p", "If-None-Match", "\"p\"");
        assertEquals(before + 1, h.originRequests.size(), "one request reaches the origin, not a second one");
        assertNull(h.lastOriginRequest().headers().get("If-None-Match"), "the cache fetched the whole response");
        assertEquals(200, p.status(), "nothing is stored for the target: its precondition is not the cache's to evaluate");
        assertEquals("mine", p.body());
        origin(200, "shared", "Cache-Control", "max-age=60", "ETag", "\"s\"");
        Answer a = h.get("/s", "If-None-Match", "\"s\"");
        assertNull(h.lastOriginRequest().headers().get("If-None-Match"), "the cache fetched the whole response");
        assertEquals(304, a.status(), "and evaluated the precondition against what it now stores");
    }

    @Test
    void s4_3_3_fullResponseToValidationIsUsedAndStored() {
        origin(200, "v1", "Cache-Control", "max-age=1", "ETag", "\"1\"");
        h.get("/a");
        h.advance(2000);
        origin(200, "v2", "Cache-Control", "max-age=60", "ETag", "\"2\"");
        Answer a = h.get("/a");
        assertEquals("v2", a.body());
        assertEquals(CacheResult.MISS, a.result());
        assertEquals("v2", h.get("/a").body());
        assertEquals(CacheResult.HIT, h.get("/a").result());
    }

    /**
     * A 304 without validators to a validation built from one stored response's ETag: §4.3.4
     * identifies nothing to update, so nothing is; the 304 still confirms that response for the
     * waiting request, which is answered from it instead of going to the origin again.
     */
    @Test
    void s4_3_4_304WithoutValidatorsConfirmsTheStoredResponseWithoutUpdatingIt() {
        origin(200, "body", "Cache-Control", "max-age=1, must-revalidate", "ETag", "\"v1\"", "X-Version", "1");
        h.get("/a");
        h.advance(2000);
        origin(304, "", "X-Version", "2", "Cache-Control", "max-age=100");
        int before = h.originRequests.size();
        Answer a = h.get("/a");
        assertEquals(before + 1, h.originRequests.size(), "one validation, no second request");
        assertEquals("\"v1\"", h.lastOriginRequest().headers().get("If-None-Match"));
        assertEquals(200, a.status());
        assertEquals("body", a.body());
        assertEquals(CacheResult.REVALIDATED, a.result());
        assertEquals("1", a.header("X-Version"), "nothing identified for update (§4.3.4)");
        origin(304, "");
        h.get("/a");
        assertEquals(before + 2, h.originRequests.size(), "still stale: the next request validates again");
    }

    @Test
    void s4_3_4_304WithAnotherStrongValidatorUpdatesNothing() {
        origin(200, "v1", "Cache-Control", "max-age=1", "ETag", "\"1\"", "X-Version", "1");
        h.get("/a");
        h.advance(2000);
        AtomicInteger calls = new AtomicInteger();
        h.origin = r -> calls.incrementAndGet() == 1
                ? Origin.of(304, "", "ETag", "\"2\"", "X-Version", "2", "Cache-Control", "max-age=60")
                : Origin.of(200, "v2", "ETag", "\"2\"", "Cache-Control", "max-age=60");
        Answer a = h.get("/a");
        assertEquals("v2", a.body(), "the request went again, unconditionally");
        assertNull(h.lastOriginRequest().headers().get("If-None-Match"));
    }

    // ---- §4.4 invalidation ----

    @Test
    void s4_4_nonErrorResponseToUnsafeMethodInvalidatesTarget() {
        h.get("/cart");
        origin(303, "", "Location", "/cart/done");
        h.send(request(HttpMethod.POST, "/cart"));
        origin(200, "hello", "Cache-Control", "max-age=60");
        assertEquals(CacheResult.MISS, h.get("/cart").result());
        h.send(request(HttpMethod.valueOf("FROB"), "/cart"));
        assertEquals(CacheResult.MISS, h.get("/cart").result(), "a method of unknown safety invalidates too");
    }

    @Test
    void s4_4_errorResponseDoesNotInvalidate() {
        h.get("/cart");
        origin(500, "boom");
        h.send(request(HttpMethod.DELETE, "/cart"));
        assertEquals(CacheResult.HIT, h.get("/cart").result());
    }

    @Test
    void s4_4_locationOfAnotherOriginIsNotInvalidated() {
        h.get("/x");
        h.send(request(HttpMethod.GET, "/x", "Host", "other.example"));
        origin(201, "", "Location", "http://other.example/x", "Content-Location", "/x");
        h.send(request(HttpMethod.PUT, "/y"));
        origin(200, "hello", "Cache-Control", "max-age=60");
        assertEquals(CacheResult.MISS, h.get("/x").result(), "same-origin Content-Location is invalidated");
        assertEquals(CacheResult.HIT, h.send(request(HttpMethod.GET, "/x", "Host", "other.example")).result());
    }

    // ---- §5.1 Age ----

    @Test
    void s5_1_invalidAgeIsIgnoredAndListTakesFirstMember() {
        origin(200, "x", "Cache-Control", "max-age=100", "Age", "abc", "Date", CacheHarness.date(h.now));
        h.get("/a");
        assertEquals("0", h.get("/a").header("Age"));
        origin(200, "x", "Cache-Control", "max-age=100", "Age", "30, 70", "Date", CacheHarness.date(h.now));
        h.get("/b");
        assertEquals("30", h.get("/b").header("Age"));
    }

    // ---- §5.2 Cache-Control ----

    @Test
    void s5_2_cacheDirectivesArePassedThrough() {
        origin(200, "x", "Cache-Control", "max-age=1, ext-directive=\"v\"", "ETag", "\"1\"");
        h.get("/a", "Cache-Control", "max-stale=0, x-client-thing");
        assertEquals("max-stale=0, x-client-thing", h.lastOriginRequest().headers().get("Cache-Control"));
        assertEquals("max-age=1, ext-directive=\"v\"", h.get("/a").header("Cache-Control"));
        h.advance(2000);
        origin(304, "", "ETag", "\"1\"");
        h.get("/a", "Cache-Control", "no-cache, x-client-thing");
        assertEquals("no-cache, x-client-thing", h.lastOriginRequest().headers().get("Cache-Control"));
    }

    @Test
    void s5_2_3_unrecognisedDirectivesAreIgnored() {
        origin(200, "x", "Cache-Control", "community=\"UCI\", max-age=60, foo");
        h.get("/a");
        assertEquals(CacheResult.HIT, h.get("/a", "Cache-Control", "bar=1").result());
    }

    @Test
    void s5_2_1_5_requestNoStoreIsNotStored() {
        h.get("/a", "Cache-Control", "no-store");
        assertEquals(0, h.cache.entries());
    }

    @Test
    void s5_2_2_2_mustRevalidateGivesAnErrorRatherThanStaleWhenTheOriginFails() {
        origin(200, "old", "Cache-Control", "max-age=1, must-revalidate, stale-if-error=600", "ETag", "\"1\"");
        h.get("/a");
        h.advance(2000);
        origin(503, "down");
        Answer a = h.get("/a");
        assertEquals(503, a.status());
        assertFalse(a.body().contains("old"));
    }

    @Test
    void s5_2_2_4_noCacheIsValidatedOnEveryUse() {
        origin(200, "x", "Cache-Control", "no-cache", "ETag", "\"1\"");
        h.get("/a");
        origin(304, "", "ETag", "\"1\"");
        for (int i = 0; i < 3; i++) {
            assertEquals(CacheResult.REVALIDATED, h.get("/a").result());
        }
        assertEquals(4, h.originCalls());
    }

    @Test
    void s5_2_2_5_noStoreResponseIsNotUsedForAnyOtherRequest() {
        origin(200, "secret", "Cache-Control", "no-store");
        HttpCache.Lookup first = h.cache.lookup("shop", h.policy, request(HttpMethod.GET, "/a"));
        HttpCache.Fetch lead = h.cache.fetch(first, request(HttpMethod.GET, "/a"), true);
        HttpCache.Fetch waiter = h.cache.fetch(h.cache.lookup("shop", h.policy, request(HttpMethod.GET, "/a")),
                request(HttpMethod.GET, "/a"), true);
        assertEquals(HttpCache.Fetch.Kind.JOIN, waiter.kind());
        CacheHarness.feed(lead.fill(), h.callOrigin(request(HttpMethod.GET, "/a")));
        CacheFill.Result result = waiter.fill().result().join();
        assertEquals(CacheFill.Outcome.UNCACHEABLE, result.outcome());
        assertNull(h.cache.serve(result, request(HttpMethod.GET, "/a")));
    }

    @Test
    void s5_2_2_6_contentIsNotTransformed() {
        String bytes = "\u0001\u0002compressed?";
        origin(200, bytes, "Cache-Control", "max-age=60, no-transform", "Content-Encoding", "gzip");
        h.get("/a");
        Answer a = h.get("/a");
        assertEquals(bytes, a.body());
        assertEquals("gzip", a.header("Content-Encoding"));
    }

    @Test
    void s5_2_2_8_proxyRevalidateIsNotServedStaleBySharedCache() {
        origin(200, "old", "Cache-Control", "public, max-age=1, proxy-revalidate", "ETag", "\"1\"");
        h.get("/a");
        h.advance(3000);
        origin(304, "", "ETag", "\"1\"");
        assertEquals(CacheResult.REVALIDATED, h.get("/a", "Cache-Control", "max-stale").result());
    }

    @Test
    void s5_2_2_10_sMaxAgeImpliesProxyRevalidate() {
        origin(200, "old", "Cache-Control", "s-maxage=1, stale-while-revalidate=60", "ETag", "\"1\"");
        h.get("/a");
        h.advance(3000);
        origin(304, "", "ETag", "\"1\"");
        assertEquals(CacheResult.REVALIDATED, h.get("/a").result());
    }

    // ---- §5.3 Expires ----

    @Test
    void s5_3_maxAgeAndSMaxAgeOverrideExpires() {
        origin(200, "x", "Cache-Control", "max-age=60", "Expires", CacheHarness.date(h.now - 1000));
        h.get("/a");
        assertEquals(CacheResult.HIT, h.get("/a").result());
        origin(200, "x", "Cache-Control", "s-maxage=60", "Expires", "0");
        h.get("/b");
        assertEquals(CacheResult.HIT, h.get("/b").result());
    }

    @Test
    void s5_3_invalidExpiresMeansAlreadyExpired() {
        origin(200, "x", "Expires", "0", "ETag", "\"1\"");
        h.get("/a");
        origin(304, "", "ETag", "\"1\"");
        assertEquals(CacheResult.REVALIDATED, h.get("/a").result());
    }

    // ---- RFC 9110 rules the cache applies when answering from storage ----

    @Test
    void rfc9110_s14_unsatisfiableRangeIs416WithLength() {
        origin(200, "0123456789", "Cache-Control", "max-age=60");
        h.get("/a");
        Answer a = h.get("/a", "Range", "bytes=10-");
        assertEquals(416, a.status());
        assertEquals("bytes */10", a.header("Content-Range"));
        assertEquals(200, h.get("/a", "Range", "bytes=1-2,5-6").status(), "several ranges: the whole");
        assertEquals("789", h.get("/a", "Range", "bytes=-3").body());
        assertEquals(200, h.get("/a", "Range", "bytes=1-2", "If-Range", "\"other\"").status());
        Answer head = h.head("/a", "Range", "bytes=1-2");
        assertEquals(200, head.status(), "Range is defined for GET only (RFC 9110 §14.2)");
        assertEquals("10", head.header("Content-Length"));
    }

    @Test
    void rfc9110_s13_conditionalRequestOnHitIs304() {
        origin(200, "x", "Cache-Control", "max-age=60", "ETag", "\"1\"", "Last-Modified",
                CacheHarness.date(h.now - 60_000));
        h.get("/a");
        Answer a = h.get("/a", "If-None-Match", "W/\"1\", \"2\"");
        assertEquals(304, a.status());
        assertEquals("\"1\"", a.header("ETag"));
        assertEquals(304, h.get("/a", "If-Modified-Since", CacheHarness.date(h.now)).status());
        assertEquals(200, h.get("/a", "If-Modified-Since", CacheHarness.date(h.now - 120_000)).status());
        assertEquals(200, h.get("/a", "If-None-Match", "\"2\"", "If-Modified-Since", CacheHarness.date(h.now))
                .status(), "If-None-Match wins over If-Modified-Since");
    }

    @Test
    void onlyIfCachedWithoutStoredResponseIs504() {
        assertEquals(504, h.get("/a", "Cache-Control", "only-if-cached").status());
        assertEquals(0, h.originCalls());
    }
}
