package dev.braid.tmp;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The datagram connection end to end in a deterministic network: handshake, integrity under loss, close. */
class UdpConnectionTest {

    static byte[] expected(long total) {
        byte[] b = new byte[(int) total];
        for (int i = 0; i < total; i++) {
            b[i] = (byte) (i * 31L % 251);
        }
        return b;
    }

    @Test
    void handshakeThenStreamsArriveIntactUnderLoss() {
        try (UdpPair p = new UdpPair(1, LinkSettings.DEFAULT)) {
            p.net.ab.loss = 0.03;
            p.net.ba.loss = 0.03;
            p.net.ab.bitsPerSecond = 50e6;
            p.net.ab.delayNanos = 20_000_000;
            p.net.ba.delayNanos = 20_000_000;
            p.run(1);
            assertTrue(p.client.isEstablished(), "client established");
            assertTrue(p.server.isEstablished(), "server established");
            for (int i = 0; i < 5; i++) {
                p.bulk(i % 3, 300_000 + i * 1000L);
            }
            p.run(10);
            assertEquals(5, p.accepted.size());
            for (int i = 0; i < 5; i++) {
                LinkCoreTest.Sink s = p.accepted.get(i);
                assertTrue(s.fin, "stream " + i + " finished");
                assertNull(s.reset);
                byte[] want = expected(300_000 + i * 1000L);
                assertTrue(java.util.Arrays.equals(want, s.bytes.toByteArray()), "stream " + i + " intact");
            }
            assertTrue(p.client.packetsLost() > 0, "losses happened");
            assertTrue(p.client.localQos().isKnown());
            assertTrue(p.server.peerQos().isKnown(), "QoS reports travel");
        }
    }
}
