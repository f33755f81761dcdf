package dev.braid.managers.config;

import java.util.List;

/**
 * One origin server of a site, and how the back-end reaches it.
 *
 * @param name                  names the origin in logs and metrics (default: its URL)
 * @param url                   {@code http://host:port} or {@code https://host:port} of the origin
 * @param role                  {@code primary} or {@code mirror} (default primary)
 * @param freshnessRank         0 is the freshest; mirrors that lag behind have higher ranks (default 0)
 * @param maxInFlight           high water mark of requests in flight to this origin (default 64)
 * @param weight                capacity relative to the site's other origins: load in flight is
 *                              divided by it when mirrors are compared (default 1)
 * @param types                 names of the site's request types this origin can serve; empty
 *                              means every type (default)
 * @param maxConnections        open connections to this origin, idle ones included, across the
 *                              whole back-end (default: maxInFlight)
 * @param connectTimeoutMillis  connection set-up limit, in milliseconds (default 2000)
 * @param responseTimeoutMillis limit on the wait for the response head once the request is sent,
 *                              in milliseconds (default 30000)
 * @param tlsRoots              for https: a PEM file of the root certificates the origin's chain
 *                              must lead to (default: the JDK's trust store)
 * @param health                how the origin's health is checked (default: passive signals only)
 */
public record Origin(String name, String url, String role, Integer freshnessRank, Integer maxInFlight,
                     Integer weight, List<String> types, Integer maxConnections, Integer connectTimeoutMillis,
                     Integer responseTimeoutMillis, String tlsRoots, HealthCheck health) {

    public static final int DEFAULT_MAX_IN_FLIGHT = 64;
    public static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 2000;
    public static final int DEFAULT_RESPONSE_TIMEOUT_MILLIS = 30_000;

    public Origin {
        name = name == null ? url : name;
        role = role == null ? "primary" : role;
        freshnessRank = freshnessRank == null ? 0 : freshnessRank;
        maxInFlight = maxInFlight == null ? DEFAULT_MAX_IN_FLIGHT : maxInFlight;
        weight = weight == null ? 1 : weight;
        types = types == null ? List.of() : List.copyOf(types);
        maxConnections = maxConnections == null ? maxInFlight : maxConnections;
        connectTimeoutMillis = connectTimeoutMillis == null ? DEFAULT_CONNECT_TIMEOUT_MILLIS : connectTimeoutMillis;
        responseTimeoutMillis = responseTimeoutMillis == null ? DEFAULT_RESPONSE_TIMEOUT_MILLIS : responseTimeoutMillis;
        health = health == null ? HealthCheck.DEFAULT : health;
    }

    /** An origin with default weight, types, connections, timeouts, TLS roots and health checks. */
    public Origin(String name, String url, String role, Integer freshnessRank, Integer maxInFlight) {
        this(name, url, role, freshnessRank, maxInFlight, null, null, null, null, null, null, null);
    }

    /** Whether this origin serves requests of the type named {@code type}. */
    public boolean serves(String type) {
        return types.isEmpty() || types.contains(type);
    }
}
