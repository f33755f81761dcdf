package dev.braid.frontend.cache;

import dev.braid.managers.config.SiteCachePolicy;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.Set;

/**
 * Freshness and age of a stored response (RFC 9111 §4.2), as pure functions of its header
 * fields, the times it was requested and received, and the current time; every time is in epoch
 * milliseconds and comes in as an argument.
 */
final class Freshness {

    /** Status codes defined as heuristically cacheable (RFC 9110 §15.1). */
    static final Set<Integer> HEURISTICALLY_CACHEABLE = Set.of(200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414,
            501);

    private static final long INFINITY_MILLIS = CacheControl.DELTA_INFINITY * 1000;

    private Freshness() {
    }

    /** Whether the response states its expiry: s-maxage, max-age or Expires (§4.2.1). */
    static boolean explicit(CacheControl cc, HttpHeaders headers) {
        return cc.sMaxAge != CacheControl.ABSENT || cc.maxAge != CacheControl.ABSENT
                || headers.contains(HttpHeaderNames.EXPIRES);
    }

    /**
     * The freshness lifetime (§4.2.1), first match of: s-maxage (a shared cache), max-age,
     * Expires minus Date, else a heuristic where §4.2.2 allows one, else zero. An Expires that is
     * not a valid date means "already expired" (§5.3); Expires is ignored when max-age or s-maxage
     * is present (§5.3).
     *
     * @param dateValue the Date of the response, or the time it was received when it has none
     */
    static long lifetimeMillis(int status, CacheControl cc, HttpHeaders headers, long dateValue,
                               SiteCachePolicy policy) {
        if (cc.sMaxAge != CacheControl.ABSENT) {
            return cc.sMaxAge * 1000;
        }
        if (cc.maxAge != CacheControl.ABSENT) {
            return cc.maxAge * 1000;
        }
        String expires = headers.get(HttpHeaderNames.EXPIRES);
        if (expires != null) {
            Long at = HttpDates.parse(expires, dateValue);
            return at == null ? 0 : Math.max(0, at - dateValue);
        }
        return heuristicMillis(status, cc, headers, dateValue, policy);
    }

    /**
     * A heuristic lifetime for a response without explicit expiry (§4.2.2): only for a
     * heuristically cacheable status or a response marked {@code public}, and then a fraction of
     * the time since Last-Modified, bounded by the site's maximum. Without Last-Modified there is
     * nothing to estimate from, and the lifetime is zero.
     */
    static long heuristicMillis(int status, CacheControl cc, HttpHeaders headers, long dateValue,
                                SiteCachePolicy policy) {
        if (explicit(cc, headers) || !(HEURISTICALLY_CACHEABLE.contains(status) || cc.isPublic)) {
            return 0;
        }
        Long lastModified = HttpDates.parse(headers.get(HttpHeaderNames.LAST_MODIFIED), dateValue);
        if (lastModified == null || lastModified >= dateValue) {
            return 0;
        }
        long estimate = (dateValue - lastModified) / 100 * policy.heuristicPercent();
        return Math.min(estimate, policy.maxHeuristicSeconds() * 1000L);
    }

    /**
     * The Age a response arrived with (§5.1): the first member of the field; an invalid value is
     * ignored (0); a value too large reads as 2^31 seconds (§1.2.2).
     */
    static long ageValueSeconds(HttpHeaders headers) {
        String age = headers.get(HttpHeaderNames.AGE);
        if (age == null) {
            return 0;
        }
        int comma = age.indexOf(',');
        long v = CacheControl.delta((comma < 0 ? age : age.substring(0, comma)).trim());
        return Math.max(0, v);
    }

    /**
     * The corrected initial age (§4.2.3): the larger of the apparent age (receipt time minus
     * Date) and the Age received plus the time the request took.
     */
    static long correctedInitialAgeMillis(long ageValueSeconds, long dateValue, long requestTime, long responseTime) {
        long apparentAge = Math.max(0, responseTime - dateValue);
        long responseDelay = Math.max(0, responseTime - requestTime);
        long correctedAgeValue = Math.min(INFINITY_MILLIS, ageValueSeconds * 1000 + responseDelay);
        return Math.max(apparentAge, correctedAgeValue);
    }

    /** The current age (§4.2.3): corrected initial age plus the time resident in this cache. */
    static long currentAgeMillis(long correctedInitialAge, long responseTime, long now) {
        return Math.min(INFINITY_MILLIS, correctedInitialAge + Math.max(0, now - responseTime));
    }

    /** The Age field value for an age (§5.1): whole seconds, at most 2^31. */
    static long ageHeaderSeconds(long ageMillis) {
        return Math.min(CacheControl.DELTA_INFINITY, ageMillis / 1000);
    }
}
