package dev.braid.frontend.cache;

import java.util.Locale;

/**
 * What the cache did for one request: the {@code result} label of
 * {@code braid_frontend_cache_requests_total} and, through {@link #xCache()} and
 * {@link #detail()}, the {@code X-Cache} and {@code X-Cache-Detail} response fields.
 */
public enum CacheResult {
    /** Served from a stored response without contacting the back-end (or from another request's fetch). */
    HIT("HIT"),
    /** Served from a stored response that is stale, as stale-while-revalidate, stale-if-error or max-stale allow. */
    STALE("HIT"),
    /** Served from a stored response after the back-end confirmed it with a 304. */
    REVALIDATED("HIT"),
    /** Looked up, not usable: the request went to the back-end. */
    MISS("MISS"),
    /** The cache was not consulted (method, request body, preconditions for the origin, caching off). */
    BYPASS("BYPASS");

    private final String xCache;

    CacheResult(String xCache) {
        this.xCache = xCache;
    }

    public String xCache() {
        return xCache;
    }

    /** The X-Cache-Detail value, or null where X-Cache says it all. */
    public String detail() {
        return this == STALE || this == REVALIDATED ? name() : null;
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
