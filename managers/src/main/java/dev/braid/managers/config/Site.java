package dev.braid.managers.config;

import java.util.List;

/**
 * A customer site: the host names Braid answers for, and its redundant origin servers.
 *
 * @param dnsTtlSeconds TTL of the redirector's answers for this site's names, in seconds (default 20)
 * @param tls           the certificate front-ends present for the site's names over HTTPS, or null
 */
public record Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins,
                   CertificateFiles tls) {

    public static final int DEFAULT_DNS_TTL_SECONDS = 20;

    public Site {
        hostnames = hostnames == null ? List.of() : List.copyOf(hostnames);
        origins = origins == null ? List.of() : List.copyOf(origins);
        dnsTtlSeconds = dnsTtlSeconds == null ? DEFAULT_DNS_TTL_SECONDS : dnsTtlSeconds;
    }

    /** A site served over plain HTTP only. */
    public Site(String name, List<String> hostnames, Integer dnsTtlSeconds, List<Origin> origins) {
        this(name, hostnames, dnsTtlSeconds, origins, null);
    }
}
