package dev.braid.managers.node;

import dev.braid.runtime.Metrics;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading back what {@link Metrics#scrape()} writes, as node reports do. */
class MetricsTextTest {

    @Test
    void readsCountersGaugesAndHistogramsAsScraped() {
        Metrics metrics = new Metrics();
        Metrics.Counter requests = metrics.counter("braid_frontend_requests_total", "x", "class", "cache", "status");
        requests.add(3, "gold", "miss", "200");
        requests.add(4, "standard", "miss", "200");
        requests.add(1, "standard", "hit", "404");
        metrics.gauge("braid_frontend_client_connections", "x", () -> 12);
        Metrics.Histogram latency = metrics.histogram("braid_frontend_request_duration_seconds", "x",
                Metrics.LATENCY_SECONDS, "class");
        latency.observe(0.010, "gold");
        latency.observe(0.030, "gold");
        Metrics.Counter odd = metrics.counter("odd_total", "x", "peer");
        odd.inc("a \"quoted\" \\ peer");

        MetricsText m = MetricsText.parse(metrics.scrape());
        assertEquals(8, m.sum("braid_frontend_requests_total"));
        assertEquals(Map.of("gold", 3.0, "standard", 5.0), m.sumBy("braid_frontend_requests_total", "class"));
        assertEquals(12, m.sum("braid_frontend_client_connections"));
        assertEquals(2, m.sumBy("braid_frontend_request_duration_seconds_count", "class").get("gold"));
        assertEquals(0.040, m.sumBy("braid_frontend_request_duration_seconds_sum", "class").get("gold"), 1e-9);
        assertEquals(Map.of("a \"quoted\" \\ peer", 1.0), m.sumBy("odd_total", "peer"));
        assertTrue(m.has("odd_total"));
        assertFalse(m.has("braid_link_rtt_seconds"));
    }

    @Test
    void skipsWhatItCannotRead() {
        MetricsText m = MetricsText.parse("# HELP a x\nok 1\nbroken{a=\"x} 2\nnan_value abc\n{a=\"b\"} 3\nlast 2.5e3\n");
        assertEquals(1, m.sum("ok"));
        assertEquals(2500, m.sum("last"));
        assertEquals(2, m.samples().size());
    }
}
