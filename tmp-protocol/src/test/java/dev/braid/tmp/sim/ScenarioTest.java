package dev.braid.tmp.sim;

import dev.braid.tmp.sim.TestEndpoints.Paced;
import dev.braid.tmp.sim.TestEndpoints.Sink;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scenario runner on small paths (PARANOID leak detection throughout). */
class ScenarioTest {

    private static final PathConfig SMALL = PathConfig.builder().rateMbps(2).delay(Duration.ofMillis(20)).build();

    /** A paced sender on side A whose sink counts delivered bytes: a flow of known goodput. */
    private static SimFlow probe(long bitsPerSecond) {
        int size = 250;
        Sink sink = new Sink();
        long interval = size * 8L * 1_000_000_000L / bitsPerSecond;
        return SimFlow.of(new Paced(size, interval, Long.MAX_VALUE, 0), sink, () -> sink.bytes);
    }

    @Test
    void measuresGoodputOverTheWindowAndPerInterval() {
        ScenarioResult r = Scenario.builder().path(SMALL)
                .flow("probe", probe(200_000))
                .flows("reno", 2, SimRenoFlow::create)
                .duration(Duration.ofSeconds(8)).warmup(Duration.ofSeconds(2)).sampleInterval(Duration.ofSeconds(1))
                .startSpread(Duration.ZERO).seed(3).build().run();
        assertEquals(List.of("probe", "reno-0", "reno-1"), r.flows().stream().map(ScenarioResult.FlowResult::name).toList());
        ScenarioResult.FlowResult probe = r.flow("probe");
        // The probe is paced at 200 kbit/s of datagram bytes and shares a drop-tail queue with Reno,
        // so it loses a little when Reno overflows the queue, never gains.
        assertTrue(probe.goodputBitsPerSecond() > 150_000 && probe.goodputBitsPerSecond() <= 201_000,
                "probe goodput " + probe.goodputBitsPerSecond());
        assertEquals(probe.deliveredBytes() * 8 / 6.0, probe.goodputBitsPerSecond(), 1e-6);
        assertEquals(8, probe.series().size());
        assertEquals(8, r.flow("reno-1").series().size());
        double renoShare = r.goodputBitsPerSecond("reno");
        assertTrue(renoShare > 1_000_000 && renoShare < 2_000_000, "reno goodput " + renoShare);
        assertEquals(renoShare + probe.goodputBitsPerSecond(), r.totalGoodputBitsPerSecond(), 1e-6);
        assertEquals(2, r.group("reno").size());
        assertEquals(0, r.flow("reno-0").startNanos());
        assertTrue(r.jainIndex("reno") > 0.8, "jain " + r.jainIndex("reno"));
        assertTrue(r.summary().contains("reno-1"));
        assertTrue(r.processedEvents() > r.sentDatagrams() && r.sentDatagrams() > 1000);
        assertEquals(r.flow("reno-0").aToB().sentPackets() + r.flow("reno-0").bToA().sentPackets()
                        + r.flow("reno-1").aToB().sentPackets() + r.flow("reno-1").bToA().sentPackets()
                        + probe.aToB().sentPackets(), r.sentDatagrams());
        assertThrows(IllegalArgumentException.class, () -> r.flow("nope"));
    }

    @Test
    void aScenarioOfFactoriesReplaysExactlyAndSeedsMoveTheStarts() {
        Scenario s = Scenario.builder().path(SMALL.toBuilder().loss(0.01).build())
                .flows("reno", 3, SimRenoFlow::create).duration(Duration.ofSeconds(5)).seed(4).build();
        ScenarioResult first = s.run();
        ScenarioResult again = s.run();
        assertEquals(first.flows(), again.flows());
        assertEquals(first.path(Direction.A_TO_B), again.path(Direction.A_TO_B));
        for (ScenarioResult.FlowResult f : first.flows()) {
            assertTrue(f.startNanos() >= 0 && f.startNanos() < 1_000_000_000L, "start " + f.startNanos());
        }
        ScenarioResult other = Scenario.builder().path(SMALL.toBuilder().loss(0.01).build())
                .flows("reno", 3, SimRenoFlow::create).duration(Duration.ofSeconds(5)).seed(5).build().run();
        assertNotEquals(first.flows().get(0).startNanos(), other.flows().get(0).startNanos());
    }

    @Test
    void aFlowGivenAsAnInstanceRunsOnce() {
        Scenario s = Scenario.builder().path(SMALL).flow("one", SimRenoFlow.create())
                .duration(Duration.ofSeconds(1)).build();
        s.run();
        IllegalStateException e = assertThrows(IllegalStateException.class, s::run);
        assertTrue(e.getMessage().startsWith("flow one was given as an instance and has already run"), e.getMessage());
    }

    @Test
    void closeableEndpointsAreClosedWhenTheRunEnds() {
        final class ClosingSink extends Sink implements AutoCloseable {
            boolean closed;

            @Override
            public void close() {
                closed = true;
            }
        }
        ClosingSink sink = new ClosingSink();
        Scenario.builder().path(SMALL).flow("x", new Paced(100, 1_000_000, 10, 0), sink, () -> sink.bytes)
                .duration(Duration.ofSeconds(1)).build().run();
        assertTrue(sink.closed);
        assertEquals(10 * 100, sink.bytes);
    }

    @Test
    void badScenariosAreRejectedWithThePreciseField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Scenario.builder().flows("reno", 1, SimRenoFlow::create).flows("reno", 2, SimRenoFlow::create));
        assertEquals("scenario.flows.reno: duplicate (expected: unique group names)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Scenario.builder().flows("reno", 0, SimRenoFlow::create));
        assertEquals("scenario.flows.reno.count: 0 (expected: 1..10000)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Scenario.builder().flows("reno", 1, SimRenoFlow::create)
                .duration(Duration.ofSeconds(10)).warmup(Duration.ofSeconds(10)).build());
        assertEquals("scenario.warmup: PT10S (expected: >= 0 and < duration (PT10S))", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Scenario.builder().build());
        assertEquals("scenario.flows: none (expected: at least one flow)", e.getMessage());
    }

    @Test
    void jainIndexRangesFromOneOverNToOne() {
        assertEquals(1.0, ScenarioResult.jainIndexOf(5, 5, 5, 5), 1e-12);
        assertEquals(0.25, ScenarioResult.jainIndexOf(7, 0, 0, 0), 1e-12);
        assertEquals(1.0, ScenarioResult.jainIndexOf(0, 0), 1e-12);
        assertEquals(0.9, ScenarioResult.jainIndexOf(1, 2, 3, 3, 3, 3), 0.02);
        assertThrows(IllegalArgumentException.class, () -> ScenarioResult.jainIndexOf(1, -1));
        assertThrows(IllegalArgumentException.class, () -> ScenarioResult.jainIndexOf());
    }
}
