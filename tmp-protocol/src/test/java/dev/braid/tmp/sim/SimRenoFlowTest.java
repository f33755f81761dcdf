package dev.braid.tmp.sim;

import dev.braid.tmp.sim.TestEndpoints.DropSegments;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference Reno flow: its mechanics on hand-made losses (PARANOID leak detection), then its
 * calibration on the target path — 100 Mbit/s, 80 ms RTT, a one-BDP queue — against the Mathis
 * and Padhye formulas, link filling, and fairness among flows sharing the bottleneck. The long
 * runs (millions of datagrams) use sampled leak detection; each logs its real time and speed.
 */
class SimRenoFlowTest {

    private static final long MS = 1_000_000L;
    private static final double MSS_BITS = 1460 * 8;
    private static final double RTT = 0.080;
    /** RFC 6298 floor in force on this path (SRTT + 4·RTTVAR stays below it). */
    private static final double T0 = 0.200;

    private static final PathConfig TARGET = PathConfig.builder().rateMbps(100).delay(Duration.ofMillis(40)).build();

    /** Mathis et al. 1997: MSS/RTT · √(3/2) / √p, bits per second. */
    static double mathis(double p) {
        return MSS_BITS / RTT * Math.sqrt(1.5 / p);
    }

    /** Padhye et al. 1998 (with timeouts, b = 1 packet per ACK), bits per second. */
    static double padhye(double p) {
        double b = 1;
        return MSS_BITS / (RTT * Math.sqrt(2 * b * p / 3)
                + T0 * Math.min(1, 3 * Math.sqrt(3 * b * p / 8)) * p * (1 + 32 * p * p));
    }

    // ---------------------------------------------------------------- mechanics

    private static NetworkSimulator smallPath() {
        // 10 Mbit/s, 40 ms RTT, a queue no window here can overflow: only the test's drops lose data.
        return NetworkSimulator.builder().path(PathConfig.builder().rateMbps(10).delay(Duration.ofMillis(20))
                .queueLimitBytes(10_000_000).build()).build();
    }

    @Test
    void oneLossIsRepairedByOneFastRetransmitAndHalvesTheWindow() {
        SimRenoFlow flow = SimRenoFlow.create(RenoConfig.builder().transferBytes(2000 * 1460L).build());
        DropSegments lossy = new DropSegments(flow.sender(), 1, 100);
        try (NetworkSimulator sim = smallPath()) {
            sim.attach("reno", lossy, flow.receiver());
            sim.run(10_000 * MS);
            SimRenoFlow.Stats st = flow.stats();
            assertEquals(1, lossy.dropped);
            assertEquals(1, st.fastRetransmits());
            assertEquals(0, st.timeouts());
            assertEquals(0, st.partialAcks());
            assertEquals(1, st.retransmissions());
            assertEquals(2000 * 1460L, flow.deliveredBytes());
            assertTrue(flow.completionNanos() > 0);
            // Segment 100 was lost in slow start: the window then held the segments of about one
            // doubling beyond it, so ssthresh (half the flight) is between 50 and 110 segments.
            assertTrue(st.ssthresh() > 50 && st.ssthresh() < 110, "ssthresh " + st.ssthresh());
        }
    }

    @Test
    void newRenoRepairsSeveralLossesOfOneWindowWithPartialAcks() {
        SimRenoFlow flow = SimRenoFlow.create(RenoConfig.builder().transferBytes(2000 * 1460L).build());
        DropSegments lossy = new DropSegments(flow.sender(), 1, 100, 105, 110);
        try (NetworkSimulator sim = smallPath()) {
            sim.attach("reno", lossy, flow.receiver());
            sim.run(10_000 * MS);
            SimRenoFlow.Stats st = flow.stats();
            assertEquals(1, st.fastRetransmits(), "one loss event");
            assertEquals(2, st.partialAcks());
            assertEquals(0, st.timeouts());
            assertEquals(3, st.retransmissions());
            assertEquals(2000 * 1460L, flow.deliveredBytes());
        }
    }

    @Test
    void aLostRetransmissionEndsInATimeoutAndTheTransferStillCompletes() {
        SimRenoFlow flow = SimRenoFlow.create(RenoConfig.builder().transferBytes(2000 * 1460L).build());
        DropSegments lossy = new DropSegments(flow.sender(), 2, 100);
        try (NetworkSimulator sim = smallPath()) {
            sim.attach("reno", lossy, flow.receiver());
            sim.run(20_000 * MS);
            SimRenoFlow.Stats st = flow.stats();
            assertEquals(1, st.fastRetransmits());
            assertEquals(1, st.timeouts());
            assertEquals(2000 * 1460L, flow.deliveredBytes());
            // The timeout's retransmission fills the only hole; the ACK then covers everything the
            // receiver holds, so go-back-N has nothing else to resend.
            assertEquals(2, st.retransmissions());
            assertEquals(2, lossy.dropped);
        }
    }

