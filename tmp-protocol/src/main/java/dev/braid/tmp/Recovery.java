package dev.braid.tmp;

import java.util.ArrayList;
import java.util.List;

/**
 * Loss detection and recovery after RFC 9002 for the UDP carrier, in one packet-number space:
 * packets in flight, acknowledgement processing with RTT samples (§5), packet- and time-threshold
 * loss detection (§6.1: 3 packets, 9/8 RTT), probe timeouts with exponential backoff (§6.2),
 * persistent congestion (§7.6), delivery-rate samples for the BBR-style controller and QoS, and
 * rounds (a round ends when a packet sent after it began is acknowledged) for counting hosted
 * streams. Frames, not packets, are retransmitted: a lost packet's frames go back to the link core.
 * Pure: no clock, no I/O; times are nanoseconds given by the caller.
 */
final class Recovery {

    static final long GRANULARITY = 1_000_000L;
    static final int PACKET_THRESHOLD = 3;
    /** The probe timeout stops doubling here, so a link recovers within a second of a long blackout. */
    static final long MAX_PTO = 1_000_000_000L;
    /**
     * Probe timeouts that must have expired, besides {@link DatagramSettings#deadPeerTimeout()}, before a
     * link is declared lost: a path whose round trip is close to the setting is not judged on one late ACK.
     */
    static final int DEAD_PEER_PTOS = 3;

    interface Listener {
        void framesAcked(List<SentFrame> frames);

        void framesLost(List<SentFrame> frames);

        /** A packet that carried an ACK up to {@code largest} was acknowledged: older ranges need not be repeated. */
        void ackAcknowledged(long largest);

        /** End of a round: the streams that had data in it. */
        int roundStreams();
    }

    static final class SentPacket {
        final long pn;
        final long timeSent;
        final int bytes;
        final boolean ackEliciting;
        final List<SentFrame> frames;
        final long ackLargest;
        final long delivered;
        final long deliveredTime;
        final long firstSentTime;
        final boolean appLimited;
        /** 0 outstanding, 1 acknowledged, 2 lost. */
        int state;

        SentPacket(long pn, long timeSent, int bytes, boolean ackEliciting, List<SentFrame> frames, long ackLargest,
                   long delivered, long deliveredTime, long firstSentTime, boolean appLimited) {
            this.pn = pn;
            this.timeSent = timeSent;
            this.bytes = bytes;
            this.ackEliciting = ackEliciting;
            this.frames = frames;
            this.ackLargest = ackLargest;
            this.delivered = delivered;
            this.deliveredTime = deliveredTime;
            this.firstSentTime = firstSentTime;
            this.appLimited = appLimited;
        }
    }

    private final DatagramSettings settings;
    private final CongestionController cc;
    private final Listener listener;
    final RttEstimator rtt;
    private final long maxAckDelay;

    /** Tracked packets by number: slot {@code pn - base}; null for packets not tracked (ACK-only). */
    private SentPacket[] ring = new SentPacket[64];
    private int head;
    private int count;
    private long base;
    private long nextPn;

    private long largestAcked = -1;
    private long bytesInFlight;
    private long ackElicitingInFlight;
    private long lastAckElicitingSent;
    private long lossTime = Long.MAX_VALUE;
    private int ptoCount;
    private int probesToSend;
    /** Since when ack-eliciting packets have been in flight with nothing newly acknowledged; meaningless when none are. */
    private long unansweredSince;
    private long firstRttSampleTime = -1;

    // Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation).
    private long delivered;
    private long deliveredTime;
    private long firstSentTime;
    private long appLimitedUntil;
    private long nextRoundDelivered;

    // Rounds and hosted streams.
    private long roundAcked;
    private long roundLost;
    private double hostedStreams = -1;

    // Totals.
    private long packetsSent;
    private long packetsAcked;
    private long packetsLost;
    private long persistentCongestionEvents;

    private final CongestionController.AckSample sample = new CongestionController.AckSample();
    private final List<SentPacket> lostBatch = new ArrayList<>();

