package dev.braid.tmp;

import dev.braid.tmp.sim.NetworkSimulator;
import dev.braid.tmp.sim.PathConfig;
import dev.braid.tmp.sim.Scenario;
import dev.braid.tmp.sim.ScenarioResult;
import dev.braid.tmp.sim.SimRenoFlow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The link in the network simulator on the target path: 100 Mbit/s both ways, 40 ms each way,
 * one-BDP drop-tail queues (docs/simulator.md). Goodput is stream bytes delivered in order.
 *
 * <p>The fairness runs against Reno flows need minutes of virtual time to settle (a lone Reno flow
 * takes about 100 s after its slow-start overshoot); by default one short configuration runs, and
 * {@code -Dbraid.longScenarios=true} runs the full matrix: N = 1, 4, 16, seeds 1 to 3, 300 s each
 * with 100 s of warm-up (docs/tmp.md has its numbers).
 */
class SimScenariosTest {

    static final boolean LONG = Boolean.getBoolean("braid.longScenarios");

    static PathConfig path(double loss) {
        return PathConfig.builder().rateMbps(100).delay(Duration.ofMillis(40)).loss(loss).build();
    }

    static double goodputMbps(CongestionControl cc, int streams, double loss, long seed) {
        ScenarioResult r = Scenario.builder().path(path(loss))
                .flows("tmp", 1, TmpSimFlow.factory(cc, streams, seed))
                .duration(Duration.ofSeconds(25)).warmup(Duration.ofSeconds(5)).seed(seed)
                .alloc(UdpPair.heap()).build().run();
        double mbps = r.goodputBitsPerSecond("tmp") / 1e6;
        System.out.printf("%s, %d streams, %.0f%% loss, seed %d: %.1f Mbit/s%n", cc.label(), streams, loss * 100, seed,
                mbps);
        return mbps;
    }

    @ParameterizedTest(name = "{0}, {1} streams, {2} loss: at least {3} Mbit/s")
    @CsvSource({
            "BBR, 100, 0.01, 85",
            "N_FLOW, 100, 0.01, 85",
            "BBR, 10, 0.01, 85",
            "BBR, 10, 0.03, 80",
    })
    void goodputOnALossyLongPath(CongestionControl cc, int streams, double loss, double atLeast) {
        double mbps = goodputMbps(cc, streams, loss, 1);
        assertTrue(mbps >= atLeast, cc + " with " + streams + " streams at " + loss + " loss: " + mbps + " Mbit/s");
    }

    @Test
    void tenStreamsOfTheNFlowWindowCarryAtLeastEightRenoFlows() {
        double tmp = goodputMbps(CongestionControl.N_FLOW, 10, 0.01, 1);
        ScenarioResult reno = Scenario.builder().path(path(0.01)).flows("reno", 1, SimRenoFlow::create)
                .duration(Duration.ofSeconds(120)).warmup(Duration.ofSeconds(5)).seed(1).build().run();
        double renoMbps = reno.goodputBitsPerSecond("reno") / 1e6;
        System.out.printf("one Reno flow at 1%% loss: %.2f Mbit/s; ten n-flow streams: %.1f (%.1fx)%n", renoMbps, tmp,
                tmp / renoMbps);
        assertTrue(tmp >= 8 * renoMbps, tmp + " Mbit/s against " + renoMbps + " for one Reno flow");
    }

    /** The link's goodput over the N-flow fair share (half of all goodput) beside N Reno flows. */
    static double fairShareRatio(int n, long seed, int seconds, int warmup) {
        return fairShareRatio(CongestionControl.N_FLOW, n, seed, seconds, warmup);
    }

    static double fairShareRatio(CongestionControl cc, int n, long seed, int seconds, int warmup) {
        ScenarioResult r = Scenario.builder().path(path(0))
                .flows("tmp", 1, TmpSimFlow.factory(cc, n, seed))
                .flows("reno", n, SimRenoFlow::create)
                .duration(Duration.ofSeconds(seconds)).warmup(Duration.ofSeconds(warmup)).seed(seed)
                .alloc(UdpPair.heap()).build().run();
        double ratio = r.goodputBitsPerSecond("tmp") / (r.totalGoodputBitsPerSecond() / 2);
        System.out.printf("%s with %d streams beside %d Reno flows, seed %d, %d s: %.1f against %.1f Mbit/s, "
                        + "%.3f of the fair share%n", cc.label(), n, n, seed, seconds, r.goodputBitsPerSecond("tmp") / 1e6,
                r.goodputBitsPerSecond("reno") / 1e6, ratio);
        return ratio;
    }

