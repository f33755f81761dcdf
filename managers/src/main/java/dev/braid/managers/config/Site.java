package dev.braid.managers.config;

import java.util.List;

/**
 * A customer site: the host names Braid answers for, its redundant origin servers, how its
 * requests are typed, how requests wait when every origin is busy, and what caches may do.
 *
 * @param dnsTtlSeconds TTL of the redirector's answers for this site's names, in seconds (default 20)
 * @param requestTypes  request types, tried in order; the first whose rules match wins, and a
 *                      request no rule matches gets the last type (default {@link RequestType#DEFAULTS})
 * @param queue         the wait queue for requests when every origin is at its high water mark
 * @param cache         what the front-ends' caches may do with the site's responses (default: all defaults)
 */
public record Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins,
                   List<RequestType> requestTypes, QueueSettings queue, SiteCachePolicy cache) {

    public static final int DEFAULT_DNS_TTL_SECONDS = 20;

    public Site {
        hostnames = hostnames == null ? List.of() : List.copyOf(hostnames);
        origins = origins == null ? List.of() : List.copyOf(origins);
        dnsTtlSeconds = dnsTtlSeconds == null ? DEFAULT_DNS_TTL_SECONDS : dnsTtlSeconds;
        requestTypes = requestTypes == null ? RequestType.DEFAULTS : List.copyOf(requestTypes);
        queue = queue == null ? QueueSettings.DEFAULT : queue;
        cache = cache == null ? SiteCachePolicy.DEFAULT : cache;
    }

    /** A site with the default request types, queue and cache policy. */
    public Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins) {
        this(name, hostnames, dnsTtlSeconds, origins, null, null, null);
    }

    /** A site with the default request types and queue. */
    public Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins,
                SiteCachePolicy cache) {
        this(name, hostnames, dnsTtlSeconds, origins, null, null, cache);
    }

    /** A site with the default cache policy. */
    public Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins,
                List<RequestType> requestTypes, QueueSettings queue) {
        this(name, hostnames, dnsTtlSeconds, origins, requestTypes, queue, null);
    }

    /** The origin named {@code name}, or null. */
    public Origin origin(String name) {
        return origins.stream().filter(o -> o.name().equals(name)).findFirst().orElse(null);
    }

    /** The request type named {@code name}, or null. */
    public RequestType requestType(String name) {
        return requestTypes.stream().filter(t -> t.name().equals(name)).findFirst().orElse(null);
    }
}
