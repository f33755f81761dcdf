package dev.braid.managers.config;

import java.util.List;

/**
 * Where a cluster of managers keeps its state: an etcd cluster reached through its v3 JSON
 * gateway. No endpoints (the default) means a single managers process with a local state file.
 *
 * @param endpoints    etcd client URLs, {@code http://host:port}; tried in order
 * @param prefix       key prefix for everything the managers store (default {@code /braid})
 * @param leaseSeconds TTL of the leader's lease, in seconds: a leader that dies is replaced within
 *                     about this long (default 5)
 */
public record EtcdSettings(List<String> endpoints, String prefix, Integer leaseSeconds) {

    public static final EtcdSettings DEFAULT = new EtcdSettings(null, null, null);

    public EtcdSettings {
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        prefix = prefix == null ? "/braid" : prefix;
        leaseSeconds = leaseSeconds == null ? 5 : leaseSeconds;
    }

    public boolean enabled() {
        return !endpoints.isEmpty();
    }
}
