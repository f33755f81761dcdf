package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recovery core alone, with hand-made times: RFC 9002 numbers, thresholds, timers, windows. */
class RecoveryTest {

    static final long MS = 1_000_000L;
    static final int MSS = 1441;

    /** Records what recovery hands back. */
    static final class Events implements Recovery.Listener {
        final List<Long> lost = new ArrayList<>();
        final List<Long> acked = new ArrayList<>();
        int roundStreams = 1;

        @Override
        public void framesAcked(List<SentFrame> frames) {
            for (SentFrame f : frames) {
                acked.add(f.offset);
            }
        }

        @Override
        public void framesLost(List<SentFrame> frames) {
            for (SentFrame f : frames) {
                lost.add(f.offset);
            }
        }

        @Override
        public void ackAcknowledged(long largest) {
        }

        @Override
        public int roundStreams() {
            return roundStreams;
        }
    }

    /** A control frame whose "offset" names the packet it was sent in, so tests can follow frames. */
    static List<SentFrame> frameOf(long pn) {
        return new ArrayList<>(List.of(new SentFrameProbe(pn).frame));
    }

    static final class SentFrameProbe {
        final SentFrame frame;

        SentFrameProbe(long pn) {
            TmpStream s = new TmpStream(null, 0, "t", false, null, true);
            s.id = 0;
            frame = SentFrame.data(s, pn, io.netty.buffer.Unpooled.EMPTY_BUFFER, false);
        }
    }

    static AckRanges ack(long... inclusivePairs) {
        AckRanges r = new AckRanges(64);
        for (int i = 0; i < inclusivePairs.length; i += 2) {
            for (long pn = inclusivePairs[i]; pn <= inclusivePairs[i + 1]; pn++) {
                r.add(pn);
            }
        }
        return r;
    }

    static Recovery recovery(Events events, CongestionControl cc) {
        DatagramSettings s = DatagramSettings.DEFAULT.withCongestionControl(cc);
        return new Recovery(s, cc.create(s, MSS), events);
    }

    @Test
    void ackRangesMergeAndEncodeLikeRfc9000() throws Exception {
        AckRanges r = new AckRanges(64);
        long[] order = {5, 1, 2, 9, 3, 10, 11, 7, 0};
        for (long pn : order) {
            assertTrue(r.add(pn));
        }
        assertFalse(r.add(2), "duplicate");
        assertEquals("[0..3, 5..5, 7..7, 9..11]", r.toString());
        ByteBuf b = ByteBufAllocator.DEFAULT.buffer();
        try {
            Frames.writeAck(b, r, 1234, 64);
            // type, largest 11, delay 1234, 3 more ranges, first range 2, then (gap 0, len 0) twice, (gap 0, len 3)
            assertEquals(Frames.ACK, b.getUnsignedByte(0));
            AckRanges[] decoded = new AckRanges[1];
            long[] delay = new long[1];
            Frames.decode(b, new FramesTest.Nothing() {
                @Override
                public void ack(AckRanges ranges, long ackDelayMicros) {
                    decoded[0] = ranges;
                    delay[0] = ackDelayMicros;
                }
            });
            assertEquals(r.toString(), decoded[0].toString());
            assertEquals(1234, delay[0]);
        } finally {
            b.release();
        }
        r.removeBelow(6);
        assertEquals("[7..7, 9..11]", r.toString());
        // Bounded: the oldest ranges go first.
        AckRanges small = new AckRanges(3);
        for (long pn = 0; pn < 20; pn += 2) {
            small.add(pn);
        }
        assertEquals("[14..14, 16..16, 18..18]", small.toString());
    }

    @Test
    void ackFramesThatDoNotAddUpAreRefused() {
        ByteBuf b = ByteBufAllocator.DEFAULT.buffer();
        try {
            b.writeByte(Frames.ACK);
            VarInt.write(b, 5);
            VarInt.write(b, 0);
            VarInt.write(b, 1);
            VarInt.write(b, 2); // 3..5
            VarInt.write(b, 4); // gap below 3 of 5 packets: below zero
            VarInt.write(b, 0);
            TmpProtocolException e = assertThrows(TmpProtocolException.class,
                    () -> Frames.decode(b, new FramesTest.Nothing()));
            assertEquals(ResetCode.FRAME_ENCODING_ERROR, e.code());
        } finally {
            b.release();
        }
    }

