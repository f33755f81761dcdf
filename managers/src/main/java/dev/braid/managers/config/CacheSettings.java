package dev.braid.managers.config;

/**
 * A front-end's shared HTTP cache: its memory and the size of what it keeps (the
 * {@code frontEnds[].cache} section). What each site allows is in {@link SiteCachePolicy}.
 *
 * @param enabled             whether the front-end caches at all (default true)
 * @param maxBytes            the byte budget of stored responses, bodies and headers, in bytes (default 256 MiB)
 * @param maxObjectBytes      the largest response body stored, in bytes (default 8 MiB); larger responses
 *                            are streamed to the client without being stored
 * @param refreshMinHits      hits within its freshness lifetime that make a stored response hot, so that it
 *                            is refreshed in the background shortly before it expires; 0 turns proactive
 *                            refresh off (default 10)
 * @param refreshAheadSeconds how long before expiry a hot response is refreshed, in seconds (default 10;
 *                            at most half of the response's freshness lifetime is used)
 */
public record CacheSettings(Boolean enabled, Long maxBytes, Long maxObjectBytes, Integer refreshMinHits,
                            Integer refreshAheadSeconds) {

    public static final long DEFAULT_MAX_BYTES = 256L * 1024 * 1024;
    public static final long DEFAULT_MAX_OBJECT_BYTES = 8L * 1024 * 1024;
    public static final int DEFAULT_REFRESH_MIN_HITS = 10;
    public static final int DEFAULT_REFRESH_AHEAD_SECONDS = 10;

    public static final CacheSettings DEFAULT = new CacheSettings(null, null, null, null, null);

    public CacheSettings {
        enabled = enabled == null ? Boolean.TRUE : enabled;
        maxBytes = maxBytes == null ? DEFAULT_MAX_BYTES : maxBytes;
        maxObjectBytes = maxObjectBytes == null ? DEFAULT_MAX_OBJECT_BYTES : maxObjectBytes;
        refreshMinHits = refreshMinHits == null ? DEFAULT_REFRESH_MIN_HITS : refreshMinHits;
        refreshAheadSeconds = refreshAheadSeconds == null ? DEFAULT_REFRESH_AHEAD_SECONDS : refreshAheadSeconds;
    }
}