    /**
     * Beside N Reno flows the link carrying N streams takes 0.85–1.15 of the N-flow fair share. The
     * long matrix asserts that on the mean over three seeds per N, and each seed within 0.75–1.25:
     * single seeds of a drop-tail bottleneck vary by about ±0.1 (docs/tmp.md lists them).
     */
    @Test
    void theNFlowWindowTakesTheShareOfNRenoFlows() {
        if (!LONG) {
            double ratio = fairShareRatio(16, 1, 150, 50);
            assertTrue(ratio >= 0.85 && ratio <= 1.15, "N=16: " + ratio + " of the fair share");
            return;
        }
        for (int n : new int[] {1, 4, 16}) {
            double sum = 0;
            for (long seed = 1; seed <= 3; seed++) {
                double ratio = fairShareRatio(n, seed, 300, 100);
                assertTrue(ratio >= 0.75 && ratio <= 1.25, "N=" + n + ", seed " + seed + ": " + ratio);
                sum += ratio;
            }
            double mean = sum / 3;
            System.out.printf("N=%d: mean %.3f of the fair share%n", n, mean);
            assertTrue(mean >= 0.85 && mean <= 1.15, "N=" + n + ": mean " + mean + " of the fair share");
        }
    }

    /**
     * The BBR-style controller beside Reno flows on the drop-tail target path: it ignores the
     * queue's losses below its threshold and takes more than an equal share beside few of them,
     * 0.88–1.35 of it (docs/tmp.md). Asserted: at least 0.85 of its share, and less than twice it.
     */
    @Test
    void bbrBesideRenoFlows() {
        int[] ns = LONG ? new int[] {1, 4, 16} : new int[] {4};
        for (int n : ns) {
            double ratio = fairShareRatio(CongestionControl.BBR, n, 1, LONG ? 300 : 120, LONG ? 100 : 40);
            assertTrue(ratio >= 0.85 && ratio < 2, "bbr, N=" + n + ": " + ratio + " of the fair share");
        }
    }

    @Test
    void aSmallStreamIsDeliveredInAboutOneWayDelayBesideLossyBulkStreams() {
        TmpSimFlow flow = new TmpSimFlow(TmpSimFlow.WIDE, 10, 1);
        long[] opened = new long[100];
        long[] delivered = new long[100];
        Arrays.fill(delivered, -1);
        try (NetworkSimulator sim = NetworkSimulator.builder().path(path(0.01)).seed(3).alloc(UdpPair.heap()).build()) {
            sim.attach("tmp", flow.sideA(), flow.sideB());
            for (int i = 0; i < opened.length; i++) {
                int k = i;
                sim.schedule(5_000_000_000L + i * 200_000_000L, () -> {
                    opened[k] = sim.now();
                    flow.open(0, 2000);
                });
            }
            for (long t = 5_000_000_000L; t < 30_000_000_000L; t += 1_000_000L) {
                sim.run(t);
                for (int i = 0; i < opened.length; i++) {
                    int sink = 10 + i;
                    if (delivered[i] < 0 && flow.sinks.size() > sink && flow.sinks.get(sink).fin) {
                        delivered[i] = sim.now() - opened[i];
                    }
                }
            }
        }
        long[] ms = Arrays.stream(delivered).map(d -> d / 1_000_000).sorted().toArray();
        System.out.printf("small streams beside 10 bulk streams at 1%% loss: median %d ms, 90th %d ms, worst %d ms "
                + "(one way 40 ms, plus queueing)%n", ms[50], ms[90], ms[99]);
        assertTrue(ms[0] >= 40, "no faster than the path");
        // Most arrive after the one-way delay and the queue; one whose own packet is lost takes about
        // one RTT more to be detected and re-sent. Waiting behind the bulk streams' losses would add
        // a recovery to every one of them.
        assertTrue(ms[50] <= 160, "median " + ms[50] + " ms");
        assertTrue(ms[99] <= 500, "worst " + ms[99] + " ms");
        assertTrue(flow.closed.isEmpty(), flow.closed.toString());
    }

