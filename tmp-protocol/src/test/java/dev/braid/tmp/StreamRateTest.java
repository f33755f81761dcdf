package dev.braid.tmp;

import dev.braid.tmp.sim.NetworkSimulator;
import dev.braid.tmp.sim.PathConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Streams alone on a link with the default settings, in the network simulator on the target path
 * (100 Mbit/s both ways, 40 ms each way, one-BDP drop-tail queues): one large download must fill
 * the path, and what the link learnt about the path must survive small exchanges and quiet
 * periods, so that a link carrying web pages starts a large response at least as fast as a fresh
 * link and answers a small one in about one trip. The receiver consumes what arrives at once, as a
 * front-end writing to a fast client does.
 */
class StreamRateTest {

    private static final long MS = 1_000_000L;
    private static final long SECOND = 1000 * MS;
    private static final int HTML_BYTES = 19_476;

    private static PathConfig path() {
        return PathConfig.builder().rateMbps(100).delay(Duration.ofMillis(40)).build();
    }

    private static NetworkSimulator simulator(TmpSimFlow flow) {
        NetworkSimulator sim = NetworkSimulator.builder().path(path()).seed(1).alloc(UdpPair.heap()).build();
        sim.attach("tmp", flow.sideA(), flow.sideB(), 0);
        return sim;
    }

    @Test
    void aLoneStreamFillsTheLongFatPath() {
        TmpSimFlow flow = new TmpSimFlow(LinkSettings.DEFAULT, 1, 1);
        try (NetworkSimulator sim = simulator(flow)) {
            sim.run(2 * SECOND);
            long before = flow.deliveredBytes();
            sim.run(8 * SECOND);
            // From 2 s on: the handshake, startup and drain are over by then (about 15 of 25 round trips).
            double mbps = (flow.deliveredBytes() - before) * 8.0 / 6 / 1e6;
            System.out.printf("one stream, default settings: %.1f Mbit/s from 2 s to 8 s%n", mbps);
            assertTrue(mbps >= 85, "one stream carried " + mbps + " Mbit/s (expected: at least 85)");
            assertTrue(flow.closed.isEmpty(), flow.closed.toString());
        } finally {
            flow.close();
        }
    }

    @Test
    void smallExchangesAndAQuietSpellDoNotMakeTheLinkForgetThePath() {
        long bulk = 10L * 1024 * 1024;
        long fresh;
        TmpSimFlow freshFlow = new TmpSimFlow(LinkSettings.DEFAULT, 0, 1);
        try (NetworkSimulator sim = simulator(freshFlow)) {
            sim.run(SECOND);
            fresh = transferNanos(freshFlow, sim, 1, bulk);
        } finally {
            freshFlow.close();
        }
        TmpSimFlow flow = new TmpSimFlow(LinkSettings.DEFAULT, 0, 1);
        try (NetworkSimulator sim = simulator(flow)) {
            sim.run(SECOND);
            transferNanos(flow, sim, 1, bulk);
            // Then 12 s of page loads: six HTML-sized responses at once, every 300 ms.
            long slowest = 0;
            for (int page = 0; page < 40; page++) {
                slowest = Math.max(slowest, transferNanos(flow, sim, 6, HTML_BYTES));
                sim.run(sim.now() + 300 * MS);
            }
            sim.run(sim.now() + 5 * SECOND);
            long again = transferNanos(flow, sim, 1, bulk);
            System.out.printf("10 MiB on a fresh link: %d ms; six 19 KB responses at most %d ms; "
                    + "10 MiB after them and 5 s quiet: %d ms%n", fresh / MS, slowest / MS, again / MS);
            // One way is 40 ms; six responses are 117 KB, under 10 ms at the path's rate.
            assertTrue(slowest <= 55 * MS, "six 19 KB responses took up to " + slowest / MS
                    + " ms (expected: at most 55, one trip and their serialisation)");
            assertTrue(again <= fresh, "10 MiB took " + again / MS + " ms after small exchanges and 5 s quiet, "
                    + fresh / MS + " ms on a fresh link");
            assertTrue(flow.closed.isEmpty(), flow.closed.toString());
        } finally {
            flow.close();
        }
    }

    @Test
    void aStreamAfterFiveQuietSecondsDoesNotProbeTheRoundTripFirst() {
        TmpSimFlow flow = new TmpSimFlow(LinkSettings.DEFAULT, 0, 1);
        try (NetworkSimulator sim = simulator(flow)) {
            sim.run(SECOND);
            // 7 s of bulk keep the queue full, so the minimum RTT stays the one of the first round
            // trips; after 5 s of quiet it is older than its 10 s window.
            TmpSimFlow.Source s = flow.open(2, Long.MAX_VALUE);
            sim.run(8 * SECOND);
            sim.schedule(sim.now(), () -> s.stream.reset(ResetCode.CANCELLED, "enough"));
            sim.run(sim.now() + 5 * SECOND);
            long start = sim.now();
            sim.schedule(start, () -> flow.open(2, 4L * 1024 * 1024));
            long smallest = Long.MAX_VALUE;
            for (long t = start + MS; t <= start + 500 * MS; t += MS) {
                sim.run(t);
                smallest = Math.min(smallest, flow.client.congestionWindow());
            }
            System.out.printf("after 5 s quiet: smallest window in the first 500 ms %d bytes%n", smallest);
            // PROBE_RTT would hold four packets in flight for 200 ms and a round trip.
            assertTrue(smallest > 10 * 1500, "the window fell to " + smallest + " bytes after 5 s quiet");
            assertTrue(flow.closed.isEmpty(), flow.closed.toString());
        } finally {
            flow.close();
        }
    }

    /** Opens {@code streams} streams of {@code size} bytes now and runs until the receiver has all of them. */
    private static long transferNanos(TmpSimFlow flow, NetworkSimulator sim, int streams, long size) {
        long start = sim.now();
        int first = flow.sinks.size();
        sim.schedule(start, () -> {
            for (int i = 0; i < streams; i++) {
                flow.open(2, size);
            }
        });
        long t = start;
        while (!allDone(flow, first, streams)) {
            t += MS;
            assertTrue(t - start < 30 * SECOND, "the transfer did not end within 30 s");
            sim.run(t);
        }
        return t - start;
    }

    private static boolean allDone(TmpSimFlow flow, int first, int streams) {
        if (flow.sinks.size() < first + streams) {
            return false;
        }
        for (int i = first; i < first + streams; i++) {
            if (!flow.sinks.get(i).fin) {
                return false;
            }
        }
        return true;
    }
}
