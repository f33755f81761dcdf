package dev.braid.frontend;

import dev.braid.runtime.Metrics;

/** The front-end's metrics, named after events. */
final class FrontEndMetrics {

    private final Metrics.Counter requests;
    private final Metrics.Counter rejected;
    private final Metrics.Histogram duration;
    private final Metrics.Counter bytesOut;
    private final Metrics.Counter bytesIn;
    private final Metrics.Counter shed;
    private final Metrics.Counter overloaded;
    private final Metrics.Counter linkLost;

    FrontEndMetrics(Metrics metrics) {
        requests = metrics.counter("braid_frontend_requests_total",
                "Requests answered, by client class, cache status and response status", "class", "cache", "status");
        rejected = metrics.counter("braid_frontend_bad_requests_total",
                "Requests refused before forwarding, by status", "status");
        duration = metrics.histogram("braid_frontend_request_duration_seconds",
                "Time from request head to the end of the response, by client class", Metrics.LATENCY_SECONDS, "class");
        bytesOut = metrics.counter("braid_frontend_response_body_bytes_total",
                "Response bytes sent to clients, by client class", "class");
        bytesIn = metrics.counter("braid_frontend_request_body_bytes_total",
                "Request body bytes received from clients and forwarded, by client class", "class");
        shed = metrics.counter("braid_frontend_shed_requests_total",
                "Requests refused with 503 because their client class was at its bound, by class", "class");
        overloaded = metrics.counter("braid_frontend_overloaded_connections_total",
                "Connections refused (503 or redirect) because the front-end was at its capacity");
        linkLost = metrics.counter("braid_frontend_link_lost_requests_total",
                "Requests in flight when their TMP link died, by back-end and outcome (replayed or failed with 502)",
                "backend", "outcome");
    }

    void shed(String clientClass) {
        shed.inc(clientClass);
    }

    void replayed(String backEnd, boolean replayed) {
        linkLost.inc(backEnd, replayed ? "replayed" : "failed");
    }

    void overloaded() {
        overloaded.inc();
    }

    void answered(String clientClass, String cache, int status, long nanos) {
        requests.inc(clientClass, cache, Integer.toString(status));
        duration.observe(nanos / 1e9, clientClass);
    }

    void rejected(int status) {
        rejected.inc(Integer.toString(status));
    }

    void bodyIn(String clientClass, long n) {
        if (n > 0) {
            bytesIn.add(n, clientClass);
        }
    }

    void bytes(String clientClass, long n) {
        bytesOut.add(n, clientClass);
    }
}