    @Test
    void rttEstimatorFollowsRfc9002Section5() {
        RttEstimator rtt = new RttEstimator(333 * MS, 25 * MS);
        assertEquals(333 * MS, rtt.smoothed());
        assertEquals(333 * MS / 2, rtt.variance());
        rtt.update(50 * MS, 20 * MS);
        assertEquals(50 * MS, rtt.smoothed(), "first sample: smoothed = latest (ack delay ignored)");
        assertEquals(25 * MS, rtt.variance(), "first sample: variance = latest / 2");
        assertEquals(50 * MS, rtt.min());
        rtt.update(100 * MS, 10 * MS);
        // adjusted = 100 - 10 = 90; variance = 3/4 25 + 1/4 |50 - 90| = 28.75; smoothed = 7/8 50 + 1/8 90 = 55
        assertEquals(55 * MS, rtt.smoothed());
        assertEquals(28_750_000L, rtt.variance());
        // The ack delay is not subtracted where that would go below min RTT: 55 < 50 + 10.
        rtt.update(55 * MS, 10 * MS);
        assertEquals((7 * 55 * MS + 55 * MS) / 8, rtt.smoothed());
        // Ack delay above max_ack_delay is capped at it: 200 - 25, not 200 - 100.
        RttEstimator capped = new RttEstimator(333 * MS, 25 * MS);
        capped.update(100 * MS, 0);
        capped.update(200 * MS, 100 * MS);
        assertEquals((7 * 100 * MS + 175 * MS) / 8, capped.smoothed());
        assertEquals(rtt.smoothed() + 4 * rtt.variance() + 25 * MS, rtt.pto(), "§6.2.1");
    }

    @Test
    void packetThresholdThenTimeThreshold() {
        Events ev = new Events();
        Recovery r = recovery(ev, CongestionControl.N_FLOW);
        for (int pn = 0; pn < 10; pn++) {
            r.onPacketSent(pn * MS, MSS, true, frameOf(pn), -1);
        }
        // Ack packet 4 at 100 ms: 0 and 1 are 3 or more behind; 2 and 3 are not.
        assertTrue(r.onAck(100 * MS, ack(4, 4), 0));
        assertEquals(List.of(0L, 1L), ev.lost);
        assertEquals(96 * MS, r.rtt.latest());
        long lossDelay = 9 * 96 * MS / 8;
        assertEquals(2 * MS + lossDelay, r.lossDetectionTimer(), "time threshold armed on packet 2");
        r.onLossDetectionTimeout(2 * MS + lossDelay - 1);
        assertEquals(List.of(0L, 1L), ev.lost, "not before 9/8 RTT");
        r.onLossDetectionTimeout(2 * MS + lossDelay);
        assertEquals(List.of(0L, 1L, 2L), ev.lost);
        assertEquals(3 * MS + lossDelay, r.lossDetectionTimer(), "re-armed on packet 3");
        r.onLossDetectionTimeout(3 * MS + lossDelay);
        assertEquals(List.of(0L, 1L, 2L, 3L), ev.lost);
        assertFalse(r.onAck(200 * MS, ack(10, 10), 0), "acknowledging a packet never sent is refused");
    }

    @Test
    void probeTimeoutBacksOffAndIsCapped() {
        Events ev = new Events();
        Recovery r = recovery(ev, CongestionControl.N_FLOW);
        r.onPacketSent(0, MSS, true, frameOf(0), -1);
        r.onAck(100 * MS, ack(0, 0), 0);
        long pto = r.rtt.pto();
        assertEquals(100 * MS + 4 * 50 * MS + 25 * MS, pto, "srtt + 4 rttvar + max_ack_delay");
        r.onPacketSent(200 * MS, MSS, true, frameOf(1), -1);
        assertEquals(200 * MS + pto, r.lossDetectionTimer());
        r.onLossDetectionTimeout(200 * MS + pto);
        assertEquals(2, r.probesToSend(), "a PTO asks for two probes");
        assertTrue(r.windowAllows(Integer.MAX_VALUE / 2), "probes ignore the window");
        r.onPacketSent(200 * MS + pto, MSS, true, frameOf(2), -1);
        r.onPacketSent(200 * MS + pto, MSS, true, frameOf(3), -1);
        assertEquals(0, r.probesToSend());
        assertEquals(200 * MS + pto + 2 * pto, r.lossDetectionTimer(), "doubled");
        for (int i = 0; i < 10; i++) {
            r.onLossDetectionTimeout(r.lossDetectionTimer());
        }
        assertEquals(Recovery.MAX_PTO, r.currentPto(), "capped at one second");
        assertTrue(ev.lost.isEmpty(), "a probe timeout declares nothing lost");
        for (int pn = 4; pn <= 6; pn++) {
            r.onPacketSent(4_000 * MS, MSS, true, frameOf(pn), -1);
        }
        r.onAck(4_100 * MS, ack(6, 6), 0);
        assertEquals(List.of(1L, 2L, 3L), ev.lost);
        assertEquals(r.rtt.pto(), r.currentPto(), "an acknowledgement resets the backoff");
    }