    Recovery(DatagramSettings settings, CongestionController cc, Listener listener) {
        this.settings = settings;
        this.cc = cc;
        this.listener = listener;
        this.maxAckDelay = settings.maxAckDelay().toNanos();
        this.rtt = new RttEstimator(settings.initialRtt().toNanos(), maxAckDelay);
    }

    CongestionController controller() {
        return cc;
    }

    long nextPacketNumber() {
        return nextPn;
    }

    long largestAcked() {
        return largestAcked;
    }

    long bytesInFlight() {
        return bytesInFlight;
    }

    long window() {
        return cc.window();
    }

    /** Whether a packet of {@code bytes} fits the window now (probes always fit). */
    boolean windowAllows(int bytes) {
        return probesToSend > 0 || bytesInFlight + bytes <= cc.window();
    }

    /** Ack-eliciting packets the probe timeout asks for, regardless of the window. */
    int probesToSend() {
        return probesToSend;
    }

    double pacingRate() {
        return cc.pacingRate(rtt);
    }

    /** The sender has nothing to send while the window has room: rate samples until then are app-limited. */
    void markAppLimited() {
        if (bytesInFlight < cc.window()) {
            appLimitedUntil = Math.max(1, delivered + bytesInFlight);
        }
    }

    /**
     * Records a sent packet. ACK-only packets ({@code ackEliciting} false, no frames) are not
     * tracked: nothing in them needs recovery and they do not count against the window.
     */
    void onPacketSent(long now, int bytes, boolean ackEliciting, List<SentFrame> frames, long ackLargest) {
        long pn = nextPn++;
        packetsSent++;
        if (!ackEliciting) {
            if (count > 0) {
                put(pn, null);
            } else {
                base = pn + 1;
            }
            return;
        }
        if (bytesInFlight == 0) {
            cc.onRestartFromIdle(now);
            firstSentTime = now;
            deliveredTime = now;
        }
        SentPacket p = new SentPacket(pn, now, bytes, true, frames, ackLargest, delivered, deliveredTime,
                firstSentTime, appLimitedUntil != 0);
        if (count == 0) {
            base = pn;
        }
        put(pn, p);
        bytesInFlight += bytes;
        if (ackElicitingInFlight == 0) {
            unansweredSince = now;
        }
        ackElicitingInFlight++;
        lastAckElicitingSent = now;
        if (probesToSend > 0) {
            probesToSend--;
        }
    }

    private void put(long pn, SentPacket p) {
        long index = pn - base;
        while (index >= ring.length) {
            SentPacket[] grown = new SentPacket[ring.length * 2];
            for (int i = 0; i < count; i++) {
                grown[i] = ring[(head + i) % ring.length];
            }
            ring = grown;
            head = 0;
        }
        // Untracked numbers between the last tracked one and pn stay null.
        while (count <= index) {
            ring[(head + count) % ring.length] = null;
            count++;
        }
        ring[(int) ((head + index) % ring.length)] = p;
    }

    private SentPacket get(long pn) {
        long index = pn - base;
        if (index < 0 || index >= count) {
            return null;
        }
        return ring[(int) ((head + index) % ring.length)];
    }

    /** Drops resolved packets from the front. */
    private void trim() {
        while (count > 0) {
            SentPacket p = ring[head];
            if (p != null && p.state == 0) {
                return;
            }
            ring[head] = null;
            head = (head + 1) % ring.length;
            count--;
            base++;
        }
    }

