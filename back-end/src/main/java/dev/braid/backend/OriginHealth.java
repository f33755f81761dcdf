package dev.braid.backend;

import dev.braid.managers.config.HealthCheck;

/**
 * The health of one origin, judged from active probes and passive signals with hysteresis, in
 * virtual time (every method takes the current time in nanoseconds; nothing reads a clock).
 *
 * <ul>
 *   <li>Ejection: {@code fall} failures in a row (failed probes, connection failures, resets and
 *       response timeouts count alike; any good response or probe breaks the run), or a share of
 *       5xx responses of at least {@code errorRatio} among the last {@code errorWindow} responses.</li>
 *   <li>Return: with probes, {@code rise} good probes in a row; without probes, once
 *       {@code ejectMillis} have passed (the origin is then on probation: the counts start afresh).</li>
 *   <li>The last one standing: passive signals (responses, failed exchanges) never eject an origin
 *       when no other origin of its site is available — ejecting it would turn errors on some
 *       requests into a refusal of all of them (nginx likewise ignores max_fails for a lone
 *       server). Failed probes still do: they test the origin itself, not one request.</li>
 * </ul>
 *
 * <p>Not thread-safe: owned by its site's dispatcher loop.
 */
final class OriginHealth {

    /** What an event did to the origin's availability. */
    enum Change {
        NONE, EJECTED, RETURNED,
        /** Passive signals reached an ejection threshold, but the origin is the last available: kept. */
        KEPT
    }

    private HealthCheck check;
    private boolean ejected;
    private long ejectedUntil;
    private int failuresInRow;
    private int probesOkInRow;
    /** The last {@code errorWindow} responses, true for a 5xx, as a ring. */
    private boolean[] window;
    private int windowSize;
    private int windowNext;
    private int windowErrors;
    private volatile String reason = "healthy";

    OriginHealth(HealthCheck check) {
        this.check = check;
        this.window = new boolean[check.errorWindow()];
    }

    /** Applies new settings; the state is kept, the error window starts afresh if its size changed. */
    void update(HealthCheck newCheck) {
        if (newCheck.errorWindow().intValue() != check.errorWindow().intValue()) {
            window = new boolean[newCheck.errorWindow()];
            clearWindow();
        }
        check = newCheck;
    }

    boolean probing() {
        return check.path() != null;
    }

    /** Whether requests may go to the origin at {@code now}. */
    boolean available(long now) {
        return !ejected || !probing() && now - ejectedUntil >= 0;
    }

    /** Why the origin was last ejected, or "healthy". */
    String reason() {
        return reason;
    }

    /** A probe answered in time with 2xx or 3xx ({@code ok}), or did not. */
    Change probe(boolean ok, String detail, long now) {
        Change settled = settle(now);
        if (!ok) {
            probesOkInRow = 0;
            Change c = failure("probe failed: " + detail, now, true);
            return c == Change.NONE ? settled : c;
        }
        failuresInRow = 0;
        if (ejected) {
            probesOkInRow++;
            if (probesOkInRow >= check.rise()) {
                return back();
            }
        }
        return settled;
    }

    /** The origin could not be reached, reset the connection, or did not answer in time. */
    Change failed(String detail, long now) {
        return failed(detail, now, true);
    }

    /** {@link #failed(String, long)}; with {@code mayEject} false (the last available origin) it is never ejected. */
    Change failed(String detail, long now, boolean mayEject) {
        Change settled = settle(now);
        Change c = failure(detail, now, mayEject);
        return c == Change.NONE ? settled : c;
    }

    /** The origin answered with {@code status}. */
    Change response(int status, long now) {
        return response(status, now, true);
    }

    /** {@link #response(int, long)}; with {@code mayEject} false (the last available origin) it is never ejected. */
    Change response(int status, long now, boolean mayEject) {
        Change settled = settle(now);
        if (ejected) {
            return settled;
        }
        boolean error = status >= 500;
        if (!error) {
            failuresInRow = 0;
        }
        if (windowSize == window.length) {
            windowErrors -= window[windowNext] ? 1 : 0;
        } else {
            windowSize++;
        }
        window[windowNext] = error;
        windowErrors += error ? 1 : 0;
        windowNext = (windowNext + 1) % window.length;
        if (windowSize == window.length && windowErrors >= check.errorRatio() * window.length) {
            String why = windowErrors + " of the last " + window.length + " responses were 5xx";
            if (!mayEject) {
                clearWindow();
                return kept(why);
            }
            return eject(why, now);
        }
        return settled;
    }

    private Change failure(String detail, long now, boolean mayEject) {
        if (ejected) {
            return Change.NONE;
        }
        failuresInRow++;
        if (failuresInRow >= check.fall()) {
            String why = failuresInRow + " failures in a row, the last: " + detail;
            if (!mayEject) {
                failuresInRow = 0;
                return kept(why);
            }
            return eject(why, now);
        }
        return Change.NONE;
    }

    private Change kept(String why) {
        reason = "kept as the last available origin despite " + why;
        return Change.KEPT;
    }

    private Change eject(String why, long now) {
        ejected = true;
        reason = why;
        ejectedUntil = now + check.ejectMillis() * 1_000_000L;
        failuresInRow = 0;
        probesOkInRow = 0;
        clearWindow();
        return Change.EJECTED;
    }

    private Change back() {
        ejected = false;
        reason = "healthy";
        failuresInRow = 0;
        probesOkInRow = 0;
        clearWindow();
        return Change.RETURNED;
    }

    /** Ends a passive ejection whose time is up. */
    Change settle(long now) {
        if (ejected && !probing() && now - ejectedUntil >= 0) {
            return back();
        }
        return Change.NONE;
    }

    private void clearWindow() {
        windowSize = 0;
        windowNext = 0;
        windowErrors = 0;
        java.util.Arrays.fill(window, false);
    }
}
