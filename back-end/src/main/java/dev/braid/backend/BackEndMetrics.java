package dev.braid.backend;

import dev.braid.runtime.Metrics;

/** The back-end's metrics, named after events. */
final class BackEndMetrics {

    private final Metrics.Counter streams;
    private final Metrics.Counter responses;
    private final Metrics.Counter originErrors;
    private final Metrics.Histogram latency;

    BackEndMetrics(Metrics metrics) {
        streams = metrics.counter("braid_backend_streams_total", "TMP streams accepted, by client class", "class");
        responses = metrics.counter("braid_backend_responses_total", "Responses sent back over TMP, by origin and status",
                "origin", "status");
        originErrors = metrics.counter("braid_backend_origin_errors_total",
                "Origin connections that failed or broke mid-exchange", "origin");
        latency = metrics.histogram("braid_backend_origin_latency_seconds",
                "Time from request head to the end of the origin's response", Metrics.LATENCY_SECONDS, "origin");
    }

    void stream(String clientClass) {
        streams.inc(clientClass);
    }

    void responses(String origin, int status) {
        responses.inc(origin, Integer.toString(status));
    }

    void originError(String origin) {
        originErrors.inc(origin);
    }

    void latency(String origin, long nanos) {
        latency.observe(nanos / 1e9, origin);
    }
}
