package dev.braid.tmp.sim;

import dev.braid.tmp.DatagramEndpoint;
import dev.braid.tmp.sim.TestEndpoints.Echo;
import dev.braid.tmp.sim.TestEndpoints.Greedy;
import dev.braid.tmp.sim.TestEndpoints.Paced;
import dev.braid.tmp.sim.TestEndpoints.Pinger;
import dev.braid.tmp.sim.TestEndpoints.Sink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's model, knob by knob: each test sets one impairment, drives small endpoints
 * through it and checks the outcome exactly where the model is deterministic and within four
 * standard deviations where it is random. The statistical tests send tens of thousands of
 * datagrams and run with sampled leak detection (see {@link TestEndpoints#withSampledLeakDetection});
 * the others, including the one about releasing buffers, run under PARANOID.
 */
class NetworkSimulatorTest {

    private static final long MS = 1_000_000L;
    private static final long S = 1_000_000_000L;

    private static long wireBytes(List<Long> times, List<Long> sizes, long from, long to) {
        long sum = 0;
        for (int i = 0; i < times.size(); i++) {
            if (times.get(i) > from && times.get(i) <= to) {
                sum += sizes.get(i);
            }
        }
        return sum;
    }

    private static void assertWithin(double expected, double tolerance, double actual, String what) {
        assertTrue(Math.abs(actual - expected) <= tolerance,
                what + ": " + actual + " (expected: " + expected + " ± " + tolerance + ")");
    }

    @Test
    void greedySenderIsHeldToTheBottleneckRate() {
        PathConfig path = PathConfig.builder().rateMbps(10).delay(Duration.ofMillis(10)).build();
        try (NetworkSimulator sim = NetworkSimulator.builder().path(path).accessRateBitsPerSecond(20_000_000).build()) {
            Sink sink = new Sink();
            sim.attach("greedy", new Greedy(1000), sink);
            sim.run(3 * S);
            List<Long> sizes = new ArrayList<>();
            sink.times.forEach(t -> sizes.add(1028L));
            double bitsPerSecond = wireBytes(sink.times, sizes, S, 3 * S) * 8.0 / 2;
            assertWithin(10_000_000, 100_000, bitsPerSecond, "delivered rate");
            assertWithin(1.0, 0.01, sim.pathStats(Direction.A_TO_B).utilisation(), "bottleneck utilisation");
        }
    }

    @Test
    void fullQueueDropsTheTailAndBoundsQueueingDelay() {
        PathConfig path = PathConfig.builder().rateMbps(10).delay(Duration.ofMillis(10)).build();
        try (NetworkSimulator sim = NetworkSimulator.builder().path(path).accessRateBitsPerSecond(20_000_000).build()) {
            long limit = sim.queueLimitBytes(Direction.A_TO_B);
            assertEquals(25_000, limit, "one BDP: 10 Mbit/s × 20 ms");
            Sink sink = new Sink();
            NetworkSimulator.FlowHandle flow = sim.attach("greedy", new Greedy(1000), sink);
            sim.run(2 * S);
            PathStats stats = sim.pathStats(Direction.A_TO_B);
            assertTrue(stats.queueDrops() > 1000, "queue drops: " + stats.queueDrops());
            assertTrue(stats.queueHighWaterBytes() <= limit && stats.queueHighWaterBytes() > limit - 1028,
                    "high water " + stats.queueHighWaterBytes() + " of " + limit);
            assertEquals(stats.offeredPackets(), stats.acceptedPackets() + stats.queueDrops());
            // Once full, a datagram waits for the limit's worth of bytes ahead of it: at most 20 ms.
            assertTrue(stats.meanQueueDelayNanos() > 17 * MS && stats.meanQueueDelayNanos() <= 20 * MS,
                    "mean queueing delay " + stats.meanQueueDelayNanos());
            FlowStats fs = flow.stats(Direction.A_TO_B);
            assertEquals(stats.queueDrops(), fs.queueDrops());
            assertEquals(sink.seqs.size(), fs.deliveredPackets());
            // In flight at the end: up to 256 KiB in the send buffer, 25 kB queued, 10 ms on the wire.
            long inFlight = fs.sentPackets() - fs.deliveredPackets() - fs.drops();
            assertTrue(inFlight >= 0 && inFlight < 300, "in flight at the end: " + inFlight);
        }
    }

    @Test
    void explicitQueueLimitIsHonoured() {
        PathConfig path = PathConfig.builder().rateMbps(10).delay(Duration.ofMillis(10)).queueLimitBytes(5000).build();
        try (NetworkSimulator sim = NetworkSimulator.builder().path(path).accessRateBitsPerSecond(20_000_000).build()) {
            sim.attach("greedy", new Greedy(1000), new Sink());
            sim.run(S / 2);
            PathStats stats = sim.pathStats(Direction.A_TO_B);
            assertEquals(5000, stats.queueLimitBytes());
            assertTrue(stats.queueHighWaterBytes() <= 5000 && stats.queueHighWaterBytes() >= 4 * 1028);
        }
    }

    @Test
    void pingPongMeasuresExactlyTheConfiguredDelaysPlusSerialisation() {
        PathConfig there = PathConfig.builder().rateMbps(10).delay(Duration.ofMillis(30)).build();
        PathConfig back = there.toBuilder().delay(Duration.ofMillis(10)).build();
        try (NetworkSimulator sim = NetworkSimulator.builder().paths(there, back).build()) {
            assertEquals(50_000, sim.queueLimitBytes(Direction.A_TO_B), "BDP over the 40 ms round trip");
            Pinger pinger = new Pinger(100, 100 * MS, 20);
            sim.attach("ping", pinger, new Echo());
            sim.run(3 * S);
            // 128 wire bytes: 10,240 ns on the 100 Mbit/s access link, 102,400 ns at the bottleneck.
            long expected = 40 * MS + 2 * (10_240 + 102_400);
            assertEquals(20, pinger.rtts.size());
            pinger.rtts.forEach(rtt -> assertEquals(expected, rtt));
        }
    }

    @Test
    void randomLossMatchesItsProbabilityIndependentlyInEachDirection() {
        TestEndpoints.withSampledLeakDetection(() -> {
            PathConfig path = PathConfig.builder().loss(0.05).build();
            int n = 10_000;
            try (NetworkSimulator sim = NetworkSimulator.builder().path(path).seed(7).build()) {
                Sink atB = new Sink();
                Sink atA = new Sink();
                sim.attach("a-to-b", new Paced(200, 100_000, n, 0), atB);
                sim.attach("b-to-a", atA, new Paced(200, 100_000, n, 0));
                sim.run(2 * S);
                double sigma = Math.sqrt(n * 0.05 * 0.95);
                long lostAB = n - atB.seqs.size();
                long lostBA = n - atA.seqs.size();
                assertWithin(n * 0.05, 4 * sigma, lostAB, "lost A to B");
                assertWithin(n * 0.05, 4 * sigma, lostBA, "lost B to A");
                assertEquals(lostAB, sim.pathStats(Direction.A_TO_B).randomLossDrops());
                assertEquals(lostBA, sim.pathStats(Direction.B_TO_A).randomLossDrops());
                assertNotEquals(new HashSet<>(atB.seqs), new HashSet<>(atA.seqs), "the two directions draw independently");
            }
        });
    }

    @Test
    void gilbertElliottLosesInBurstsOfTheConfiguredMeanLength() {
        TestEndpoints.withSampledLeakDetection(() -> {
            PathConfig.GilbertElliott channel = new PathConfig.GilbertElliott(0.01, 0.25, 1.0, 0);
            PathConfig path = PathConfig.builder().burstLoss(channel).build();
            int n = 20_000;
            try (NetworkSimulator sim = NetworkSimulator.builder().path(path).seed(3).build()) {
                Sink sink = new Sink();
                sim.attach("bursty", new Paced(200, 50_000, n, 0), sink);
                sim.run(2 * S);
                boolean[] got = new boolean[n];
                sink.seqs.forEach(s -> got[(int) (long) s] = true);
                int lost = 0;
                int bursts = 0;
                for (int i = 0; i < n; i++) {
                    if (!got[i]) {
                        lost++;
                        if (i == 0 || got[i - 1]) {
                            bursts++;
                        }
                    }
                }
                assertEquals(lost, sim.pathStats(Direction.A_TO_B).burstLossDrops());
                assertWithin(channel.meanLossRate() * n, 0.25 * channel.meanLossRate() * n, lost, "lost");
                double meanBurst = (double) lost / bursts;
                assertWithin(1 / 0.25, 0.8, meanBurst, "mean burst length");
            }
        });
    }

    @Test
    void reorderingHoldsBackTheConfiguredFraction() {
        TestEndpoints.withSampledLeakDetection(() -> {
            PathConfig path = PathConfig.builder().reorder(0.05, Duration.ofMillis(5)).build();
            int n = 10_000;
            try (NetworkSimulator sim = NetworkSimulator.builder().path(path).seed(5).build()) {
                Sink sink = new Sink();
                sim.attach("reordered", new Paced(200, MS, n, 0), sink);
                sim.run(11 * S);
                assertEquals(n, sink.seqs.size(), "reordering loses nothing");
                long late = 0;
                long highest = -1;
                for (long s : sink.seqs) {
                    if (s < highest) {
                        late++;
                    }
                    highest = Math.max(highest, s);
                }
                long reordered = sim.pathStats(Direction.A_TO_B).reordered();
                assertWithin(n * 0.05, 4 * Math.sqrt(n * 0.05 * 0.95), reordered, "reordered");
                // Every held-back datagram is overtaken (its successors, 1 ms apart, are not all held back too).
                assertWithin(reordered, 2, late, "datagrams that arrived after a later one");
            }
        });
    }

    @Test
    void duplicationDeliversTheConfiguredFractionTwice() {
        TestEndpoints.withSampledLeakDetection(() -> {
            PathConfig path = PathConfig.builder().duplicate(0.05).build();
            int n = 10_000;
            try (NetworkSimulator sim = NetworkSimulator.builder().path(path).seed(9).build()) {
                Sink sink = new Sink();
                sim.attach("duplicated", new Paced(200, 100_000, n, 0), sink);
                sim.run(2 * S);
                long extra = sink.seqs.size() - n;
                assertEquals(n, new HashSet<>(sink.seqs).size(), "every datagram arrives");
                assertEquals(extra, sim.pathStats(Direction.A_TO_B).duplicated());
                assertWithin(n * 0.05, 4 * Math.sqrt(n * 0.05 * 0.95), extra, "duplicates");
                for (int i = 1; i < sink.seqs.size(); i++) {
                    if (sink.seqs.get(i).equals(sink.seqs.get(i - 1))) {
                        assertEquals(sink.sendTimes.get(i), sink.sendTimes.get(i - 1), "a duplicate carries the same bytes");
                        assertEquals(sink.times.get(i), sink.times.get(i - 1), "and arrives with the original");
                    }
                }
            }
        });
    }

    @Test
    void blackoutDropsEverythingInItsIntervalAndOnlyInItsDirection() {
        PathConfig there = PathConfig.builder().blackout(Duration.ofMillis(1000), Duration.ofMillis(1500)).build();
        PathConfig back = there.toBuilder().clearBlackouts().build();
        try (NetworkSimulator sim = NetworkSimulator.builder().paths(there, back).build()) {
            Sink atB = new Sink();
            Sink atA = new Sink();
            sim.attach("a-to-b", new Paced(100, MS, 3000, 0), atB);
            sim.attach("b-to-a", atA, new Paced(100, MS, 3000, 0));
            sim.run(4 * S);
            Set<Long> expected = new HashSet<>();
            for (long k = 0; k < 3000; k++) {
                // Sent at k ms, offered 1 µs later: inside [1 s, 1.5 s) exactly for k in 1000..1499.
                if (k < 1000 || k >= 1500) {
                    expected.add(k);
                }
            }
            assertEquals(expected, new HashSet<>(atB.seqs));
            assertEquals(500, sim.pathStats(Direction.A_TO_B).blackoutDrops());
            assertEquals(3000, atA.seqs.size());
            assertEquals(0, sim.pathStats(Direction.B_TO_A).blackoutDrops());
        }
    }

    @Test
    void blackoutAlsoDropsWhatLeavesTheQueueDuringIt() {
        // 1000-byte datagrams at 1 Mbit/s take 8.2 ms each; a burst queued before the blackout drains into it.
        PathConfig path = PathConfig.builder().rateMbps(1).queueLimitBytes(100_000)
                .blackout(Duration.ofMillis(20), Duration.ofMillis(60)).build();
        try (NetworkSimulator sim = NetworkSimulator.builder().path(path).build()) {
            Sink sink = new Sink();
            sim.attach("burst", new Paced(1000, 1, 20, 0), sink);
            sim.run(S);
            // 1028 wire bytes: 0.82 ms on the access link, 8.22 ms at the bottleneck, so datagram k leaves
            // the queue at 0.82 + 8.22·(k+1) ms; k = 2..6 leave at 25.5 … 58.4 ms, inside the blackout.
            assertEquals(List.of(0L, 1L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L), sink.seqs);
            assertEquals(5, sim.pathStats(Direction.A_TO_B).blackoutDrops());
        }
    }

    @Test
    void jitterDelaysWithinItsBoundWithoutReordering() {
        PathConfig path = PathConfig.builder().jitter(Duration.ofMillis(4)).build();
        try (NetworkSimulator sim = NetworkSimulator.builder().path(path).build()) {
            Sink sink = new Sink();
            sim.attach("jittered", new Paced(100, MS, 2000, 0), sink);
            sim.run(3 * S);
            assertEquals(2000, sink.seqs.size());
            long min = Long.MAX_VALUE;
            long max = 0;
            for (int i = 0; i < sink.seqs.size(); i++) {
                assertEquals(i, (long) sink.seqs.get(i), "in order");
                long oneWay = sink.times.get(i) - sink.sendTimes.get(i);
                min = Math.min(min, oneWay);
                max = Math.max(max, oneWay);
            }
            long base = 40 * MS + 1_024 + 10_240;
            assertTrue(min >= base && min < base + MS, "min one-way " + min);
            assertTrue(max > base + 3 * MS && max <= base + 4 * MS, "max one-way " + max);
        }
    }

    @Test
    void datagramsAboveTheMtuAreDropped() {
        try (NetworkSimulator sim = NetworkSimulator.builder().build()) {
            Sink sink = new Sink();
            NetworkSimulator.FlowHandle big = sim.attach("big", new Paced(1473, MS, 5, 0), sink);
            NetworkSimulator.FlowHandle fits = sim.attach("fits", new Paced(1472, MS, 5, 0), new Sink());
            sim.run(S);
            assertEquals(0, sink.seqs.size());
            assertEquals(5, big.stats(Direction.A_TO_B).oversizeDrops());
            assertEquals(5, fits.stats(Direction.A_TO_B).deliveredPackets());
            assertEquals(5, sim.pathStats(Direction.A_TO_B).oversizeDrops());
        }
    }

    @Test
    void everyBufferIsReleasedWhetherDeliveredDroppedOrInFlightAtClose() {
        PathConfig path = PathConfig.builder().loss(0.1).burstLoss(0.01, 0.3, 1).reorder(0.1, Duration.ofMillis(3))
                .duplicate(0.1).blackout(Duration.ofMillis(50), Duration.ofMillis(80)).queueLimitBytes(200_000).build();
        Paced sender = new Paced(1200, 50_000, 4000, 0);
        sender.keepIssued = true;
        NetworkSimulator sim = NetworkSimulator.builder().path(path).build();
        sim.attach("mixed", sender, new Sink());
        sim.run(150 * MS);
        PathStats stats = sim.pathStats(Direction.A_TO_B);
        assertTrue(stats.queueDrops() > 0 && stats.lossDrops() > 0 && stats.blackoutDrops() > 0 && stats.duplicated() > 0,
                stats.toString());
        assertTrue(sender.issued.stream().anyMatch(b -> b.refCnt() > 0), "some datagrams are still in flight");
        sim.close();
        for (ByteBuf b : sender.issued) {
            assertEquals(0, b.refCnt());
        }
        assertThrows(IllegalStateException.class, () -> sim.run(S));
    }

    @Test
    void sameSeedReproducesARunAndAnotherSeedDoesNot() {
        TestEndpoints.withSampledLeakDetection(() -> {
            assertEquals(impairedRun(11), impairedRun(11));
            assertNotEquals(impairedRun(11), impairedRun(12));
        });
    }

    private static List<Object> impairedRun(long seed) {
        PathConfig path = PathConfig.builder().loss(0.02).burstLoss(0.005, 0.3, 0.8).reorder(0.02, Duration.ofMillis(2))
                .duplicate(0.01).jitter(Duration.ofMillis(1)).build();
        try (NetworkSimulator sim = NetworkSimulator.builder().path(path).seed(seed).build()) {
            Sink sink = new Sink();
            sim.attach("x", new Paced(500, 200_000, 3000, 0), sink);
            sim.run(S);
            return List.of(sim.pathStats(Direction.A_TO_B), sink.seqs, sink.times);
        }
    }

    @Test
    void actionsRunAtTheirTimeAndLateFlowsStartWhenAttached() {
        try (NetworkSimulator sim = NetworkSimulator.builder().build()) {
            Sink sink = new Sink();
            List<Long> ranAt = new ArrayList<>();
            sim.schedule(S, () -> {
                ranAt.add(sim.now());
                sim.attach("late", new Paced(100, MS, 3, sim.now()), sink);
            });
            sim.run(2 * S);
            assertEquals(List.of(S), ranAt);
            assertEquals(List.of(0L, 1L, 2L), sink.seqs);
            assertEquals(S + 40 * MS + 1_024 + 10_240, (long) sink.times.get(0));
        }
    }

    @Test
    void wakePollsAnEndpointChangedFromOutsideTheSimulatorsCalls() {
        try (NetworkSimulator sim = NetworkSimulator.builder().build()) {
            Echo outbox = new Echo();
            DatagramEndpoint relay = new DatagramEndpoint() {
                @Override
                public void receive(long nowNanos, ByteBuf datagram) {
                    outbox.pending.add(datagram);
                    sim.wake(outbox);
                }

                @Override
                public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
                    return null;
                }

                @Override
                public long nextTimeoutNanos() {
                    return Long.MAX_VALUE;
                }

                @Override
                public void onTimeout(long nowNanos) {
                }
            };
            Sink sink = new Sink();
            sim.attach("in", new Paced(100, MS, 5, 0), relay);
            sim.attach("out", outbox, sink);
            sim.run(S);
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), sink.seqs);
            long oneWay = 40 * MS + 1_024 + 10_240;
            assertEquals(2 * oneWay, (long) sink.times.get(0));
        }
    }

    @Test
    void anEndpointThatAsksForTimeoutsWithoutProgressIsReported() {
        DatagramEndpoint spinning = new DatagramEndpoint() {
            @Override
            public void receive(long nowNanos, ByteBuf datagram) {
                datagram.release();
            }

            @Override
            public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
                return null;
            }

            @Override
            public long nextTimeoutNanos() {
                return 0;
            }

            @Override
            public void onTimeout(long nowNanos) {
            }
        };
        NetworkSimulator sim = NetworkSimulator.builder().build();
        sim.attach("spin", spinning, new Sink());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> sim.run(S));
        assertTrue(e.getMessage().startsWith("flow spin side A: endpoint asked"), e.getMessage());
        IllegalStateException after = assertThrows(IllegalStateException.class, () -> sim.run(S));
        assertTrue(after.getMessage().contains("only close() is allowed"), after.getMessage());
        sim.close();
    }

    @Test
    void badConfigurationIsRejectedWithThePreciseField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PathConfig.builder().loss(1.5).build());
        assertEquals("path.lossProbability: 1.5 (expected: a probability in [0, 1])", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PathConfig.builder().reorder(0.1, Duration.ZERO).build());
        assertEquals("path.reorderDelayNanos: 0 (expected: > 0 when reorderProbability > 0)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PathConfig.builder()
                .blackout(Duration.ofSeconds(1), Duration.ofSeconds(3))
                .blackout(Duration.ofSeconds(2), Duration.ofSeconds(4)).build());
        assertTrue(e.getMessage().startsWith("path.blackouts[1]: "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new PathConfig.GilbertElliott(0.1, 0, 1, 0));
        assertEquals("path.burstLoss.pBadToGood: 0.0 (expected: > 0, or the bad state never ends)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> NetworkSimulator.builder().accessRateBitsPerSecond(1_000_000).build());
        assertTrue(e.getMessage().startsWith("simulator.accessRateBitsPerSecond: 1000000 (expected: >= the faster"),
                e.getMessage());
        try (NetworkSimulator sim = NetworkSimulator.builder().build()) {
            Sink shared = new Sink();
            sim.attach("one", new Sink(), shared);
            e = assertThrows(IllegalArgumentException.class, () -> sim.attach("two", shared, new Sink()));
            assertTrue(e.getMessage().contains("it belongs to flow one"), e.getMessage());
            sim.run(S);
            e = assertThrows(IllegalArgumentException.class, () -> sim.run(S - 1));
            assertEquals("untilNanos: 999999999 (expected: >= now, 1000000000)", e.getMessage());
        }
    }
}
