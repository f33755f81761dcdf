package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failover times on the pure selection and probe logic, in virtual time: a front-end the managers
 * mark failed leaves the very next answer (the 1 s budget is all transport of the state); one the
 * redirector's own probes find dead leaves within 3 s whenever in the probe cycle it dies; the
 * rise and fall thresholds keep an unsteady front-end from flapping in and out of the answers.
 */
class FailoverTimeTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final DnsSettings.ProbeSettings DEFAULTS = DnsSettings.ProbeSettings.DEFAULT;
    /** A connect to a live front-end on a near network. */
    private static final long CONNECT = 2 * MS;

    /** How a front-end fails when it dies. */
    enum Death {
        /** Its port refuses: the connect fails at once (RST). */
        REFUSED,
        /** It stops answering: the connect times out. */
        SILENT
    }

    /**
     * Runs the probes of one front-end that dies at {@code diesAt} and, if {@code comesBackAt} is
     * above it, comes back then; returns when the verdict first says dead (or -1), and when it says
     * alive again after that (or -1). The loop is FrontEndProber's, with time simulated.
     */
    private static long[] simulate(DnsSettings.ProbeSettings settings, Death death, long diesAt, long comesBackAt,
                                   long until) {
        ProbeSchedule s = new ProbeSchedule(settings, 0);
        long deadAt = -1;
        long aliveAgainAt = -1;
        while (s.dueNanos() < until) {
            long start = s.dueNanos();
            s.started(start);
            boolean up = start < diesAt || (comesBackAt > diesAt && start >= comesBackAt);
            long end = up ? start + CONNECT : death == Death.REFUSED ? start + MS / 10 : start + s.timeoutNanos();
            boolean changed = s.finished(up, end);
            if (changed && !s.result().alive() && deadAt < 0) {
                deadAt = end;
            } else if (changed && s.result().alive() && deadAt >= 0 && aliveAgainAt < 0) {
                aliveAgainAt = end;
            }
        }
        return new long[] {deadAt, aliveAgainAt};
    }

    @ParameterizedTest
    @EnumSource(Death.class)
    void aDeadFrontEndLeavesWithinThreeSecondsWhereverInTheCycleItDies(Death death) {
        long worst = 0;
        long best = Long.MAX_VALUE;
        // Every phase of the 500 ms probe cycle, in 1 ms steps.
        for (long phase = 0; phase < 500; phase++) {
            long diesAt = 10_000 * MS + phase * MS;
            long deadAt = simulate(DEFAULTS, death, diesAt, 0, diesAt + 10_000 * MS)[0];
            assertTrue(deadAt > diesAt, "declared dead after it died");
            worst = Math.max(worst, deadAt - diesAt);
            best = Math.min(best, deadAt - diesAt);
        }
        System.out.printf("probes (%s): dead front-end out of the answers after %d..%d ms%n", death,
                best / MS, worst / MS);
        assertTrue(worst <= 3_000 * MS, "worst case " + worst / MS + " ms");
        // The bound the class comment gives: interval + (fall - 1) * max(interval, timeout) + timeout.
        long bound = (500 + 2 * 500 + 500) * MS;
        assertTrue(worst <= bound + CONNECT, "within " + bound / MS + " ms: " + worst / MS);
        assertTrue(best >= (death == Death.REFUSED ? 1_000 : 1_500) * MS,
                "three failed probes are needed, not one: " + best / MS + " ms");
    }

    @Test
    void aFrontEndThatComesBackReturnsAfterTwoProbesInARow() {
        long diesAt = 5_000 * MS;
        long backAt = 9_000 * MS;
        long[] t = simulate(DEFAULTS, Death.REFUSED, diesAt, backAt, 20_000 * MS);
        assertTrue(t[1] > backAt);
        assertTrue(t[1] - backAt <= 1_000 * MS + CONNECT, "back within interval * rise: " + (t[1] - backAt) / MS);
        assertTrue(t[1] - backAt >= 500 * MS, "one good probe is not enough: " + (t[1] - backAt) / MS);
    }

    @Test
    void riseAndFallThresholdsStopFlapping() {
        // Outcomes of successive probes: a front-end that loses every other or every third probe.
        for (String pattern : List.of("SF", "SFF", "FFS", "SSF")) {
            ProbeSchedule s = new ProbeSchedule(DEFAULTS, 0);
            int changes = 0;
            for (int i = 0; i < 300; i++) {
                long start = s.dueNanos();
                s.started(start);
                if (s.finished(pattern.charAt(i % pattern.length()) == 'S', start + CONNECT)) {
                    changes++;
                }
            }
            assertEquals(0, changes, pattern + ": never three failures in a row, so never out");
            assertTrue(s.result().alive());
        }
        // Once out, a front-end that connects only every other time stays out.
        ProbeSchedule s = new ProbeSchedule(DEFAULTS, 0);
        for (int i = 0; i < 3; i++) {
            long start = s.dueNanos();
            s.started(start);
            s.finished(false, start + CONNECT);
        }
        assertFalse(s.result().alive());
        for (int i = 0; i < 300; i++) {
            long start = s.dueNanos();
            s.started(start);
            assertFalse(s.finished(i % 2 == 0, start + CONNECT), "never two successes in a row, so never back");
        }
        assertFalse(s.result().alive());
    }

    @Test
    void theNextProbeWaitsOneIntervalFromTheLastStartOrNotAtAll() {
        ProbeSchedule s = new ProbeSchedule(DEFAULTS, 100 * MS);
        assertEquals(100 * MS, s.dueNanos());
        s.started(100 * MS);
        s.finished(true, 103 * MS);
        assertEquals(600 * MS, s.dueNanos());
        s.started(600 * MS);
        s.finished(false, 1_200 * MS); // took longer than the interval
        assertEquals(1_200 * MS, s.dueNanos());
    }

    @Test
    void aFrontEndTheManagersMarkFailedLeavesTheNextAnswer() {
        ZoneView view = ZoneView.compile(TestConfigs.shop(), 1, "r1");
        Query q = Query.of(1, "www.shop.example.", Dns.TYPE_A, null);
        ZoneView failed = view.withLiveState(new NodeState(Map.of("fe1",
                new NodeState.FrontEnd(false, 0, 0, List.of()))), Map.of());
        for (int rotation = 0; rotation < 20; rotation++) {
            assertTrue(addresses(view.answer(q, rotation)).contains("192.0.2.1"));
            assertEquals(List.of("192.0.2.2"), addresses(failed.answer(q, rotation)), "rotation " + rotation);
        }
        // Back as soon as the managers say so.
        ZoneView healed = failed.withLiveState(NodeState.NONE, Map.of());
        assertTrue(addresses(healed.answer(q, 0)).contains("192.0.2.1"));
        // A probe verdict takes effect the same way: the next view leaves it out.
        ZoneView probedDead = view.withLiveState(NodeState.NONE, Map.of("fe2", new ProbeResult(false, Double.NaN)));
        assertEquals(List.of("192.0.2.1"), addresses(probedDead.answer(q, 0)));
    }

    private static List<String> addresses(Answer a) {
        return a.answers().stream().map(r -> io.netty.util.NetUtil.bytesToIpAddress(r.sharedTail())).toList();
    }
}
