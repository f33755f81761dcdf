package dev.braid.redirector;

/**
 * What the redirector's own probes say of one front-end: alive or not after the rise/fall
 * thresholds, and the smoothed time a TCP connect took. Immutable.
 *
 * @param alive     whether the front-end takes connections, as the thresholds decided
 * @param rttMillis the smoothed connect time in milliseconds, or NaN before the first success
 */
public record ProbeResult(boolean alive, double rttMillis) {

    /** A front-end not probed (yet): alive, nothing measured. */
    public static final ProbeResult UNPROBED = new ProbeResult(true, Double.NaN);
}
