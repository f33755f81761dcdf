package dev.braid.tmp;

/**
 * Round-trip time estimation as in RFC 9002 §5: latest, minimum, smoothed RTT and RTT variation,
 * in nanoseconds. The peer's reported ack delay is subtracted only where the result stays above
 * the minimum RTT (§5.3), and is capped at the agreed maximum ack delay.
 */
public final class RttEstimator {

    private final long initialRtt;
    private final long maxAckDelay;
    private long latest;
    private long smoothed;
    private long variance;
    private long min = Long.MAX_VALUE;
    private boolean sampled;

    public RttEstimator(long initialRttNanos, long maxAckDelayNanos) {
        this.initialRtt = initialRttNanos;
        this.maxAckDelay = maxAckDelayNanos;
        this.smoothed = initialRttNanos;
        this.variance = initialRttNanos / 2;
    }

    /** Adds one sample: {@code latestRtt} measured on the largest newly acknowledged packet. */
    public void update(long latestRtt, long ackDelay) {
        latest = Math.max(1, latestRtt);
        if (!sampled) {
            sampled = true;
            min = latest;
            smoothed = latest;
            variance = latest / 2;
            return;
        }
        min = Math.min(min, latest);
        long delay = Math.min(ackDelay, maxAckDelay);
        long adjusted = latest >= min + delay ? latest - delay : latest;
        variance = (3 * variance + Math.abs(smoothed - adjusted)) / 4;
        smoothed = (7 * smoothed + adjusted) / 8;
    }

    public boolean hasSample() {
        return sampled;
    }

    public long latest() {
        return latest;
    }

    public long smoothed() {
        return smoothed;
    }

    public long variance() {
        return variance;
    }

    /** Smallest sample, or the initial RTT before any. */
    public long min() {
        return sampled ? min : initialRtt;
    }

    /** The probe timeout before backoff (§6.2.1): smoothed + max(4·variance, 1 ms) + max ack delay. */
    public long pto() {
        return smoothed + Math.max(4 * variance, Recovery.GRANULARITY) + maxAckDelay;
    }
}
