package dev.braid.tmp.sim;

import dev.braid.tmp.DatagramEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A simulated TCP NewReno bulk transfer: a sender endpoint (side A) and a receiver endpoint
 * (side B), the reference peer Braid's own congestion control is measured against. It follows the
 * RFCs rather than any kernel:
 *
 * <ul>
 * <li>RFC 5681: slow start (with appropriate byte counting, RFC 3465, L = 2 segments), congestion
 *     avoidance at one segment per RTT, fast retransmit on the third duplicate ACK, ssthresh =
 *     max(FlightSize/2, 2 segments), cwnd = 1 segment after a timeout, receiver ACKs every segment
 *     or every second one, at once for out-of-order segments and for those that fill a gap.
 * <li>RFC 6582: NewReno fast recovery — window inflation by duplicate ACKs, one retransmission per
 *     partial ACK with deflation, exit on the ACK covering {@code recover} with cwnd =
 *     min(ssthresh, FlightSize + 1), no new fast retransmit until ACKs pass {@code recover}, and
 *     the "impatient" timer (reset only on the first partial ACK).
 * <li>RFC 6298: SRTT/RTTVAR, RTO = max(minRto, SRTT + max(G, 4·RTTVAR)) with G = 1 ms, Karn's
 *     rule (no sample from an ACK that covers a retransmitted segment or arrives in recovery), exponential
 *     backoff up to {@code maxRto}; after a timeout the sender goes back to the first unacknowledged
 *     segment and resends in slow start (go-back-N), as a TCP without SACK does.
 * </ul>
 *
 * <p>Not modelled: SACK, limited transmit, timestamps, F-RTO, pacing, receive-window limits (the
 * window never limits), Nagle. Sequence numbers count segments; all segments but the last of a
 * finite transfer carry {@code mss} bytes.
 */
public final class SimRenoFlow implements SimFlow {

    private static final long CLOCK_GRANULARITY_NANOS = 1_000_000L;

    private final RenoConfig config;
    private final Sender sender;
    private final Receiver receiver;

    private SimRenoFlow(RenoConfig config) {
        this.config = config;
        this.sender = new Sender();
        this.receiver = new Receiver();
    }

    /** A bulk flow with {@link RenoConfig#DEFAULT}. */
    public static SimRenoFlow create() {
        return new SimRenoFlow(RenoConfig.DEFAULT);
    }

