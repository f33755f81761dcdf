package dev.braid.tmp;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Goodput of one link on a 100 Mbit/s path with an 80 ms RTT and random loss, in the test network
 * (virtual time; a one-BDP drop-tail queue). Goodput counts stream bytes delivered in order, over
 * 12 s after 3 s of warm-up. Runs on untracked heap buffers for speed; the correctness scenarios
 * in {@link UdpConnectionTest} run on tracked ones.
 */
class LinkScenarioTest {

    static double goodputMbps(CongestionControl cc, int streams, double loss, long seed) {
        LinkSettings settings = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT.withCongestionControl(cc));
        try (UdpPair p = new UdpPair(seed, settings)) {
            p.net.alloc = UdpPair.heap();
            p.net.ab.bitsPerSecond = 100e6;
            p.net.ab.delayNanos = 40_000_000;
            p.net.ba.delayNanos = 40_000_000;
            p.net.ab.queueBytes = 1_000_000;
            p.net.ab.loss = loss;
            p.run(0.5);
            for (int i = 0; i < streams; i++) {
                p.bulk(2, Long.MAX_VALUE);
            }
            p.accepted.forEach(s -> s.countOnly = true);
            p.run(3);
            p.accepted.forEach(s -> s.countOnly = true);
            long before = p.receivedBytes();
            p.run(12);
            double mbps = (p.receivedBytes() - before) * 8 / 12e6;
            System.out.printf("%s, %d streams, %.0f%% loss: %.1f Mbit/s (cwnd %d, N %.1f, lost %d)%n", cc.label(),
                    streams, loss * 100, mbps, p.client.congestionWindow(), p.client.hostedStreams(),
                    p.client.packetsLost());
            return mbps;
        }
    }

    @ParameterizedTest(name = "{0}, {1} streams, {2} loss: at least {3} Mbit/s")
    @CsvSource({
            "BBR, 100, 0.01, 85",
            "N_FLOW, 100, 0.01, 85",
            "BBR, 10, 0.01, 85",
            "BBR, 10, 0.03, 80",
    })
    void goodputOnALossyLongPath(CongestionControl cc, int streams, double loss, double atLeast) {
        double mbps = goodputMbps(cc, streams, loss, 11);
        assertTrue(mbps >= atLeast, cc + " with " + streams + " streams at " + loss + " loss: " + mbps + " Mbit/s");
    }
}