    @Test
    void persistentCongestionDropsTheWindowToTwoPackets() {
        Events ev = new Events();
        Recovery r = recovery(ev, CongestionControl.N_FLOW);
        r.onPacketSent(0, MSS, true, frameOf(0), -1);
        r.onAck(100 * MS, ack(0, 0), 0);
        ev.roundStreams = 8;
        // Packets 1..20 over 2 s, all lost; packet 21 acknowledged afterwards.
        for (int pn = 1; pn <= 21; pn++) {
            r.onPacketSent(100 * MS + pn * 100 * MS, MSS, true, frameOf(pn), -1);
        }
        assertTrue(r.window() > 2L * MSS);
        r.onAck(2_300 * MS, ack(21, 21), 0);
        assertEquals(20, ev.lost.size());
        assertEquals(1, r.persistentCongestionEvents());
        assertEquals(2L * MSS, r.window(), "RFC 9002 §7.6: the minimum window, below the N-packet floor");
        // A short run (less than 3 PTOs) is an ordinary loss event.
        Events ev2 = new Events();
        Recovery r2 = recovery(ev2, CongestionControl.N_FLOW);
        r2.onPacketSent(0, MSS, true, frameOf(0), -1);
        r2.onAck(100 * MS, ack(0, 0), 0);
        for (int pn = 1; pn <= 5; pn++) {
            r2.onPacketSent(100 * MS + pn * MS, MSS, true, frameOf(pn), -1);
        }
        r2.onAck(200 * MS, ack(5, 5), 0);
        assertEquals(0, r2.persistentCongestionEvents());
        assertTrue(r2.window() > 2L * MSS);
    }

    @Test
    void nFlowWindowGrowsByNPacketsPerRoundAndCutsByOneOverTwoN() {
        DatagramSettings s = DatagramSettings.DEFAULT;
        for (int n : new int[] {1, 4, 16}) {
            NFlowController c = new NFlowController(s, MSS);
            c.hostedStreams(n);
            for (int i = 0; i < 1000; i++) {
                c.onPacketAcked(1, 1, MSS, c.window()); // slow start to about 1000 packets
            }
            c.onPacketLost(2, 2, MSS); // leave slow start
            long w0 = c.window();
            // One window's worth of acknowledgements: N packets of growth.
            long acked = 0;
            long t = 3;
            while (acked < w0) {
                c.onPacketAcked(t, t, MSS, w0);
                acked += MSS;
                t++;
            }
            long grown = c.window() - w0;
            assertEquals(n * MSS, grown, 0.05 * n * MSS + 2, "N=" + n + ": grew " + grown);
            // One loss of a packet sent after the last cut: cut by 1/(2N).
            long before = c.window();
            c.onPacketLost(t + 10, t + 5, MSS);
            double expected = Math.max(before * (1 - 1.0 / (2 * n)), (double) n * MSS);
            assertEquals(expected, c.window(), MSS, "N=" + n);
        }
        assertEquals(0.5, NFlowController.beta(1), 1e-12, "one flow: Reno's half");
        assertEquals(1.0 / 32, NFlowController.beta(16), 1e-12);
        assertEquals(1, NFlowController.flowsHit(16, 1), 1e-12);
        assertEquals(16 * (1 - Math.pow(15.0 / 16, 3)), NFlowController.flowsHit(16, 3), 1e-12);
        // Two losses in one episode cut from the episode's start: (1 - 1/32)^d(2), not twice from the new window.
        NFlowController e = new NFlowController(s, MSS);
        e.hostedStreams(16);
        for (int i = 0; i < 2000; i++) {
            e.onPacketAcked(1, 1, MSS, e.window());
        }
        long start = e.window();
        e.onPacketLost(10, 5, MSS);
        e.onPacketLost(11, 4, MSS);
        assertEquals(start * Math.pow(1 - 1.0 / 32, NFlowController.flowsHit(16, 2)), e.window(), 2);
        // Many losses in one round: at most what every flow halving would do.
        NFlowController c = new NFlowController(s, MSS);
        c.hostedStreams(16);
        c.onPacketLost(0, 0, MSS);
        c.onPacketAcked(1, 1, MSS, 0);
        for (int i = 0; i < 10_000; i++) {
            c.onPacketLost(2, -1, MSS);
        }
        assertTrue(c.window() >= 16L * MSS, "never below N packets");
    }

