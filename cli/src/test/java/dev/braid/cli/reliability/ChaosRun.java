package dev.braid.cli.reliability;

import dev.braid.cli.reliability.MixedLoad.Kind;
import dev.braid.cli.reliability.MixedLoad.Outcome;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One chaos run and its checks, shared by the chaos tests ({@link ChaosIT}, {@link ProcessKillIT}):
 * while a {@link MixedLoad} of {@value #CLIENTS} clients runs steadily through a
 * {@link ChaosSystem}'s front-end, a part is taken down and brought back; then every outcome is
 * checked.
 *
 * <p>The checks: every request ended with the right answer or a refusal that says why (a status
 * with {@code X-Braid-Error} or a text reason); a client saw a connection error only when the
 * front-end itself was down; no request waited past its deadline ({@value #LATENCY_BOUND_MS} ms:
 * a 5 s cut plus 5 s of slack; the client gives up at {@value #CLIENT_DEADLINE_MS} ms); no order
 * reached the origin twice and every order answered 200 reached it exactly once; and within
 * {@value #RECOVERY_BOUND_MS} ms of the part's return a {@value #WINDOW_MS} ms window answered at
 * least half the requests a window answered before the fault. The figures (outcomes, worst
 * latency, throughput before and after, time to recover) are printed to the test's log.
 */
final class ChaosRun {

    static final long CLIENT_DEADLINE_MS = 15_000;
    static final long LATENCY_BOUND_MS = 10_000;
    static final long WINDOW_MS = 500;
    static final long RECOVERY_BOUND_MS = 5_000;
    static final int CLIENTS = 6;
    private static final long MAX_REQUESTS = 40_000;
    private static final long WARM_MS = 1_500;
    private static final int STEADY_WINDOWS = 3;
    private static final long STEADY_LIMIT_MS = 20_000;

    private ChaosRun() {
    }

    /** Takes a part down, or does something to the system. */
    @FunctionalInterface
    interface Step {
        void run(ChaosSystem system) throws Exception;
    }

    /** Brings a part back. */
    @FunctionalInterface
    interface Heal {
        /** @return the instant ({@link System#nanoTime()}) the part was back, from which recovery is measured */
        long run(ChaosSystem system) throws Exception;
    }

    /**
     * What a run measured.
     *
     * @param recoveryMillis from the part's return to the first window with at least half the
     *                       pre-fault rate
     * @param faultNanos     when the fault was injected ({@link System#nanoTime()})
     * @param healedNanos    when the part was back
     */
    record Figures(int requests, int posts, Map<Kind, Integer> outcomes, long worstLatencyMillis,
                   long recoveryMillis, long faultNanos, long healedNanos) {
    }

    /**
     * Runs the load on {@code system}, injects {@code fault} once the load is steady, waits
     * {@code downMillis}, heals, watches until throughput is back (bounded), stops the load and
     * checks every outcome (see the class comment); then runs {@code after}, if any.
     *
     * @param frontEndDown whether the fault takes the front-end itself down (connection errors
     *                     are then allowed between the fault and the return)
     * @return the figures, already logged and checked
     */
    static Figures run(ChaosSystem system, String part, Step fault, Heal heal, long downMillis, boolean frontEndDown,
                       Step after) throws Exception {
        awaitServing(system);
        MixedLoad load = new MixedLoad(system.frontEnd(), CLIENTS, Duration.ofMillis(CLIENT_DEADLINE_MS),
                MAX_REQUESTS, part.replaceAll("[^a-z]", ""));
        List<Outcome> outcomes;
        long faultAt;
        long healedAt;
        try {
            awaitSteady(load);
            faultAt = System.nanoTime();
            fault.run(system);
            Thread.sleep(downMillis);
            healedAt = heal.run(system);
            // Watch until throughput is back (or the bound has passed), then a little longer.
            long watchUntil = healedAt + (RECOVERY_BOUND_MS + WINDOW_MS) * 1_000_000;
            while (System.nanoTime() < watchUntil
                    && recoveredAfterMillis(load, load.soFar(), faultAt, healedAt) < 0) {
                Thread.sleep(100);
            }
            Thread.sleep(WINDOW_MS);
        } finally {
            outcomes = load.stop();
        }
        Figures figures = check(part, system, load, outcomes, faultAt, healedAt, frontEndDown);
        if (after != null) {
            after.run(system);
        }
        return figures;
    }

    private static Figures check(String part, ChaosSystem system, MixedLoad load, List<Outcome> outcomes,
                                 long faultAt, long healedAt, boolean frontEndDown) {
        Map<Kind, Integer> byKind = new EnumMap<>(Kind.class);
        Map<String, AtomicInteger> reasons = new TreeMap<>();
        long maxLatency = 0;
        List<String> problems = new ArrayList<>();
        int posts = 0;
        for (Outcome o : outcomes) {
            byKind.merge(o.kind(), 1, Integer::sum);
            maxLatency = Math.max(maxLatency, o.latencyMillis());
            posts += o.post() ? 1 : 0;
            switch (o.kind()) {
                case OK -> {
                    if (o.post() && system.origin.applied(o.id()) != 1) {
                        problems.add("order " + o.id() + " answered 200 but applied " + system.origin.applied(o.id())
                                + " times");
                    }
                }
                case REFUSED -> reasons.computeIfAbsent(o.status() + " " + o.detail().replaceAll("[0-9]+", "N"),
                        k -> new AtomicInteger()).incrementAndGet();
                case WRONG -> problems.add("wrong answer: " + o);
                case TIMED_OUT -> problems.add("no answer within the client's deadline: " + o);
                case IO_ERROR -> {
                    // Only the front-end's own death may cost a client its connection: requests that
                    // were under way when it was killed, or sent while it was down.
                    boolean duringOutage = o.endNanos() >= faultAt && o.startNanos() <= healedAt;
                    if (!frontEndDown || !duringOutage) {
                        problems.add("connection error outside the front-end's outage: " + o);
                    }
                }
            }
        }
        int twice = 0;
        for (var e : system.origin.orders().entrySet()) {
            if (e.getValue().get() > 1) {
                twice++;
                problems.add("order " + e.getKey() + " applied " + e.getValue().get() + " times");
            }
        }
        long recovery = recoveredAfterMillis(load, outcomes, faultAt, healedAt);
        // One write, so that no other thread's log line lands in the middle.
        System.out.print(String.format("chaos %s: %d requests (%d POSTs) %s; worst latency %d ms; orders applied"
                        + " twice: %d; OK per %d ms before the fault: %.1f, windows after: %s; throughput back %d ms"
                        + " after the return%n  refusals: %s%n",
                part, outcomes.size(), posts, byKind, maxLatency, twice, WINDOW_MS,
                baseline(load, outcomes, faultAt), windowsAfter(load, outcomes, healedAt), recovery, reasons));
        assertTrue(problems.isEmpty(), () -> problems.size() + " problem(s), first ones: "
                + problems.subList(0, Math.min(10, problems.size())));
        assertTrue(byKind.getOrDefault(Kind.OK, 0) > 0, "some requests succeeded");
        assertTrue(maxLatency <= LATENCY_BOUND_MS, "worst latency " + maxLatency + " ms");
        assertTrue(recovery >= 0 && recovery <= RECOVERY_BOUND_MS, "throughput back " + recovery
                + " ms after the return (-1: not within the watch); windows " + load.okPerWindow(outcomes, WINDOW_MS));
        return new Figures(outcomes.size(), posts, byKind, maxLatency, recovery, faultAt, healedAt);
    }

    /**
     * Waits at least {@link #WARM_MS}, and until the load has answered in each of the last
     * {@link #STEADY_WINDOWS} whole windows (bounded by {@link #STEADY_LIMIT_MS}): on a busy
     * machine the first seconds may stall, and a fault injected then would be measured against a
     * baseline of nothing.
     */
    private static void awaitSteady(MixedLoad load) throws InterruptedException {
        Thread.sleep(WARM_MS);
        long limit = System.nanoTime() + STEADY_LIMIT_MS * 1_000_000;
        while (System.nanoTime() < limit) {
            Map<Long, Integer> windows = load.okPerWindow(load.soFar(), WINDOW_MS);
            long current = (System.nanoTime() - load.startedNanos) / 1_000_000 / WINDOW_MS;
            boolean steady = current > STEADY_WINDOWS;
            for (long w = current - STEADY_WINDOWS; steady && w < current; w++) {
                steady = windows.getOrDefault(w, 0) > 0;
            }
            if (steady) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the load never reached a steady rate before the fault: "
                + load.okPerWindow(load.soFar(), WINDOW_MS));
    }

    /** Mean OK answers per window over the steady windows just before the fault. */
    private static double baseline(MixedLoad load, List<Outcome> outcomes, long faultAt) {
        Map<Long, Integer> windows = load.okPerWindow(outcomes, WINDOW_MS);
        long last = (faultAt - load.startedNanos) / 1_000_000 / WINDOW_MS - 1;
        long first = Math.max(1, last - STEADY_WINDOWS + 1);
        double sum = 0;
        int n = 0;
        for (long w = first; w <= last; w++) {
            sum += windows.getOrDefault(w, 0);
            n++;
        }
        return n == 0 ? 0 : sum / n;
    }

    /**
     * Milliseconds from the part's return to the start of the first window that answered at least
     * half the baseline, or -1 if none has yet. A window counts only if it starts after the return.
     */
    private static long recoveredAfterMillis(MixedLoad load, List<Outcome> outcomes, long faultAt, long healedAt) {
        double base = baseline(load, outcomes, faultAt);
        Map<Long, Integer> windows = load.okPerWindow(outcomes, WINDOW_MS);
        long healedMs = (healedAt - load.startedNanos) / 1_000_000;
        long nowWindow = (System.nanoTime() - load.startedNanos) / 1_000_000 / WINDOW_MS;
        for (long w = (healedMs + WINDOW_MS - 1) / WINDOW_MS; w < nowWindow; w++) {
            if (windows.getOrDefault(w, 0) >= base / 2 && base > 0) {
                return w * WINDOW_MS - healedMs;
            }
        }
        return -1;
    }

    private static List<Integer> windowsAfter(MixedLoad load, List<Outcome> outcomes, long healedAt) {
        Map<Long, Integer> windows = load.okPerWindow(outcomes, WINDOW_MS);
        long from = ((healedAt - load.startedNanos) / 1_000_000 + WINDOW_MS - 1) / WINDOW_MS;
        List<Integer> out = new ArrayList<>();
        for (long w = from; w < from + 12; w++) {
            out.add(windows.getOrDefault(w, 0));
        }
        return out;
    }

    /** Waits (at most 15 s) until the front-end answers a GET through the link with 200. */
    static void awaitServing(ChaosSystem system) throws Exception {
        awaitOk(URI.create("http://127.0.0.1:" + system.frontEnd().getPort() + "/item/warm-up"), 15_000,
                "the front-end did not serve through the link");
    }

    /**
     * Asks {@code uri} (GET, each try bounded to 2 s) until it answers 200.
     *
     * @throws AssertionError when {@code timeoutMillis} pass first, with {@code what} and the last answer
     */
    static void awaitOk(URI uri, long timeoutMillis, String what) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (java.io.IOException e) {
                last = e.toString();
            }
            Thread.sleep(20);
        }
        throw new AssertionError(what + " within " + timeoutMillis + " ms (" + uri + "); last: " + last);
    }
}
