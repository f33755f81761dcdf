package dev.braid.tmp;

/**
 * A token bucket that spaces packets at a rate (bytes per second) with coarse timers: when the
 * bucket runs dry the next release is at least one quantum (1 ms by default) away, and the bucket
 * holds up to two quanta of tokens, so at 100 Mbit/s about nine 1.4 kB packets leave every
 * millisecond instead of one every 112 µs, and a timer that fires a quantum late costs no rate.
 */
final class Pacer {

    private final long quantum;
    private final int mss;
    private double tokens;
    private long last = Long.MIN_VALUE;

    Pacer(long quantumNanos, int mss) {
        this.quantum = quantumNanos;
        this.mss = mss;
    }

    private double depth(double rate) {
        return Math.max(2.0 * mss, 2 * rate * quantum / 1e9);
    }

    private void refill(long now, double rate) {
        if (last == Long.MIN_VALUE) {
            tokens = depth(rate);
        } else if (now > last) {
            tokens = Math.min(depth(rate), tokens + (now - last) * rate / 1e9);
        }
        last = Math.max(last, now);
    }

    /** When a packet of {@code bytes} may leave: {@code now} or a later time. */
    long releaseTime(long now, double rate, int bytes) {
        refill(now, rate);
        if (tokens >= bytes) {
            return now;
        }
        long wait = (long) Math.ceil((bytes - tokens) * 1e9 / Math.max(rate, 1));
        return now + Math.max(quantum, wait);
    }

    void onSent(long now, double rate, int bytes) {
        refill(now, rate);
        tokens -= bytes;
    }

    double tokens() {
        return tokens;
    }
}
