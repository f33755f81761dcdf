package dev.braid.managers.config;

import java.util.List;

/**
 * A front-end gateway.
 *
 * @param listen        address its HTTP server binds, {@code host:port} (default 0.0.0.0:8080)
 * @param publicAddress the IP address the redirector hands to clients for this front-end
 * @param admin         admin endpoint ({@code /metrics}, health), {@code host:port} (default 0.0.0.0:8081)
 * @param region        the region it serves (matched against the prefix table)
 * @param capacity      concurrent client connections it is sized for (default 10000)
 * @param sites         names of the sites assigned to it
 * @param backEnds      names of the back-ends it keeps TMP links to
 * @param cache         its shared HTTP cache (default: all defaults)
 * @param limits        what it accepts from one client: sizes, timeouts, per-class bounds (default: all defaults)
 * @param siblingUrl    where a client is redirected (307) when this front-end is at {@code capacity}, an
 *                      {@code http://} or {@code https://} URL without path, or null to answer 503
 * @param proxyProtocolFrom the load balancers in front whose connections start with a PROXY protocol v2
 *                      header, as CIDR blocks ({@code 10.0.0.0/8}); a PROXY header from anywhere else is refused
 * @param https         its HTTPS listener, or null for none
 */
public record FrontEndNode(String name, String listen, String publicAddress, String admin, String region,
                           Integer capacity, List<String> sites, List<String> backEnds, CacheSettings cache,
                           GatewayLimits limits, String siblingUrl, List<String> proxyProtocolFrom,
                           HttpsSettings https) {

    public static final int DEFAULT_CAPACITY = 10_000;

    public FrontEndNode {
        cache = cache == null ? CacheSettings.DEFAULT : cache;
        limits = limits == null ? GatewayLimits.DEFAULT : limits;
        proxyProtocolFrom = proxyProtocolFrom == null ? List.of() : List.copyOf(proxyProtocolFrom);
        listen = listen == null ? "0.0.0.0:8080" : listen;
        admin = admin == null ? "0.0.0.0:8081" : admin;
        region = region == null ? "default" : region;
        capacity = capacity == null ? DEFAULT_CAPACITY : capacity;
        sites = sites == null ? List.of() : List.copyOf(sites);
        backEnds = backEnds == null ? List.of() : List.copyOf(backEnds);
    }

    /** A front-end with default cache and limits and no HTTPS listener. */
    public FrontEndNode(String name, String listen, String publicAddress, String admin, String region,
                        Integer capacity, List<String> sites, List<String> backEnds) {
        this(name, listen, publicAddress, admin, region, capacity, sites, backEnds, null, null, null, null, null);
    }

    /** A front-end with default limits and no HTTPS listener. */
    public FrontEndNode(String name, String listen, String publicAddress, String admin, String region,
                        Integer capacity, List<String> sites, List<String> backEnds, CacheSettings cache) {
        this(name, listen, publicAddress, admin, region, capacity, sites, backEnds, cache, null, null, null, null);
    }

    /** A front-end with default cache and limits. */
    public FrontEndNode(String name, String listen, String publicAddress, String admin, String region,
                        Integer capacity, List<String> sites, List<String> backEnds, HttpsSettings https) {
        this(name, listen, publicAddress, admin, region, capacity, sites, backEnds, null, null, null, null, https);
    }

    /** A front-end without an HTTPS listener. */
    public FrontEndNode(String name, String listen, String publicAddress, String admin, String region,
                        Integer capacity, List<String> sites, List<String> backEnds, CacheSettings cache,
                        GatewayLimits limits, String siblingUrl, List<String> proxyProtocolFrom) {
        this(name, listen, publicAddress, admin, region, capacity, sites, backEnds, cache, limits, siblingUrl,
                proxyProtocolFrom, null);
    }
}
