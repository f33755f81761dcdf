package dev.braid.backend;

import dev.braid.runtime.Metrics;

/** The back-end's metrics, named after events; gauges of live state are registered by {@link BackEnd}. */
final class BackEndMetrics {

    private final Metrics.Counter streams;
    private final Metrics.Counter responses;
    private final Metrics.Counter requests;
    private final Metrics.Counter originErrors;
    private final Metrics.Counter retries;
    private final Metrics.Counter queueRefused;
    private final Metrics.Counter ejections;
    private final Metrics.Counter probes;
    private final Metrics.Counter responseBytes;
    private final Metrics.Histogram latency;

    BackEndMetrics(Metrics metrics) {
        streams = metrics.counter("braid_backend_streams_total", "TMP streams accepted, by client class", "class");
        responses = metrics.counter("braid_backend_responses_total",
                "Responses sent back over TMP, by origin (none for the back-end's own) and status", "origin", "status");
        requests = metrics.counter("braid_backend_origin_requests_total",
                "Requests sent to an origin (retries included), by site, origin and request type", "site", "origin", "type");
        originErrors = metrics.counter("braid_backend_origin_errors_total",
                "Origin failures: connect (or TLS), reset before or during the response, timeout (no response head in time)",
                "site", "origin", "reason");
        retries = metrics.counter("braid_backend_retries_total",
                "Requests placed again on another origin, by site and why (connect, reset)", "site", "reason");
        queueRefused = metrics.counter("braid_backend_queue_refused_total",
                "Requests answered 503 by the wait queue, by site and why (full, timeout)", "site", "reason");
        ejections = metrics.counter("braid_backend_origin_ejections_total",
                "Times an origin was taken out of rotation as unhealthy", "site", "origin");
        probes = metrics.counter("braid_backend_origin_probes_total",
                "Active health probes, by site, origin and result (ok, failed)", "site", "origin", "result");
        responseBytes = metrics.counter("braid_backend_origin_response_bytes_total",
                "Response body bytes read from origins", "site", "origin");
        latency = metrics.histogram("braid_backend_origin_latency_seconds",
                "Time from the request head leaving for the origin to the end of its response", Metrics.LATENCY_SECONDS,
                "site", "origin");
    }

    void stream(String clientClass) {
        streams.inc(clientClass);
    }

    void responses(String origin, int status) {
        responses.inc(origin, Integer.toString(status));
    }

    void request(String site, String origin, String type) {
        requests.inc(site, origin, type);
    }

    void originError(String site, String origin, String reason) {
        originErrors.inc(site, origin, reason);
    }

    void retry(String site, String reason) {
        retries.inc(site, reason);
    }

    void queueRefused(String site, String reason) {
        queueRefused.inc(site, reason);
    }

    void ejected(String site, String origin) {
        ejections.inc(site, origin);
    }

    void probe(String site, String origin, boolean ok) {
        probes.inc(site, origin, ok ? "ok" : "failed");
    }

    void responseBytes(String site, String origin, long n) {
        responseBytes.add(n, site, origin);
    }

    long responseBytes(String site, String origin) {
        return responseBytes.value(site, origin);
    }

    long requests(String site, String origin, String type) {
        return requests.value(site, origin, type);
    }

    long errors(String site, String origin, String reason) {
        return originErrors.value(site, origin, reason);
    }

    long ejections(String site, String origin) {
        return ejections.value(site, origin);
    }

    void latency(String site, String origin, long nanos) {
        latency.observe(nanos / 1e9, site, origin);
    }

    Metrics.Histogram.Child latency(String site, String origin) {
        return latency.labels(site, origin);
    }
}
