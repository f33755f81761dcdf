package dev.braid.managers.config;

/**
 * What a site allows the front-ends' caches to do with its responses (the {@code sites[].cache}
 * section). Responses say for themselves how long they stay fresh (RFC 9111); these settings only
 * switch caching off for a site and bound the heuristic freshness of responses that say nothing.
 *
 * @param enabled              whether responses of this site are cached (default true)
 * @param heuristicPercent     heuristic freshness of a response without explicit expiry, as a percentage of
 *                             the time since its Last-Modified date (RFC 9111 §4.2.2; default 10; 0 for none)
 * @param maxHeuristicSeconds  upper bound of a heuristic freshness lifetime, in seconds (default 86400)
 */
public record SiteCachePolicy(Boolean enabled, Integer heuristicPercent, Integer maxHeuristicSeconds) {

    public static final int DEFAULT_HEURISTIC_PERCENT = 10;
    public static final int DEFAULT_MAX_HEURISTIC_SECONDS = 86_400;

    public static final SiteCachePolicy DEFAULT = new SiteCachePolicy(null, null, null);

    public SiteCachePolicy {
        enabled = enabled == null ? Boolean.TRUE : enabled;
        heuristicPercent = heuristicPercent == null ? DEFAULT_HEURISTIC_PERCENT : heuristicPercent;
        maxHeuristicSeconds = maxHeuristicSeconds == null ? DEFAULT_MAX_HEURISTIC_SECONDS : maxHeuristicSeconds;
    }
}
