package dev.braid.redirector;

/**
 * The rise/fall state machine of one probed front-end (the L4 health check of `001_…`): it is
 * declared dead after {@code fall} failed probes in a row and alive again after {@code rise}
 * successful ones, so one lost SYN or one lucky connect does not flap the answers. It starts
 * alive, so a redirector that has just started answers from the configuration. Connect times are
 * smoothed as an exponentially weighted average (weight 1/4 for the newest). Pure: probes and
 * their outcomes come in as calls; confined to one thread.
 */
final class ProbeTracker {

    private final int rise;
    private final int fall;
    private boolean alive = true;
    private int streak;
    private double rttMillis = Double.NaN;

    ProbeTracker(int rise, int fall) {
        if (rise < 1 || fall < 1) {
            throw new IllegalArgumentException("rise: " + rise + ", fall: " + fall + " (expected: >= 1)");
        }
        this.rise = rise;
        this.fall = fall;
    }

    /** A probe connected after {@code connectMillis}. Returns whether the verdict changed. */
    boolean success(double connectMillis) {
        rttMillis = Double.isNaN(rttMillis) ? connectMillis : rttMillis * 0.75 + connectMillis * 0.25;
        if (alive) {
            streak = 0;
            return false;
        }
        if (++streak >= rise) {
            alive = true;
            streak = 0;
            return true;
        }
        return false;
    }

    /** A probe failed (refused, reset or timed out). Returns whether the verdict changed. */
    boolean failure() {
        if (!alive) {
            streak = 0;
            return false;
        }
        if (++streak >= fall) {
            alive = false;
            streak = 0;
            return true;
        }
        return false;
    }

    ProbeResult result() {
        return new ProbeResult(alive, rttMillis);
    }
}
