package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;

import java.util.concurrent.TimeUnit;

/**
 * The timing of the probes of one front-end and what their outcomes mean: the pure core of
 * {@link FrontEndProber}. A probe starts when {@link #dueNanos()} comes, fails if it has not
 * connected within the timeout, and the next one is due one interval after the last one started,
 * or at once when that one took longer; {@link ProbeTracker}'s rise and fall thresholds turn the
 * outcomes into a verdict.
 *
 * <p>What that gives, for the defaults (interval 500 ms, timeout 500 ms, fall 3, rise 2): a
 * front-end that dies is out of the answers after its third failed probe, at most 1.5 s after its
 * death when its port refuses connections and at most 2 s when it stops answering altogether
 * (each probe then waits out its timeout); one that comes back is in again after two probes in a
 * row connect. In general the worst case is {@code interval + (fall - 1) * max(interval, timeout)
 * + timeout}. No clock, no I/O: time comes in; confined to one thread.
 */
final class ProbeSchedule {

    private final long intervalNanos;
    private final long timeoutNanos;
    private final ProbeTracker tracker;
    private long dueNanos;
    private long startedNanos;
    private boolean inFlight;

    /** The first probe is due at {@code nowNanos}. */
    ProbeSchedule(DnsSettings.ProbeSettings settings, long nowNanos) {
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(settings.intervalMillis());
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(settings.timeoutMillis());
        this.tracker = new ProbeTracker(settings.rise(), settings.fall());
        this.dueNanos = nowNanos;
    }

    /** When the next probe should start. */
    long dueNanos() {
        return dueNanos;
    }

    /** How long a probe may take to connect before it counts as failed. */
    long timeoutNanos() {
        return timeoutNanos;
    }

    /** A probe started at {@code nowNanos}. */
    void started(long nowNanos) {
        if (inFlight) {
            throw new IllegalStateException("a probe is already in flight");
        }
        inFlight = true;
        startedNanos = nowNanos;
    }

    /**
     * The probe in flight connected, or failed (refused, reset, timed out), at {@code nowNanos}.
     *
     * @return whether the verdict (alive or dead) changed
     */
    boolean finished(boolean connected, long nowNanos) {
        if (!inFlight) {
            throw new IllegalStateException("no probe in flight");
        }
        inFlight = false;
        long took = nowNanos - startedNanos;
        boolean changed = connected ? tracker.success(took / 1e6) : tracker.failure();
        long next = startedNanos + intervalNanos;
        dueNanos = next - nowNanos < 0 ? nowNanos : next;
        return changed;
    }

    ProbeResult result() {
        return tracker.result();
    }
}
