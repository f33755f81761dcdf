package dev.braid.tmp;

import org.junit.jupiter.api.Test;

class ThroughputProbeTest {

    @Test
    void probe() {
        for (CongestionControl cc : CongestionControl.values()) {
            for (int streams : new int[] {10, 100}) {
                LinkSettings settings = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT.withCongestionControl(cc));
                try (UdpPair p = new UdpPair(7, settings)) {
                    p.net.alloc = UdpPair.heap();
                    p.net.ab.bitsPerSecond = 100e6;
                    p.net.ab.delayNanos = 40_000_000;
                    p.net.ba.delayNanos = 40_000_000;
                    p.net.ab.queueBytes = 1_000_000;
                    p.net.ab.loss = 0.01;
                    p.run(0.5);
                    for (int i = 0; i < streams; i++) {
                        p.bulk(2, Long.MAX_VALUE);
                    }
                    p.accepted.forEach(s -> s.countOnly = true);
                    long t0 = System.nanoTime();
                    p.run(5);
                    p.accepted.forEach(s -> s.countOnly = true);
                    long before = p.receivedBytes();
                    for (int k = 0; k < 20; k++) {
                        long b0 = p.receivedBytes();
                        p.run(1);
                        if (streams == 100 && cc == CongestionControl.N_FLOW) {
                            System.out.printf("  t=%d %.1f Mbit/s cwnd %d inflight %d srtt %d ms lost %d dropsQ %d%n", k,
                                    (p.receivedBytes() - b0) * 8 / 1e6, p.client.congestionWindow(), p.client.bytesInFlight(),
                                    p.client.smoothedRttNanos() / 1_000_000, p.client.packetsLost(), p.net.ab.dropped);
                        }
                    }
                    long after = p.receivedBytes();
                    System.out.printf("%s %d streams: %.1f Mbit/s, cwnd %d, lost %d, N %.1f, wall %d ms%n", cc, streams,
                            (after - before) * 8 / 20e6, p.client.congestionWindow(), p.client.packetsLost(),
                            p.client.hostedStreams(), (System.nanoTime() - t0) / 1_000_000);
                }
            }
        }
    }
}
