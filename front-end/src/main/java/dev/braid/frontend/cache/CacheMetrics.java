package dev.braid.frontend.cache;

import dev.braid.runtime.Metrics;

/** The cache's metrics, named after events. */
final class CacheMetrics {

    private final Metrics.Counter requests;
    private final Metrics.Counter evictions;
    private final Metrics.Counter purged;
    private final Metrics.Counter refreshes;
    private final Metrics.Counter collapsed;
    private final Metrics.Counter purgedInFlight;

    CacheMetrics(Metrics metrics) {
        requests = metrics.counter("braid_frontend_cache_requests_total",
                "Requests by what the cache did: hit, miss, stale, revalidated or bypass", "result");
        evictions = metrics.counter("braid_frontend_cache_evictions_total",
                "Stored URLs evicted to keep the cache within its byte budget");
        purged = metrics.counter("braid_frontend_cache_purged_total",
                "Stored responses removed through the purge API");
        refreshes = metrics.counter("braid_frontend_cache_refreshes_total",
                "Background validations of hot responses started shortly before they expire");
        collapsed = metrics.counter("braid_frontend_cache_collapsed_total",
                "Requests that waited for another request's fetch of the same URL instead of fetching it");
        purgedInFlight = metrics.counter("braid_frontend_cache_fills_purged_total",
                "Fetched responses not stored because a purge or invalidation matched them while they were in flight");
    }

    void request(CacheResult result) {
        requests.inc(result.label());
    }

    void evicted() {
        evictions.inc();
    }

    void purged(long n) {
        purged.add(n);
    }

    void purgedInFlight() {
        purgedInFlight.inc();
    }

    void refreshed() {
        refreshes.inc();
    }

    void collapsed() {
        collapsed.inc();
    }

    long requests(CacheResult result) {
        return requests.value(result.label());
    }
}