    @Test
    void theWindowNeverDropsBelowNPacketsAndFollowsN() {
        NFlowController c = new NFlowController(DatagramSettings.DEFAULT, MSS);
        c.hostedStreams(50);
        assertEquals(50L * MSS, c.window(), "raised to the floor when streams join");
        for (int i = 0; i < 100; i++) {
            c.onPacketLost(i * 1000L, i * 1000L - 1, MSS);
        }
        assertEquals(50L * MSS, c.window());
        c.hostedStreams(1_000);
        assertEquals(128L * MSS, c.window(), "N is capped (maxFlows)");
        c.onPersistentCongestion(1_000_000);
        assertEquals(2L * MSS, c.window());
        c.hostedStreams(128);
        assertEquals(2L * MSS, c.window(), "after persistent congestion the floor waits for regrowth");
        long t = 2_000_000;
        while (c.window() < 128L * MSS) {
            c.onPacketAcked(t, t, MSS, c.window());
            t++;
        }
        for (int i = 0; i < 100; i++) {
            c.onPacketLost(t + i * 1000L, t + i * 1000L - 1, MSS);
        }
        assertEquals(128L * MSS, c.window(), "the floor is back");
    }

    @Test
    void pacerReleasesInMillisecondQuanta() {
        Pacer p = new Pacer(MS, MSS);
        double rate = 100e6 / 8; // 100 Mbit/s
        long now = 0;
        int burst = 0;
        while (p.releaseTime(now, rate, MSS) == now) {
            p.onSent(now, rate, MSS);
            burst++;
        }
        assertEquals(17, burst, "two quanta of tokens at the start: 25,000 bytes");
        long next = p.releaseTime(now, rate, MSS);
        assertEquals(now + MS, next, "a dry bucket waits a quantum, not 112 µs");
        int sent = 0;
        for (long t = next; t < next + 100 * MS; t += MS) {
            while (p.releaseTime(t, rate, MSS) == t) {
                p.onSent(t, rate, MSS);
                sent++;
            }
        }
        double achieved = sent * (double) MSS / 0.1;
        assertEquals(rate, achieved, rate * 0.02, "the rate holds with 1 ms timers");
        // A slow rate waits for a whole packet's tokens.
        Pacer slow = new Pacer(MS, MSS);
        double r = 1e6 / 8; // 1 Mbit/s: 11.5 ms per packet
        slow.onSent(0, r, MSS);
        slow.onSent(0, r, MSS);
        long wait = slow.releaseTime(0, r, MSS) - 0;
        assertEquals(MSS * 1e9 / r, wait, 1000);
    }

    @Test
    void bbrModelsTheBottleneckAndIgnoresRandomLoss() {
        DatagramSettings s = DatagramSettings.DEFAULT.withCongestionControl(CongestionControl.BBR);
        BbrController c = new BbrController(s, MSS);
        CongestionController.AckSample a = new CongestionController.AckSample();
        RttEstimator rtt = new RttEstimator(80 * MS, 25 * MS);
        a.rtt = rtt;
        double rate = 12.5e6;
        for (int round = 0; round < 40; round++) {
            rtt.update(80 * MS, 0);
            a.rttSampled = true;
            a.now = round * 80 * MS;
            a.deliveryRate = rate;
            a.roundStart = true;
            a.ackedBytes = 100L * MSS;
            a.roundAcked = 700;
            a.roundLost = 20; // 3% random loss: ignored
            a.inFlight = (long) (rate * 0.08);
            c.onAck(a.now, a);
        }
        assertEquals(rate, c.bottleneckRate(), 1);
        assertEquals(BbrController.Mode.PROBE_BW, c.mode());
        assertTrue(c.window() >= 2 * rate * 0.08, "cwnd = 2 BDP: " + c.window());
        // A round with 30% loss backs off.
        a.roundLost = 300;
        a.now += 80 * MS;
        c.onAck(a.now, a);
        assertTrue(c.window() <= 0.7 * rate * 0.08 + 4 * MSS, "backed off: " + c.window());
    }
}
