package dev.braid.backend;

import dev.braid.managers.config.HealthCheck;
import dev.braid.managers.config.Origin;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;

import static dev.braid.backend.TestFrontEnd.await;
import static dev.braid.backend.TestFrontEnd.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ejection and return over real sockets: by active probes, and by connection failures of a killed origin. */
@ExtendWith(PooledMemoryBaseline.class)
class HealthIT {

    private static Origin origin(String name, TestOrigin o, String role, int rank, HealthCheck health) {
        return new Origin(name, o.url(), role, rank, 8, null, null, null, 500, null, null, health);
    }

    @Test
    void failingProbesEjectTheFreshestAndPassingOnesBringItBack() throws Exception {
        try (Rig rig = new Rig()) {
            TestOrigin primary = rig.origin("primary");
            TestOrigin lagging = rig.origin("lagging");
            TestOrigin slow = rig.origin("slow");
            HealthCheck probes = new HealthCheck("/health", 50, 200, 2, 2, null, null, null);
            rig.start(Rig.config(List.of(origin("primary", primary, "primary", 0, probes),
                    origin("lagging", lagging, "mirror", 1, probes), origin("slow", slow, "mirror", 2, probes)), null));
            assertEquals("primary", rig.frontEnd.call(get("/a"), 2).origin());

            primary.healthStatus = 503;
            await(() -> !rig.stats("primary").healthy(), Duration.ofSeconds(5), "the primary's ejection");
            assertTrue(rig.stats("primary").healthReason().startsWith("2 failures in a row, the last: probe failed: status 503"),
                    rig.stats("primary").healthReason());
            assertEquals("lagging", rig.frontEnd.call(get("/b"), 2).origin(), "the next freshest leads");
            assertTrue(rig.metrics.scrape().contains("braid_backend_origin_healthy{site=\"shop\",origin=\"primary\"} 0"));

            primary.healthStatus = 200;
            await(() -> rig.stats("primary").healthy(), Duration.ofSeconds(5), "the primary's return");
            assertEquals("primary", rig.frontEnd.call(get("/c"), 2).origin());
            assertEquals(1, rig.stats("primary").ejections());
            assertTrue(primary.healthChecks.get() >= 4);
        }
    }

    @Test
    void aKilledOriginIsEjectedOnConnectionFailuresAndReturnsAfterTheEjectionTime() throws Exception {
        try (Rig rig = new Rig()) {
            TestOrigin primary = rig.origin("primary");
            TestOrigin lagging = rig.origin("lagging");
            TestOrigin slow = rig.origin("slow");
            HealthCheck passive = new HealthCheck(null, null, null, null, 2, null, null, 1500);
            rig.start(Rig.config(List.of(origin("primary", primary, "primary", 0, passive),
                    origin("lagging", lagging, "mirror", 1, passive), origin("slow", slow, "mirror", 2, passive)), null));
            assertEquals("primary", rig.frontEnd.call(get("/warm"), 2).origin());

            primary.kill();
            // Each GET fails to connect to the primary, and is sent once more, to the next origin.
            for (int i = 0; i < 2; i++) {
                TestFrontEnd.Reply r = rig.frontEnd.call(get("/during-" + i), 2);
                assertEquals(200, r.status(), r.body());
                assertEquals("lagging", r.origin());
            }
            assertFalse(rig.stats("primary").healthy(), "two failures in a row eject it");
            int lagBefore = lagging.arrivals.size();
            assertEquals("lagging", rig.frontEnd.call(get("/ejected"), 2).origin());
            assertEquals(lagBefore + 1, lagging.arrivals.size());
            assertTrue(rig.stats("primary").errors() >= 2);
            assertTrue(rig.metrics.scrape().contains("braid_backend_retries_total{site=\"shop\",reason=\"connect\"}"));

            primary.restart();
            await(() -> {
                try {
                    return "primary".equals(rig.frontEnd.call(get("/back"), 2).origin());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, Duration.ofSeconds(5), "the primary to take requests again");
            assertTrue(rig.stats("primary").healthy());
        }
    }
}