    @Test
    void finiteTransferDeliversItsExactBytesInSlowStartRounds() {
        SimRenoFlow flow = SimRenoFlow.create(RenoConfig.builder().transferBytes(100_000).build());
        try (NetworkSimulator sim = NetworkSimulator.builder().path(TARGET).build()) {
            NetworkSimulator.FlowHandle h = sim.attach("reno", flow.sender(), flow.receiver());
            sim.run(2000 * MS);
            assertEquals(100_000, flow.deliveredBytes());
            // 69 segments: 68 of 1460 bytes and one of 720, each plus 12 + 28 bytes of headers.
            assertEquals(68 * 1500 + 760, h.stats(Direction.A_TO_B).sentBytes());
            assertEquals(69, h.stats(Direction.B_TO_A).sentPackets(), "one ACK per segment");
            // IW10 then 20, 40: the last segment leaves after two round trips and lands half a round trip later.
            assertTrue(flow.completionNanos() > 200 * MS && flow.completionNanos() < 240 * MS,
                    "completed at " + flow.completionNanos());
            long srtt = flow.stats().srttNanos();
            // 80.13 ms of propagation and serialisation, plus the queue slow-start bursts build.
            assertTrue(srtt >= 80 * MS && srtt < 85 * MS, "srtt " + srtt);
        }
    }

    @Test
    void delayedAcksAcknowledgeEverySecondSegment() {
        SimRenoFlow flow = SimRenoFlow.create(RenoConfig.builder().ackEvery(2).transferBytes(3000 * 1460L).build());
        try (NetworkSimulator sim = smallPath()) {
            NetworkSimulator.FlowHandle h = sim.attach("reno", flow.sender(), flow.receiver());
            sim.run(10_000 * MS);
            assertEquals(3000 * 1460L, flow.deliveredBytes());
            long acks = h.stats(Direction.B_TO_A).sentPackets();
            assertTrue(acks >= 1500 && acks < 1600, "acks " + acks);
        }
    }

    @Test
    void reversedFlowCarriesDataFromSideB() {
        SimRenoFlow flow = SimRenoFlow.create(RenoConfig.builder().transferBytes(50 * 1460L).build());
        try (NetworkSimulator sim = NetworkSimulator.builder().build()) {
            SimFlow reversed = flow.reversed();
            NetworkSimulator.FlowHandle h = sim.attach("back", reversed.sideA(), reversed.sideB());
            sim.run(1000 * MS);
            assertEquals(50 * 1460L, reversed.deliveredBytes());
            assertEquals(50 * 1500L, h.stats(Direction.B_TO_A).sentBytes());
            assertEquals(50 * 40L, h.stats(Direction.A_TO_B).sentBytes());
        }
    }

