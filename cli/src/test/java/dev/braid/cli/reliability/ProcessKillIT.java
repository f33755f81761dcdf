package dev.braid.cli.reliability;

import dev.braid.cli.reliability.ChaosSystem.Child;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chaos with real processes (docs/testing.md, "Reliability"): the back-end, and in the second test
 * the front-end, runs as an operating-system process of its own ({@code braid back-end|front-end
 * --config FILE --managers URL} in a child JVM, {@link NodeProcess}); the origin, the managers, the
 * other node and the load stay in this JVM ({@link ChaosSystem}). While the {@link MixedLoad} runs
 * steadily the process is killed with SIGKILL, found gone (exit status 137), and started again on
 * the same address ({@value #DEFAULT_DOWN_MS} ms later, or {@code -Dbraid.it.sigkillDownMillis});
 * its return is the instant it printed its start line (and {@code /health} then answered).
 *
 * <p>Each test asserts what {@link ChaosRun} asserts for the in-process kills of {@link ChaosIT}:
 * every request ended with the right answer or a refusal that says why (connection errors only
 * while the killed process is the front-end), no order reached the origin twice and every order
 * answered 200 reached it exactly once, no request waited past its deadline, and throughput is
 * back (a window with at least half the pre-fault rate) within 5 s of the new process's
 * readiness. Figures go to
 * {@code cli/target/failsafe-reports/dev.braid.cli.reliability.ProcessKillIT-output.txt}, with
 * the children's own output. After each test no child process is left running.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessKillIT {

    /** 128 + SIGKILL: what {@link Process#exitValue()} says of a process the signal ended. */
    private static final int KILLED_BY_SIGKILL = 137;
    /**
     * How long the process stays away before the supervisor's restart: as long as {@link ChaosIT}'s
     * parts, or {@code -Dbraid.it.sigkillDownMillis} (longer than {@code tmp.deadPeerTimeoutMillis},
     * 5 s, the front-end gives the link up before the back-end returns; up to about 20 s, within
     * the test's {@code @Timeout}).
     */
    private static final long DEFAULT_DOWN_MS = 1_000;
    private static final long DOWN_MS = Long.getLong("braid.it.sigkillDownMillis", DEFAULT_DOWN_MS);

    @TempDir
    Path state;

    private ChaosSystem system;

    @AfterEach
    void noChildOutlivesTheTest() {
        if (system == null) {
            return;
        }
        List<ProcessHandle> children = system.startedProcesses();
        try {
            system.close();
        } finally {
            List<String> alive = new ArrayList<>();
            for (ProcessHandle h : children) {
                if (h.isAlive()) {
                    h.destroyForcibly();
                    alive.add(Long.toString(h.pid()));
                }
            }
            assertTrue(alive.isEmpty(), "child processes still running after the test: " + alive);
        }
    }

    @Test
    void theBackEndProcessKilledWithSigkillAndRestarted() throws Exception {
        system = new ChaosSystem(Transport.NIO, "udp", state, EnumSet.of(Child.BACK_END));
        killAndRestart("back-end process", false, ChaosSystem::backEndProcess, ChaosSystem::killBackEnd,
                ChaosSystem::restartBackEnd);
    }

    @Test
    void theFrontEndProcessKilledWithSigkillAndRestarted() throws Exception {
        system = new ChaosSystem(Transport.NIO, "udp", state, EnumSet.of(Child.FRONT_END));
        killAndRestart("front-end process", true, ChaosSystem::frontEndProcess, ChaosSystem::killFrontEnd,
                ChaosSystem::restartFrontEnd);
    }

    private void killAndRestart(String part, boolean frontEndDown,
                                Function<ChaosSystem, NodeProcess> process, ChaosRun.Step kill,
                                ChaosRun.Heal restart) throws Exception {
        NodeProcess first = process.apply(system);
        assertNotNull(first, part + " runs");
        ProcessHandle killed = first.handle();
        long[] restartAsked = new long[1];
        ChaosRun.Figures f = ChaosRun.run(system, part, s -> {
            kill.run(s);
            // Gone, by the signal, before the supervisor starts another.
            assertFalse(killed.isAlive(), killed.pid() + " still alive after SIGKILL");
            assertEquals(KILLED_BY_SIGKILL, s.lastKill.exitStatus(), "exit status of " + s.lastKill.process());
        }, s -> {
            restartAsked[0] = System.nanoTime();
            return restart.run(s);
        }, DOWN_MS, frontEndDown, null);
        NodeProcess second = process.apply(system);
        assertNotNull(second, part + " runs again");
        assertTrue(second.isAlive(), second + " alive at the end");
        assertNotEquals(killed.pid(), second.handle().pid(), "a new process");
        ChaosSystem.Kill k = system.lastKill;
        System.out.print(String.format("%s: SIGKILL of %s, gone %d ms later (exit status %d); %s ready %d ms"
                        + " after its start, %d ms after the kill; %d requests (%d POSTs) %s; worst latency %d ms;"
                        + " throughput back %d ms after readiness%n",
                part, k.process(), k.millis(), k.exitStatus(), second,
                (f.healedNanos() - restartAsked[0]) / 1_000_000, (f.healedNanos() - f.faultNanos()) / 1_000_000,
                f.requests(), f.posts(), f.outcomes(), f.worstLatencyMillis(), f.recoveryMillis()));
    }
}