    /** Processes an ACK frame received at {@code now}; false when it acknowledges a packet never sent. */
    boolean onAck(long now, AckRanges ranges, long ackDelayNanos) {
        long largest = ranges.largest();
        if (largest >= nextPn) {
            return false;
        }
        boolean newLargest = largest > largestAcked;
        if (newLargest) {
            largestAcked = largest;
        }
        long priorInFlight = bytesInFlight;
        long ackedBytes = 0;
        boolean ackElicitingAcked = false;
        SentPacket largestNewly = null;
        SentPacket newestDelivered = null;
        boolean roundStart = false;
        for (int i = ranges.size() - 1; i >= 0; i--) {
            long lo = Math.max(ranges.start(i), base);
            for (long pn = Math.min(ranges.end(i), base + count - 1); pn >= lo; pn--) {
                SentPacket p = get(pn);
                if (p == null || p.state != 0) {
                    continue;
                }
                p.state = 1;
                packetsAcked++;
                roundAcked++;
                bytesInFlight -= p.bytes;
                ackElicitingInFlight--;
                ackedBytes += p.bytes;
                ackElicitingAcked |= p.ackEliciting;
                if (largestNewly == null) {
                    largestNewly = p;
                }
                delivered += p.bytes;
                deliveredTime = now;
                if (newestDelivered == null || p.delivered > newestDelivered.delivered) {
                    newestDelivered = p;
                }
                if (p.delivered >= nextRoundDelivered) {
                    roundStart = true;
                }
                cc.onPacketAcked(now, p.timeSent, p.bytes, priorInFlight);
                listener.framesAcked(p.frames);
                if (p.ackLargest >= 0) {
                    listener.ackAcknowledged(p.ackLargest);
                }
            }
        }
        if (largestNewly == null) {
            return true;
        }
        unansweredSince = now;
        boolean sampled = false;
        if (largestNewly.pn == largest && ackElicitingAcked) {
            rtt.update(now - largestNewly.timeSent, ackDelayNanos);
            if (firstRttSampleTime < 0) {
                firstRttSampleTime = now;
            }
            sampled = true;
        }
        if (appLimitedUntil != 0 && delivered > appLimitedUntil) {
            appLimitedUntil = 0;
        }
        double rate = 0;
        if (newestDelivered != null) {
            firstSentTime = newestDelivered.timeSent;
            long sendElapsed = newestDelivered.timeSent - newestDelivered.firstSentTime;
            long ackElapsed = deliveredTime - newestDelivered.deliveredTime;
            long interval = Math.max(sendElapsed, ackElapsed);
            if (interval >= rtt.min() && interval > 0) {
                rate = (delivered - newestDelivered.delivered) * 1e9 / interval;
            }
        }
        detectLostPackets(now);
        ptoCount = 0;
        if (roundStart) {
            nextRoundDelivered = delivered;
            int n = listener.roundStreams();
            hostedStreams = hostedStreams < 0 ? n : hostedStreams + (n - hostedStreams) / 4;
            cc.hostedStreams(hostedStreams);
        }
        sample.now = now;
        sample.ackedBytes = ackedBytes;
        sample.inFlight = bytesInFlight;
        sample.deliveryRate = rate;
        sample.appLimited = newestDelivered != null && newestDelivered.appLimited;
        sample.roundStart = roundStart;
        sample.roundAcked = roundAcked;
        sample.roundLost = roundLost;
        sample.rtt = rtt;
        sample.rttSampled = sampled;
        cc.onAck(now, sample);
        if (roundStart) {
            roundAcked = 0;
            roundLost = 0;
        }
        trim();
        return true;
    }

