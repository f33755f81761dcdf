package dev.braid.managers.config;

import java.util.List;

/**
 * A customer site: the host names Braid answers for, and its redundant origin servers.
 *
 * @param dnsTtlSeconds TTL of the redirector's answers for this site's names, in seconds (default 20)
 * @param cache         what the front-ends' caches may do with the site's responses (default: all defaults)
 */
public record Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins,
                   SiteCachePolicy cache) {

    public static final int DEFAULT_DNS_TTL_SECONDS = 20;

    public Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins) {
        this(name, hostnames, dnsTtlSeconds, origins, null);
    }

    public Site {
        cache = cache == null ? SiteCachePolicy.DEFAULT : cache;
        hostnames = hostnames == null ? List.of() : List.copyOf(hostnames);
        origins = origins == null ? List.of() : List.copyOf(origins);
        dnsTtlSeconds = dnsTtlSeconds == null ? DEFAULT_DNS_TTL_SECONDS : dnsTtlSeconds;
    }
}
