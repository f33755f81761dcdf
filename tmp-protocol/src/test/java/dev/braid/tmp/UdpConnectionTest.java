package dev.braid.tmp;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
                p.bulk(i % 3, 100_000 + i * 1000L);
            }
            p.run(10);
            assertEquals(5, p.accepted.size());
            for (int i = 0; i < 5; i++) {
                LinkCoreTest.Sink s = p.accepted.get(i);
                assertTrue(s.fin, "stream " + i + " finished");
                assertNull(s.reset);
                byte[] want = expected(100_000 + i * 1000L);
                assertTrue(java.util.Arrays.equals(want, s.bytes.toByteArray()), "stream " + i + " intact");
            }
            assertTrue(p.client.packetsLost() > 0, "losses happened");
            assertTrue(p.client.localQos().isKnown());
            assertTrue(p.server.peerQos().isKnown(), "QoS reports travel");
        }
    }

    private static UdpPair established(long seed, LinkSettings settings) {
        UdpPair p = new UdpPair(seed, settings);
        p.net.ab.bitsPerSecond = 20e6;
        p.net.ba.bitsPerSecond = 20e6;
        p.net.ab.delayNanos = 20_000_000;
        p.net.ba.delayNanos = 20_000_000;
        p.net.ab.queueBytes = 100_000;
        p.net.ba.queueBytes = 100_000;
        p.run(0.5);
        assertTrue(p.client.isEstablished());
        return p;
    }

    @Test
    void aTwoSecondBlackoutIsRiddenOutWithoutResets() {
        try (UdpPair p = established(2, LinkSettings.DEFAULT)) {
            p.net.alloc = UdpPair.heap();
            UdpPair.Bulk b = p.bulk(1, 5_000_000);
            p.run(1);
            long before = p.receivedBytes();
            assertTrue(before > 0);
            long from = p.net.now;
            p.net.blackout(from, from + 2_000_000_000L);
            p.run(2);
            long during = p.receivedBytes();
            p.run(6);
            assertTrue(p.client.isEstablished() && p.server.isEstablished(), "link survived: " + p.closed);
            assertNull(b.reset, "stream not reset");
            assertNull(p.accepted.get(0).reset);
            assertTrue(p.accepted.get(0).fin, "transfer completed after the blackout");
            assertEquals(5_000_000, p.receivedBytes());
            assertTrue(during - before < 200_000, "nothing moved during the blackout");
            assertTrue(p.client.persistentCongestionEvents() >= 1, "RFC 9002 §7.6 declared persistent congestion");
        }
    }

    @Test
    void aThirtyPercentLossBurstNeitherStallsForGoodNorGrowsMemory() {
        LinkSettings settings = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT
                .withCongestionControl(CongestionControl.N_FLOW));
        try (UdpPair p = established(3, settings)) {
            p.net.alloc = UdpPair.heap();
            for (int i = 0; i < 4; i++) {
                p.bulk(2, Long.MAX_VALUE);
            }
            p.accepted.forEach(s -> s.countOnly = true);
            p.run(3);
            p.accepted.forEach(s -> s.countOnly = true);
            long t = p.net.now;
            p.net.ab.burstFrom = t;
            p.net.ab.burstUntil = t + 5_000_000_000L;
            p.net.ab.burstLoss = 0.3;
            p.net.ba.burstFrom = t;
            p.net.ba.burstUntil = t + 5_000_000_000L;
            p.net.ba.burstLoss = 0.3;
            int maxTracked = 0;
            for (int i = 0; i < 50; i++) {
                p.run(0.1);
                maxTracked = Math.max(maxTracked, p.client.recovery().trackedPackets());
            }
            long beforeRecovery = p.receivedBytes();
            p.run(5);
            long after = p.receivedBytes();
            double mbps = (after - beforeRecovery) * 8 / 5e6;
            assertTrue(mbps > 10, "the link recovered after the burst: " + mbps + " Mbit/s of 20");
            // Outstanding packets are bounded by the window: 20 Mbit/s x 40 ms is 70 packets, the
            // loss burst must not let the packet ring (or anything) grow without bound.
            assertTrue(maxTracked < 500, "tracked packets during the burst: " + maxTracked);
            assertTrue(p.client.isEstablished());
            for (UdpPair.Bulk b : p.bulks) {
                assertNull(b.reset);
            }
        }
    }

    @Test
    void flowControlHoldsUnderLossAndStreamsStayIntact() {
        LinkSettings small = LinkSettings.DEFAULT.withWindows(16 * 1024, 64 * 1024);
        try (UdpPair p = established(4, small)) {
            p.net.ab.loss = 0.1;
            p.net.ba.loss = 0.1;
            for (int i = 0; i < 6; i++) {
                p.bulk(i % 5, 120_000);
            }
            long maxPinned = 0;
            for (int i = 0; i < 600 && p.accepted.stream().filter(s -> s.fin).count() < 6; i++) {
                p.run(0.05);
                long pinned = 0;
                for (LinkCoreTest.Sink s : p.accepted) {
                    if (s.stream != null) {
                        pinned += s.stream.recvHighest - s.stream.recvDelivered;
                    }
                }
                maxPinned = Math.max(maxPinned, pinned);
            }
            for (LinkCoreTest.Sink s : p.accepted) {
                assertTrue(s.fin);
                assertTrue(java.util.Arrays.equals(expected(120_000), s.bytes.toByteArray()));
            }
            assertTrue(maxPinned <= 64 * 1024, "reassembly memory within the link window: " + maxPinned);
        }
    }

    @Test
    void versionNegotiationFindsACommonVersionOrFailsClearly() {
        try (UdpPair p = new UdpPair(5, LinkSettings.DEFAULT)) {
            p.client.offerVersions(0x7A7A, TmpConnection.VERSION);
            p.run(2);
            assertTrue(p.client.isEstablished(), "retried with version 1: " + p.closed);
            assertEquals(TmpConnection.VERSION, p.client.version());
        }
        try (UdpPair p = new UdpPair(6, LinkSettings.DEFAULT)) {
            p.client.offerVersions(0x7A7A);
            p.run(2);
            assertTrue(p.client.isClosed());
            assertTrue(p.client.closeReason().contains("peer speaks TMP versions [1]"), p.client.closeReason());
        }
    }

    @Test
    void aSmallStreamIsNotHeldBackByLossesOnABulkStream() {
        try (UdpPair p = established(8, LinkSettings.DEFAULT)) {
            p.net.alloc = UdpPair.heap();
            p.net.ab.loss = 0.05;
            p.bulk(2, Long.MAX_VALUE);
            p.accepted.forEach(s -> s.countOnly = true);
            p.run(2);
            p.accepted.forEach(s -> s.countOnly = true);
            long worst = 0;
            for (int i = 0; i < 40; i++) {
                UdpPair.Bulk small = p.bulk(0, 1000);
                long start = p.net.now;
                int index = p.accepted.size();
                while (p.net.now - start < 2_000_000_000L
                        && (p.accepted.size() <= index || !p.accepted.get(index).fin)) {
                    p.run(0.002);
                }
                assertTrue(p.accepted.get(index).fin, "small stream " + i + " delivered");
                worst = Math.max(worst, p.net.now - start);
                assertNull(small.reset);
            }
            // One way 20 ms; a loss of the small stream's own packet costs about one more RTT plus the
            // detection delay. Head-of-line blocking behind the bulk stream would cost its whole backlog.
            assertTrue(worst < 200_000_000L, "worst small-stream delivery " + worst / 1_000_000 + " ms");
        }
    }

    @Test
    void keepalivesHoldAQuietLinkAndSilenceClosesItWithReasonsOnItsStreams() {
        // The dead-peer timeout (tested below) would end the link first: set it beyond the idle timeout.
        LinkSettings settings = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT
                .withDeadPeerTimeout(java.time.Duration.ofSeconds(60)));
        try (UdpPair p = established(9, settings)) {
            p.run(60);
            assertTrue(p.client.isEstablished() && p.server.isEstablished(), "a quiet link stays up: " + p.closed);
            // A stream that is open when the path goes silent for good.
            UdpPair.Bulk b = p.bulk(0, 1000);
            p.run(1);
            p.net.blackout(p.net.now, Long.MAX_VALUE);
            UdpPair.Bulk stuck = p.bulk(0, 1000);
            p.run(29);
            assertTrue(p.client.isEstablished(), "not closed before the idle timeout");
            p.run(2);
            assertTrue(p.client.isClosed() && p.server.isClosed());
            assertTrue(p.client.closeReason().startsWith("nothing received for 30000 ms"), p.client.closeReason());
            assertEquals(ResetCode.LINK_LOST, stuck.reset, "an open stream is reset, not dropped");
            assertEquals(ResetCode.LINK_LOST, b.reset, "so is one whose peer never answered");
        }
    }

    @Test
    void aPeerThatStopsAcknowledgingIsDeclaredLostAfterTheDeadPeerTimeout() {
        try (UdpPair p = established(11, LinkSettings.DEFAULT)) {
            UdpPair.Bulk b = p.bulk(1, 50_000_000);
            p.run(1);
            p.net.blackout(p.net.now, Long.MAX_VALUE);
            p.run(4.8);
            assertTrue(p.client.isEstablished(), "not before the 5 s dead-peer timeout: " + p.closed);
            p.run(1.2);
            assertTrue(p.client.isClosed(), "declared lost within the dead-peer timeout and a probe timeout");
            assertTrue(p.client.closeReason().startsWith("no acknowledgement for 5000 ms with data in flight"),
                    p.client.closeReason());
            assertEquals(ResetCode.LINK_LOST, b.reset, "its stream is reset with LINK_LOST");
        }
    }

    /**
     * A request sent and acknowledged, its answer still awaited, when the peer goes silent for good:
     * nothing is in flight, yet the stream waits. A PING one second into the silence puts something
     * in flight, so the dead-peer rule finds the peer gone in about six seconds, not thirty.
     */
    @Test
    void aStreamWaitingOnASilentPeerProbesItAndFindsItGoneWithinTheDeadPeerTimeout() {
        try (UdpPair p = established(13, LinkSettings.DEFAULT)) {
            UdpPair.Bulk waiting = p.bulk(0, 1000);
            p.run(1);
            assertTrue(p.client.isEstablished());
            p.net.blackout(p.net.now, Long.MAX_VALUE);
            p.run(5.5);
            assertTrue(p.client.isEstablished(), "not before the probe and the dead-peer timeout: " + p.closed);
            p.run(2.5);
            assertTrue(p.client.isClosed(), "found gone within a probe, the dead-peer timeout and a probe timeout: "
                    + p.client.closeReason());
            assertTrue(p.client.closeReason().startsWith("no acknowledgement for 5000 ms"), p.client.closeReason());
            assertEquals(ResetCode.LINK_LOST, waiting.reset, "the waiting stream is reset with LINK_LOST");
        }
    }

    /** Nothing in flight, nothing to lose: a quiet link (QoS reports only) is judged by the idle timeout alone. */
    @Test
    void aQuietLinkIsJudgedByTheIdleTimeoutNotTheDeadPeerTimeout() {
        try (UdpPair p = established(12, LinkSettings.DEFAULT)) {
            p.run(1);
            p.net.blackout(p.net.now, Long.MAX_VALUE);
            p.run(29);
            assertTrue(p.client.isEstablished(), "no data in flight: not declared dead: " + p.closed);
            p.run(2);
            assertTrue(p.client.isClosed());
            assertTrue(p.client.closeReason().startsWith("nothing received for 30000 ms"), p.client.closeReason());
        }
    }

    @Test
    void aStatelessResetFromTheRestartedPeerClosesTheLinkAtOnceAndAForgedOneIsIgnored() {
        try (UdpPair p = established(10, LinkSettings.DEFAULT)) {
            UdpPair.Bulk b = p.bulk(1, 50_000_000);
            p.run(0.5);
            long serverCid = p.server.localConnectionId();
            assertArrayEquals(dev.braid.tmp.noise.StatelessReset.PLAIN_TEXT.token(serverCid), p.client.peerResetToken(),
                    "the server's token came with its HELLO");
            dev.braid.tmp.noise.StatelessReset.Responder forger = new dev.braid.tmp.noise.StatelessReset.Responder(
                    dev.braid.tmp.noise.StatelessReset.fromStaticKey(dev.braid.tmp.noise.X25519Keys.generate(
                            new java.security.SecureRandom())), new java.util.Random(1));
            p.net.inject(0, forger.answer(serverCid, 1200, p.net.now, p.net.alloc), 0);
            p.run(0.2);
            assertTrue(p.client.isEstablished(), "a reset with a wrong token is ignored: " + p.closed);
            assertNull(b.reset);
            // The server restarted: no state, but the same tokens.
            dev.braid.tmp.noise.StatelessReset.Responder restarted = new dev.braid.tmp.noise.StatelessReset.Responder(
                    dev.braid.tmp.noise.StatelessReset.PLAIN_TEXT, new java.util.Random(2));
            p.net.inject(0, restarted.answer(serverCid, 1200, p.net.now, p.net.alloc), 0);
            p.run(0.001);
            assertTrue(p.client.isClosed(), "closed at once");
            assertEquals(TmpConnection.STATELESS_RESET, p.client.closeReason());
            assertEquals(ResetCode.LINK_LOST, b.reset, "its stream is reset with LINK_LOST");
        }
    }
}