    /** §6.1: declares lost what is 3 packets or 9/8 RTT behind the largest acknowledged; arms the loss timer. */
    private void detectLostPackets(long now) {
        lossTime = Long.MAX_VALUE;
        if (largestAcked < 0) {
            return;
        }
        long lossDelay = Math.max(GRANULARITY, 9 * Math.max(rtt.latest(), rtt.smoothed()) / 8);
        long lostSendTime = now - lossDelay;
        lostBatch.clear();
        long pcDuration = (rtt.smoothed() + Math.max(4 * rtt.variance(), GRANULARITY) + maxAckDelay) * 3;
        long runStart = -1;
        boolean persistent = false;
        for (long pn = base; pn < largestAcked && pn < base + count; pn++) {
            SentPacket p = get(pn);
            if (p == null) {
                continue;
            }
            if (p.state == 1) {
                runStart = -1;
                continue;
            }
            boolean justLost = false;
            if (p.state == 0) {
                if (p.timeSent <= lostSendTime || largestAcked - pn >= PACKET_THRESHOLD) {
                    p.state = 2;
                    justLost = true;
                    lostBatch.add(p);
                } else {
                    lossTime = Math.min(lossTime, p.timeSent + lossDelay);
                    runStart = -1;
                    continue;
                }
            }
            // A lost packet (now or before) extends the run of consecutive losses.
            if (firstRttSampleTime >= 0 && p.timeSent > firstRttSampleTime) {
                if (runStart < 0) {
                    runStart = p.timeSent;
                } else if (p.timeSent - runStart > pcDuration && justLost) {
                    persistent = true;
                }
            }
        }
        if (lostBatch.isEmpty()) {
            return;
        }
        for (SentPacket p : lostBatch) {
            packetsLost++;
            roundLost++;
            bytesInFlight -= p.bytes;
            ackElicitingInFlight--;
            cc.onPacketLost(now, p.timeSent, p.bytes);
            listener.framesLost(p.frames);
        }
        if (persistent) {
            persistentCongestionEvents++;
            cc.onPersistentCongestion(now);
        }
        lostBatch.clear();
    }

    /** When the loss-detection or probe timer fires, or {@link Long#MAX_VALUE}. */
    long lossDetectionTimer() {
        if (lossTime != Long.MAX_VALUE) {
            return lossTime;
        }
        if (ackElicitingInFlight == 0) {
            return Long.MAX_VALUE;
        }
        return lastAckElicitingSent + currentPto();
    }

    long currentPto() {
        long pto = rtt.pto();
        long backedOff = ptoCount >= 20 ? Long.MAX_VALUE : pto << ptoCount;
        return Math.min(backedOff, Math.max(pto, MAX_PTO));
    }

    /**
     * When the peer counts as dead unless an acknowledgement arrives first: {@code timeout} after
     * the last progress while ack-eliciting packets are in flight, else {@link Long#MAX_VALUE}.
     */
    long deadPeerDeadline(long timeout) {
        return ackElicitingInFlight == 0 ? Long.MAX_VALUE : unansweredSince + timeout;
    }

    /** Whether the peer counts as dead at {@code now}: past {@link #deadPeerDeadline} and {@link #DEAD_PEER_PTOS} probe timeouts. */
    boolean peerSeemsDead(long now, long timeout) {
        return now >= deadPeerDeadline(timeout) && ptoCount >= DEAD_PEER_PTOS;
    }

    /** Probe timeouts expired since the last acknowledgement. */
    int ptoCount() {
        return ptoCount;
    }

    /** Runs the loss-detection timer (§6.2.1): time-threshold losses, else a probe timeout asking for two probes. */
    void onLossDetectionTimeout(long now) {
        if (lossTime != Long.MAX_VALUE && now >= lossTime) {
            detectLostPackets(now);
            trim();
            return;
        }
        if (ackElicitingInFlight > 0 && now >= lastAckElicitingSent + currentPto()) {
            ptoCount++;
            probesToSend = 2;
        }
    }

    /** Returns every outstanding packet's frames to the link as lost (the link is closing or restarting). */
    void abandon() {
        for (int i = 0; i < count; i++) {
            SentPacket p = ring[(head + i) % ring.length];
            if (p != null && p.state == 0) {
                p.state = 2;
                for (SentFrame f : p.frames) {
                    f.release();
                }
            }
            ring[(head + i) % ring.length] = null;
        }
        count = 0;
        bytesInFlight = 0;
        ackElicitingInFlight = 0;
    }

    double hostedStreams() {
        return Math.max(0, hostedStreams);
    }

    long delivered() {
        return delivered;
    }

    long packetsSent() {
        return packetsSent;
    }

    long packetsAcked() {
        return packetsAcked;
    }

    long packetsLost() {
        return packetsLost;
    }

    long persistentCongestionEvents() {
        return persistentCongestionEvents;
    }

    /** Tracked packets (outstanding or waiting behind one): bounded by the window, for the memory tests. */
    int trackedPackets() {
        return count;
    }
}
