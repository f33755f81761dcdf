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
 */
public record FrontEndNode(String name, String listen, String publicAddress, String admin, String region,
                           Integer capacity, List<String> sites, List<String> backEnds, CacheSettings cache) {

    public static final int DEFAULT_CAPACITY = 10_000;

    public FrontEndNode(String name, String listen, String publicAddress, String admin, String region,
                        Integer capacity, List<String> sites, List<String> backEnds) {
        this(name, listen, publicAddress, admin, region, capacity, sites, backEnds, null);
    }

    public FrontEndNode {
        cache = cache == null ? CacheSettings.DEFAULT : cache;
        listen = listen == null ? "0.0.0.0:8080" : listen;
        admin = admin == null ? "0.0.0.0:8081" : admin;
        region = region == null ? "default" : region;
        capacity = capacity == null ? DEFAULT_CAPACITY : capacity;
        sites = sites == null ? List.of() : List.copyOf(sites);
        backEnds = backEnds == null ? List.of() : List.copyOf(backEnds);
    }
}