    public static SimRenoFlow create(RenoConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("reno: null (expected: a RenoConfig)");
        }
        return new SimRenoFlow(config);
    }

    public RenoConfig config() {
        return config;
    }

    /** The data sender (side A). */
    public DatagramEndpoint sender() {
        return sender;
    }

    /** The receiver, which sends the ACKs (side B). */
    public DatagramEndpoint receiver() {
        return receiver;
    }

    @Override
    public DatagramEndpoint sideA() {
        return sender;
    }

    @Override
    public DatagramEndpoint sideB() {
        return receiver;
    }

    /** Payload bytes the receiver has received in order. */
    @Override
    public long deliveredBytes() {
        long segments = receiver.rcvNxt;
        if (config.transferBytes() != RenoConfig.BULK && segments == config.segments()) {
            return config.transferBytes();
        }
        return segments * config.mss();
    }

    /** When the receiver got the last byte of a finite transfer, or -1. */
    public long completionNanos() {
        return receiver.completedAt;
    }

    /** The sender's state and counters now. */
    public Stats stats() {
        Sender s = sender;
        return new Stats(s.segmentsSent, s.retransmissions, s.fastRetransmits, s.timeouts, s.partialAcks, s.cwnd,
                s.ssthresh, s.srtt, s.rto, s.sndUna, s.inRecovery);
    }

    /**
     * What the sender did and where it stands.
     *
     * @param segmentsSent    segments sent, retransmissions included
     * @param retransmissions segments sent again
     * @param fastRetransmits fast retransmits (loss events detected by three duplicate ACKs)
     * @param timeouts        retransmission timer expiries
     * @param partialAcks     partial ACKs during fast recovery
     * @param cwnd            congestion window, segments
     * @param ssthresh        slow-start threshold, segments (huge until the first loss)
     * @param srttNanos       smoothed RTT, or -1 before the first sample
     * @param rtoNanos        current retransmission timeout, backoff included
     * @param ackedSegments   segments cumulatively acknowledged
     * @param inRecovery      whether the sender is in fast recovery
     */
    public record Stats(long segmentsSent, long retransmissions, long fastRetransmits, long timeouts,
                        long partialAcks, long cwnd, long ssthresh, long srttNanos, long rtoNanos,
                        long ackedSegments, boolean inRecovery) {
    }

    @Override
    public String toString() {
        return "SimRenoFlow" + stats();
    }

    /** Reads the 8-byte sequence or acknowledgement number at the start of {@code datagram}, then releases it. */
    private static long readNumber(ByteBuf datagram, String what) {
        try {
            if (datagram.readableBytes() < 8) {
                throw new IllegalArgumentException(what + ": " + datagram.readableBytes()
                        + " bytes (expected: >= 8, a simulated TCP datagram)");
            }
            return datagram.getLong(datagram.readerIndex());
        } finally {
            datagram.release();
        }
    }

    private final class Sender implements DatagramEndpoint {
        private final long segments = config.segments();
        private long sndUna;
        private long sndNxt;
        private long sndMax;
        private long cwnd = config.initialWindow();
        private long cwndCount;
        private long ssthresh = Long.MAX_VALUE / 4;
        private int dupAcks;
        private boolean inRecovery;
        private boolean firstPartialAck;
        private long recover = -1;
        private long retransmitSeq = -1;
        private long lastTimedOutSeq = -1;
        private long srtt = -1;
        private long rttvar;
        private long rto = config.initialRtoNanos();
        private long rtoDeadline = Long.MAX_VALUE;
        // Send time and "was retransmitted" per outstanding segment, indexed by seq & mask.
        private long[] sentAt = new long[1024];
        private boolean[] resent = new boolean[1024];
        private long segmentsSent;
        private long retransmissions;
        private long fastRetransmits;
        private long timeouts;
        private long partialAcks;

        @Override
        public ByteBuf poll(long now, ByteBufAllocator alloc) {
            if (retransmitSeq >= 0) {
                long seq = retransmitSeq;
                retransmitSeq = -1;
                return segment(now, alloc, seq, true);
            }
            if (sndNxt < segments && sndNxt - sndUna < cwnd) {
                long seq = sndNxt++;
                boolean again = seq < sndMax;
                if (sndNxt > sndMax) {
                    sndMax = sndNxt;
                }
                return segment(now, alloc, seq, again);
            }
            return null;
        }

        private ByteBuf segment(long now, ByteBufAllocator alloc, long seq, boolean again) {
            ensureCapacity();
            int slot = (int) (seq & (sentAt.length - 1));
            sentAt[slot] = now;
            resent[slot] = again;
            segmentsSent++;
            if (again) {
                retransmissions++;
            }
            if (rtoDeadline == Long.MAX_VALUE) {
                rtoDeadline = now + rto;
            }
            int size = config.segmentBytes(seq) + config.headerBytes();
            ByteBuf datagram = alloc.buffer(size);
            datagram.writeLong(seq);
            datagram.writerIndex(size);
            return datagram;
        }

        private void ensureCapacity() {
            long span = sndMax - sndUna + 1;
            if (span <= sentAt.length) {
                return;
            }
            int capacity = sentAt.length;
            while (capacity < span) {
                capacity *= 2;
            }
            long[] times = new long[capacity];
            boolean[] flags = new boolean[capacity];
            for (long s = sndUna; s < sndMax; s++) {
                times[(int) (s & (capacity - 1))] = sentAt[(int) (s & (sentAt.length - 1))];
                flags[(int) (s & (capacity - 1))] = resent[(int) (s & (sentAt.length - 1))];
            }
            sentAt = times;
            resent = flags;
        }

        @Override
        public void receive(long now, ByteBuf datagram) {
            long ack = readNumber(datagram, "reno.ack");
            if (ack > sndMax || ack < 0) {
                throw new IllegalArgumentException("reno.ack: " + ack + " (expected: <= " + sndMax + ", the highest segment sent + 1)");
            }
            if (ack > sndUna) {
                onNewAck(now, ack);
            } else if (ack == sndUna && sndUna < sndMax) {
                onDuplicateAck();
            }
        }

        private void onNewAck(long now, long ack) {
            long acked = ack - sndUna;
            if (!inRecovery && noneResent(sndUna, ack)) {
                sampleRtt(now - sentAt[(int) ((ack - 1) & (sentAt.length - 1))]);
            }
            sndUna = ack;
            if (sndNxt < sndUna) {
                sndNxt = sndUna;
            }
            if (inRecovery) {
                if (ack > recover) {
                    // Full ACK (RFC 6582 §3.2 step 3, first option).
                    inRecovery = false;
                    dupAcks = 0;
                    cwnd = Math.min(ssthresh, Math.max(sndNxt - sndUna, 1) + 1);
                    cwndCount = 0;
                    restartTimer(now);
                } else {
                    // Partial ACK: resend the next hole, deflate by what was acknowledged, add one back.
                    partialAcks++;
                    retransmitSeq = sndUna;
                    cwnd = Math.max(cwnd - acked + 1, 1);
                    if (firstPartialAck) {
                        firstPartialAck = false;
                        restartTimer(now);
                    }
                }
            } else {
                dupAcks = 0;
                grow(acked);
                restartTimer(now);
            }
        }

        /**
         * Karn's rule, strictly: an ACK that covers a retransmitted segment may have been triggered by
         * the retransmission, so it times nothing, not even the original segments it also covers.
         */
        private boolean noneResent(long from, long to) {
            int mask = sentAt.length - 1;
            for (long s = from; s < to; s++) {
                if (resent[(int) (s & mask)]) {
                    return false;
                }
            }
            return true;
        }

        private void onDuplicateAck() {
            dupAcks++;
            if (inRecovery) {
                cwnd++;
            } else if (dupAcks == 3 && sndUna > recover) {
                fastRetransmits++;
                ssthresh = Math.max((sndNxt - sndUna) / 2, 2);
                cwnd = ssthresh + 3;
                cwndCount = 0;
                recover = sndMax - 1;
                inRecovery = true;
                firstPartialAck = true;
                retransmitSeq = sndUna;
            }
        }

        private void grow(long acked) {
            if (cwnd < ssthresh) {
                long inc = Math.min(Math.min(acked, 2), ssthresh - cwnd);
                cwnd += inc;
                acked -= inc;
                if (acked == 0 || cwnd < ssthresh) {
                    return;
                }
            }
            cwndCount += acked;
            if (cwndCount >= cwnd) {
                long delta = cwndCount / cwnd;
                cwndCount -= delta * cwnd;
                cwnd += delta;
            }
        }

        private void restartTimer(long now) {
            rtoDeadline = sndUna < sndMax ? now + rto : Long.MAX_VALUE;
        }

        private void sampleRtt(long r) {
            if (srtt < 0) {
                srtt = r;
                rttvar = r / 2;
            } else {
                rttvar = (3 * rttvar + Math.abs(srtt - r)) / 4;
                srtt = (7 * srtt + r) / 8;
            }
            long computed = srtt + Math.max(CLOCK_GRANULARITY_NANOS, 4 * rttvar);
            rto = Math.min(Math.max(computed, config.minRtoNanos()), config.maxRtoNanos());
        }

        @Override
        public long nextTimeoutNanos() {
            return rtoDeadline;
        }

        @Override
        public void onTimeout(long now) {
            if (now < rtoDeadline) {
                return;
            }
            timeouts++;
            // RFC 5681 §3.1: ssthresh falls only on the first timeout of a segment, not on its backoffs.
            if (lastTimedOutSeq != sndUna) {
                ssthresh = Math.max((sndNxt - sndUna) / 2, 2);
                lastTimedOutSeq = sndUna;
            }
            cwnd = 1;
            cwndCount = 0;
            inRecovery = false;
            dupAcks = 0;
            recover = sndMax - 1;
            retransmitSeq = -1;
            sndNxt = sndUna;
            rto = Math.min(rto * 2, config.maxRtoNanos());
            rtoDeadline = Long.MAX_VALUE;
        }
    }

    private final class Receiver implements DatagramEndpoint {
        private final long segments = config.segments();
        private long rcvNxt;
        private boolean[] above = new boolean[1024];
        private int aboveCount;
        private int unacked;
        private int acksOwed;
        private long delayedAckDeadline = Long.MAX_VALUE;
        private long completedAt = -1;

        @Override
        public void receive(long now, ByteBuf datagram) {
            long seq = readNumber(datagram, "reno.segment");
            if (seq < 0 || seq >= segments) {
                throw new IllegalArgumentException("reno.segment: " + seq + " (expected: 0.." + (segments - 1) + ")");
            }
            if (seq == rcvNxt) {
                boolean fillsGap = aboveCount > 0;
                rcvNxt++;
                int mask = above.length - 1;
                while (aboveCount > 0 && above[(int) (rcvNxt & mask)]) {
                    above[(int) (rcvNxt & mask)] = false;
                    aboveCount--;
                    rcvNxt++;
                }
                if (rcvNxt == segments && completedAt < 0) {
                    completedAt = now;
                }
                if (fillsGap || ++unacked >= config.ackEvery()) {
                    ackNow();
                } else if (delayedAckDeadline == Long.MAX_VALUE) {
                    delayedAckDeadline = now + config.delayedAckNanos();
                }
            } else if (seq > rcvNxt) {
                ensureCapacity(seq);
                int slot = (int) (seq & (above.length - 1));
                if (!above[slot]) {
                    above[slot] = true;
                    aboveCount++;
                }
                ackNow();
            } else {
                ackNow();
            }
        }

        private void ensureCapacity(long seq) {
            long span = seq - rcvNxt + 1;
            if (span <= above.length) {
                return;
            }
            int capacity = above.length;
            while (capacity < span) {
                capacity *= 2;
            }
            boolean[] next = new boolean[capacity];
            long end = rcvNxt + above.length;
            for (long s = rcvNxt + 1; s < end; s++) {
                next[(int) (s & (capacity - 1))] = above[(int) (s & (above.length - 1))];
            }
            above = next;
        }

        private void ackNow() {
            acksOwed++;
            unacked = 0;
            delayedAckDeadline = Long.MAX_VALUE;
        }

        @Override
        public ByteBuf poll(long now, ByteBufAllocator alloc) {
            if (acksOwed == 0) {
                return null;
            }
            acksOwed--;
            int size = config.headerBytes();
            ByteBuf ack = alloc.buffer(size);
            ack.writeLong(rcvNxt);
            ack.writerIndex(size);
            return ack;
        }

        @Override
        public long nextTimeoutNanos() {
            return delayedAckDeadline;
        }

        @Override
        public void onTimeout(long now) {
            if (now >= delayedAckDeadline) {
                ackNow();
            }
        }
    }
}
