package dev.braid.backend;

import dev.braid.managers.config.HealthCheck;
import org.junit.jupiter.api.Test;

import static dev.braid.backend.OriginHealth.Change.EJECTED;
import static dev.braid.backend.OriginHealth.Change.NONE;
import static dev.braid.backend.OriginHealth.Change.RETURNED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ejection and return with hysteresis, in virtual time. */
class OriginHealthTest {

    private static final long S = 1_000_000_000L;

    private static HealthCheck probes(int rise, int fall) {
        return new HealthCheck("/health", 1000, 500, rise, fall, 0.5, 4, 10_000);
    }

    @Test
    void fallFailuresInARowEjectAndAGoodResponseBreaksTheRun() {
        OriginHealth h = new OriginHealth(probes(2, 3));
        assertEquals(NONE, h.failed("connection refused", 0));
        assertEquals(NONE, h.failed("connection refused", 0));
        assertEquals(NONE, h.response(200, 0));
        assertEquals(NONE, h.failed("reset", 0));
        assertEquals(NONE, h.probe(false, "timeout", 0));
        assertTrue(h.available(0));
        assertEquals(EJECTED, h.failed("reset", 0));
        assertFalse(h.available(0));
        assertTrue(h.reason().startsWith("3 failures in a row, the last: reset"), h.reason());
    }

    /** The last available origin: passive signals keep it, as nginx does a lone server; a failed probe does not. */
    @Test
    void passiveSignalsNeverEjectTheLastAvailableOrigin() {
        OriginHealth h = new OriginHealth(probes(2, 3));
        assertEquals(NONE, h.failed("origin closed the connection", 0, false));
        assertEquals(NONE, h.failed("origin closed the connection", 0, false));
        assertEquals(OriginHealth.Change.KEPT, h.failed("origin closed the connection", 0, false));
        assertTrue(h.available(0), "still takes requests");
        assertTrue(h.reason().startsWith("kept as the last available origin despite 3 failures in a row"), h.reason());
        for (int i = 0; i < 3; i++) {
            assertEquals(NONE, h.response(503, 0, false));
        }
        assertEquals(OriginHealth.Change.KEPT, h.response(503, 0, false), "4 of 4 responses 5xx: kept again");
        assertTrue(h.available(0));
        // With a sibling available the same signals eject it.
        h.failed("reset", 0, true);
        h.failed("reset", 0, true);
        assertEquals(EJECTED, h.failed("reset", 0, true));
        // Probes test the origin itself: they eject even the last one.
        OriginHealth alone = new OriginHealth(probes(2, 1));
        assertEquals(EJECTED, alone.probe(false, "connection refused", 0));
    }

    @Test
    void withProbesRiseGoodProbesInARowBringItBack() {
        OriginHealth h = new OriginHealth(probes(2, 1));
        assertEquals(EJECTED, h.probe(false, "503", 0));
        assertEquals(NONE, h.probe(true, "200", S));
        assertEquals(NONE, h.probe(false, "503", 2 * S), "a failure while out resets the rise count");
        assertEquals(NONE, h.probe(true, "200", 3 * S));
        assertFalse(h.available(100 * S), "with probes, time alone does not bring it back");
        assertEquals(RETURNED, h.probe(true, "200", 4 * S));
        assertTrue(h.available(4 * S));
        assertEquals("healthy", h.reason());
    }

    @Test
    void withoutProbesItReturnsAfterTheEjectionTime() {
        OriginHealth h = new OriginHealth(new HealthCheck(null, null, null, null, 2, null, null, 5000));
        h.failed("refused", 0);
        assertEquals(EJECTED, h.failed("refused", S));
        assertFalse(h.available(S + 4 * S));
        assertTrue(h.available(S + 5 * S));
        assertEquals(RETURNED, h.settle(S + 5 * S));
        assertEquals(NONE, h.failed("refused", 7 * S), "on probation the count starts afresh");
        assertEquals(EJECTED, h.failed("refused", 7 * S));
    }

    @Test
    void aHighShareOf5xxEjectsOnceTheWindowIsFull() {
        OriginHealth h = new OriginHealth(probes(1, 100));
        assertEquals(NONE, h.response(500, 0));
        assertEquals(NONE, h.response(502, 0));
        assertEquals(NONE, h.response(200, 0));
        assertEquals(EJECTED, h.response(200, 0), "2 of the last 4 is the 0.5 ratio");
        assertEquals("2 of the last 4 responses were 5xx", h.reason());
        assertEquals(RETURNED, h.probe(true, "200", S));
        assertEquals(NONE, h.response(503, S), "the window starts empty after a return");
        assertEquals(NONE, h.response(200, S));
        assertEquals(NONE, h.response(200, S));
        assertEquals(NONE, h.response(200, S));
        assertEquals(NONE, h.response(500, S), "1 of the last 4 is below the ratio");
    }

    @Test
    void settingsChangeKeepsTheState() {
        OriginHealth h = new OriginHealth(probes(1, 1));
        assertEquals(EJECTED, h.failed("refused", 0));
        h.update(new HealthCheck(null, null, null, null, null, null, 8, 1000));
        assertFalse(h.probing());
        assertFalse(h.available(9 * S));
        assertTrue(h.available(10 * S), "without probes now, the ejection time set when it was ejected applies");
    }
}