    @Test
    void badSettingsAreRejectedWithThePreciseField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RenoConfig.builder().ackEvery(3).build());
        assertEquals("reno.ackEvery: 3 (expected: 1 or 2)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> RenoConfig.builder().minRto(Duration.ofSeconds(2)).build());
        assertEquals("reno.initialRtoNanos: 1000000000 (expected: >= minRtoNanos (2000000000))", e.getMessage());
    }

    // ---------------------------------------------------------------- calibration

    /**
     * Random loss in both directions (data and ACKs), 600 s of virtual time after a 10 s warm-up:
     * several hundred loss events at every p.
     */
    @ParameterizedTest(name = "p = {0}")
    @ValueSource(doubles = {0.001, 0.005, 0.01, 0.03})
    void randomLossThroughputMatchesMathisAndPadhye(double p) {
        SimRenoFlow flow = SimRenoFlow.create();
        ScenarioResult r = timed("mathis p=" + p, () -> Scenario.builder()
                .path(TARGET.toBuilder().loss(p).build()).flow("reno", flow)
                .duration(Duration.ofSeconds(610)).warmup(Duration.ofSeconds(10)).seed(1).build().run());
        double goodput = r.totalGoodputBitsPerSecond();
        double vsMathis = goodput / mathis(p);
        double vsPadhye = goodput / padhye(p);
        SimRenoFlow.Stats st = flow.stats();
        System.out.printf(Locale.ROOT, "calibration p=%.3f goodput %.3f Mb/s mathis %.3f (x%.3f) padhye %.3f (x%.3f)"
                        + " fast retransmits %d timeouts %d srtt %.1f ms%n", p, goodput / 1e6, mathis(p) / 1e6,
                vsMathis, padhye(p) / 1e6, vsPadhye, st.fastRetransmits(), st.timeouts(), st.srttNanos() / 1e6);
        assertTrue(st.fastRetransmits() > 250, "loss events: " + st.fastRetransmits());
        assertTrue(Math.abs(vsMathis - 1) <= 0.35, "goodput / Mathis = " + vsMathis + " (expected: 1 ± 0.35)");
        assertTrue(Math.abs(vsPadhye - 1) <= 0.35, "goodput / Padhye = " + vsPadhye + " (expected: 1 ± 0.35)");
        if (p >= 0.03) {
            // Timeouts dominate at high loss: the formula that models them must be the closer one.
            assertTrue(Math.abs(vsPadhye - 1) < Math.abs(vsMathis - 1), "Padhye " + vsPadhye + " vs Mathis " + vsMathis);
        }
    }

    @Test
    void singleFlowWithoutLossFillsTheLink() {
        // After the slow-start overshoot NewReno without SACK needs a while (a timeout, then
        // congestion avoidance from a low ssthresh) to reach its sawtooth; it is there by 100 s,
        // and one 80-second sawtooth period later the measurement has seen a whole cycle.
        ScenarioResult r = timed("fill N=1", () -> Scenario.builder().path(TARGET)
                .flows("reno", 1, SimRenoFlow::create).duration(Duration.ofSeconds(200))
                .warmup(Duration.ofSeconds(100)).seed(1).build().run());
        double goodput = r.totalGoodputBitsPerSecond();
        System.out.printf(Locale.ROOT, "fill N=1 goodput %.3f Mb/s (payload share of the wire: %.3f Mb/s)%n",
                goodput / 1e6, 100 * 1460 / 1500.0);
        assertTrue(goodput >= 90e6, "goodput " + goodput);
        assertTrue(r.path(Direction.A_TO_B).queueDrops() > 0, "the window probes until the one-BDP queue overflows");
    }

    /**
     * The acceptance runs: 300 s of virtual time each (N = 1 is the test above). Each run is about
     * five million datagrams, so the unit test plays three of them; docs/simulator.md has five
     * seeds for every N.
     */
    @ParameterizedTest(name = "N = {0}, seed {1}")
    @CsvSource({"4, 1", "4, 2", "16, 1"})
    void renoFlowsSharingTheBottleneckShareItFairly(int n, long seed) {
        ScenarioResult r = timed("fairness N=" + n + " seed=" + seed, () -> Scenario.builder().path(TARGET)
                .flows("reno", n, SimRenoFlow::create).duration(Duration.ofSeconds(300))
                .warmup(Duration.ofSeconds(20)).seed(seed).build().run());
        System.out.print(r.summary());
        assertTrue(r.jainIndex() >= 0.9, "Jain index " + r.jainIndex());
        assertTrue(r.totalGoodputBitsPerSecond() >= 85e6, "total goodput " + r.totalGoodputBitsPerSecond());
        assertTrue(r.flows().stream().allMatch(f -> f.goodputBitsPerSecond() > 0));
    }

    @Test
    void sameSeedReproducesEveryNumberAndAnotherSeedChangesThem() {
        assertEquals(fingerprint(5), fingerprint(5));
        assertNotEquals(fingerprint(5), fingerprint(6));
    }

    private static List<Object> fingerprint(long seed) {
        return TestEndpoints.withSampledLeakDetection(() -> {
            SimRenoFlow a = SimRenoFlow.create();
            SimRenoFlow b = SimRenoFlow.create();
            ScenarioResult r = Scenario.builder().path(TARGET.toBuilder().loss(0.01).build())
                    .flow("a", a).flow("b", b).duration(Duration.ofSeconds(60)).seed(seed).build().run();
            return List.of(r.flows(), r.path(Direction.A_TO_B), r.path(Direction.B_TO_A), a.stats(), b.stats());
        });
    }

    private static ScenarioResult timed(String what, java.util.function.Supplier<ScenarioResult> run) {
        return TestEndpoints.withSampledLeakDetection(() -> {
            long start = System.nanoTime();
            ScenarioResult r = run.get();
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "%s: %d datagrams, %d events in %.2f s real: %.2f M datagrams/s%n", what,
                    r.sentDatagrams(), r.processedEvents(), seconds, r.sentDatagrams() / seconds / 1e6);
            return r;
        });
    }
}
