package dev.braid.managers.config;

/**
 * One origin server of a site.
 *
 * @param name          names the origin in logs and metrics (default: its URL)
 * @param url           {@code http://host:port} (or https) of the origin
 * @param role          {@code primary} or {@code mirror} (default primary)
 * @param freshnessRank 0 is the freshest; mirrors that lag behind have higher ranks (default 0)
 * @param maxInFlight   high water mark of requests in flight to this origin (default 64)
 */
public record Origin(String name, String url, String role, Integer freshnessRank, Integer maxInFlight) {

    public static final int DEFAULT_MAX_IN_FLIGHT = 64;

    public Origin {
        name = name == null ? url : name;
        role = role == null ? "primary" : role;
        freshnessRank = freshnessRank == null ? 0 : freshnessRank;
        maxInFlight = maxInFlight == null ? DEFAULT_MAX_IN_FLIGHT : maxInFlight;
    }
}