    /**
     * The interactive case the blender is for, on a path whose 2 ms of jitter makes the rate
     * estimate a percent or two high: 20 KB ring-0 responses every 200 ms while four ring-2 bulk
     * streams fill the 100 Mbit/s, 80 ms path with its one-BDP drop-tail queue. The blender sends
     * them first, but they still wait behind whatever queue the link keeps in the network. BBRv1's
     * rules kept a standing queue of about one BDP there (median 108 ms, p99 376–427 ms, the tail
     * from PROBE_RTT's four-packet window); draining until the queue is gone and probing the RTT at
     * half a BDP keep it short without costing the bulk streams throughput.
     */
    @Test
    void interactiveStreamsBesideBulkWaitForNoStandingQueue() {
        TmpSimFlow flow = new TmpSimFlow(TmpSimFlow.WIDE, 4, 1);
        int n = 100;
        long[] opened = new long[n];
        long[] delivered = new long[n];
        Arrays.fill(delivered, -1);
        PathConfig jittery = PathConfig.builder().rateMbps(100).delay(Duration.ofMillis(40))
                .jitter(Duration.ofMillis(2)).build();
        long bulkBefore = 0;
        long bulkAfter = 0;
        try (NetworkSimulator sim = NetworkSimulator.builder().path(jittery).seed(3).alloc(UdpPair.heap()).build()) {
            sim.attach("tmp", flow.sideA(), flow.sideB());
            for (int i = 0; i < n; i++) {
                int k = i;
                sim.schedule(10_000_000_000L + i * 200_000_000L, () -> {
                    opened[k] = sim.now();
                    flow.open(0, 20_000);
                });
            }
            for (long t = 5_000_000_000L; t <= 32_000_000_000L; t += 1_000_000L) {
                sim.run(t);
                if (t == 10_000_000_000L) {
                    bulkBefore = flow.deliveredBytes();
                } else if (t == 30_000_000_000L) {
                    bulkAfter = flow.deliveredBytes();
                }
                for (int i = 0; i < n; i++) {
                    int sink = 4 + i;
                    if (delivered[i] < 0 && flow.sinks.size() > sink && flow.sinks.get(sink).fin) {
                        delivered[i] = sim.now() - opened[i];
                    }
                }
            }
            flow.close();
        }
        long[] ms = Arrays.stream(delivered).map(d -> d / 1_000_000).sorted().toArray();
        double mbps = (bulkAfter - bulkBefore) * 8 / 20e6;
        System.out.printf("20 KB ring-0 responses beside 4 bulk streams, 2 ms jitter: median %d ms, 90th %d ms, "
                + "99th %d ms; link %.1f Mbit/s (one way 40 ms)%n", ms[50], ms[90], ms[99], mbps);
        assertTrue(ms[0] >= 40, "no faster than the path");
        assertTrue(ms[50] <= 70, "median " + ms[50] + " ms: a standing queue");
        assertTrue(ms[99] <= 150, "99th " + ms[99] + " ms");
        assertTrue(mbps >= 88, "the bulk streams still fill the link: " + mbps + " Mbit/s");
        assertTrue(flow.closed.isEmpty() || flow.closed.stream().allMatch(c -> c.contains("simulation over")),
                flow.closed.toString());
    }

    @Test
    void aTwoSecondBlackoutIsRiddenOut() {
        PathConfig dark = path(0.001).toBuilder().blackout(Duration.ofSeconds(10), Duration.ofSeconds(12)).build();
        TmpSimFlow flow = new TmpSimFlow(TmpSimFlow.WIDE, 4, 1);
        try (NetworkSimulator sim = NetworkSimulator.builder().path(dark).seed(5).alloc(UdpPair.heap()).build()) {
            sim.attach("tmp", flow.sideA(), flow.sideB());
            sim.run(10_000_000_000L);
            long before = flow.deliveredBytes();
            sim.run(12_000_000_000L);
            long during = flow.deliveredBytes() - before;
            sim.run(20_000_000_000L);
            long after = flow.deliveredBytes() - before - during;
            System.out.printf("blackout: %d bytes during, %.1f Mbit/s in the 8 s after%n", during, after * 8 / 8e6);
            assertTrue(flow.client.isEstablished() && flow.server.isEstablished(), flow.closed.toString());
            for (TmpSimFlow.Source s : flow.sources) {
                assertNull(s.reset, "no stream reset");
            }
            assertTrue(after * 8 / 8e6 > 50, "the link carries on after the blackout");
            assertEquals(4, flow.sinks.size());
        }
    }
}
