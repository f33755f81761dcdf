package dev.braid.tmp.sim;

import java.time.Duration;

/**
 * Settings of a {@link SimRenoFlow}. Immutable and validated whole.
 *
 * @param mss                   payload bytes per segment (default 1460)
 * @param headerBytes           bytes a segment or ACK carries beyond its payload (default 12: with
 *                              the simulator's 28 bytes of IPv4 + UDP overhead a segment is
 *                              {@code mss + 40} bytes on the wire and an ACK 40, as for TCP/IPv4
 *                              without options); at least 8, which hold the sequence number
 * @param ackEvery              the receiver acknowledges every segment (1, the default, the
 *                              setting the Mathis constant √(3/2) assumes) or every second one (2,
 *                              delayed ACKs as RFC 5681 §4.2 allows)
 * @param delayedAckNanos       longest an acknowledgement is delayed when {@code ackEvery} is 2
 *                              (default 40 ms, Linux's minimum)
 * @param initialWindow         initial congestion window in segments (default 10, RFC 6928)
 * @param minRtoNanos           lower bound of the retransmission timeout (default 200 ms, as Linux;
 *                              RFC 6298 asks for 1 s)
 * @param initialRtoNanos       retransmission timeout before the first RTT sample (default 1 s)
 * @param maxRtoNanos           upper bound of the backed-off timeout (default 60 s)
 * @param transferBytes         bytes to send; {@link #BULK} for an endless bulk transfer (default)
 */
public record RenoConfig(int mss, int headerBytes, int ackEvery, long delayedAckNanos, int initialWindow,
                         long minRtoNanos, long initialRtoNanos, long maxRtoNanos, long transferBytes) {

    /** {@link #transferBytes} of an endless transfer. */
    public static final long BULK = Long.MAX_VALUE;

    public static final RenoConfig DEFAULT = builder().build();

    public RenoConfig {
        require(mss >= 64 && mss <= 65_000, "mss", mss, "64..65000");
        require(headerBytes >= 8 && headerBytes <= 1024, "headerBytes", headerBytes, "8..1024");
        require(ackEvery == 1 || ackEvery == 2, "ackEvery", ackEvery, "1 or 2");
        require(delayedAckNanos > 0, "delayedAckNanos", delayedAckNanos, "> 0");
        require(initialWindow >= 1 && initialWindow <= 1000, "initialWindow", initialWindow, "1..1000");
        require(minRtoNanos > 0, "minRtoNanos", minRtoNanos, "> 0");
        require(initialRtoNanos >= minRtoNanos, "initialRtoNanos", initialRtoNanos, ">= minRtoNanos (" + minRtoNanos + ")");
        require(maxRtoNanos >= initialRtoNanos, "maxRtoNanos", maxRtoNanos, ">= initialRtoNanos (" + initialRtoNanos + ")");
        require(transferBytes >= 1, "transferBytes", transferBytes, ">= 1, or BULK");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Segments in the transfer (the last one may be short); Long.MAX_VALUE for bulk. */
    long segments() {
        return transferBytes == BULK ? Long.MAX_VALUE : (transferBytes + mss - 1) / mss;
    }

    /** Payload bytes of segment {@code seq}. */
    int segmentBytes(long seq) {
        if (transferBytes != BULK && seq == segments() - 1) {
            return (int) (transferBytes - seq * mss);
        }
        return mss;
    }

    private static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("reno." + field + ": " + value + " (expected: " + expected + ")");
        }
    }

    /** Builds a {@link RenoConfig}. */
    public static final class Builder {
        private int mss = 1460;
        private int headerBytes = 12;
        private int ackEvery = 1;
        private long delayedAckNanos = 40_000_000L;
        private int initialWindow = 10;
        private long minRtoNanos = 200_000_000L;
        private long initialRtoNanos = 1_000_000_000L;
        private long maxRtoNanos = 60_000_000_000L;
        private long transferBytes = BULK;

        private Builder() {
        }

        public Builder mss(int bytes) {
            this.mss = bytes;
            return this;
        }

        public Builder headerBytes(int bytes) {
            this.headerBytes = bytes;
            return this;
        }

        public Builder ackEvery(int segments) {
            this.ackEvery = segments;
            return this;
        }

        public Builder delayedAck(Duration d) {
            this.delayedAckNanos = d.toNanos();
            return this;
        }

        public Builder initialWindow(int segments) {
            this.initialWindow = segments;
            return this;
        }

        public Builder minRto(Duration d) {
            this.minRtoNanos = d.toNanos();
            return this;
        }

        public Builder initialRto(Duration d) {
            this.initialRtoNanos = d.toNanos();
            return this;
        }

        public Builder maxRto(Duration d) {
            this.maxRtoNanos = d.toNanos();
            return this;
        }

        public Builder transferBytes(long bytes) {
            this.transferBytes = bytes;
            return this;
        }

        public RenoConfig build() {
            return new RenoConfig(mss, headerBytes, ackEvery, delayedAckNanos, initialWindow, minRtoNanos,
                    initialRtoNanos, maxRtoNanos, transferBytes);
        }
    }
}
