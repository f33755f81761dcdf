package dev.braid.tmp.sim;

import dev.braid.tmp.DatagramEndpoint;
import io.netty.buffer.ByteBufAllocator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A reproducible experiment: a path, flows that share it, a duration, a measurement window and a
 * seed. {@link #run()} plays it in the {@link NetworkSimulator} and returns per-flow goodput and
 * fairness. The description is plain data (paths, flow factories, times), so a runner over real
 * sockets and a WAN emulator can play the same scenario; {@link PathConfig} says what each knob
 * means there.
 *
 * <pre>{@code
 * ScenarioResult r = Scenario.builder()
 *         .path(PathConfig.builder().rateMbps(100).delay(Duration.ofMillis(40)).loss(0.01).build())
 *         .flow("tmp", SimFlow.of(client, server, server::deliveredBytes))
 *         .flows("reno", 4, SimRenoFlow::create)
 *         .duration(Duration.ofSeconds(120)).warmup(Duration.ofSeconds(20)).seed(1)
 *         .build().run();
 * double share = r.goodputBitsPerSecond("tmp") / r.totalGoodputBitsPerSecond();
 * }</pre>
 *
 * <p>Flows start at times drawn uniformly from [0, {@code startSpread}) with a random stream of
 * the seed (default spread: 1 s, or a tenth of the duration if that is shorter), so different
 * seeds give different phases even on a path without random loss. Goodput is measured from the end of the warm-up (or the flow's start, if later) to
 * the end of the run. Endpoints that implement {@link AutoCloseable} are closed when the run ends.
 */
public final class Scenario {

    private final PathConfig pathAToB;
    private final PathConfig pathBToA;
    private final long seed;
    private final Duration duration;
    private final Duration warmup;
    private final Duration startSpread;
    private final Duration sampleInterval;
    private final int headerOverheadBytes;
    private final int mtuBytes;
    private final long accessRateBitsPerSecond;
    private final long sendBufferBytes;
    private final ByteBufAllocator alloc;
    private final List<FlowSpec> flowSpecs;

    private Scenario(Builder b) {
        this.pathAToB = b.pathAToB;
        this.pathBToA = b.pathBToA;
        this.seed = b.seed;
        this.duration = b.duration;
        this.warmup = b.warmup;
        this.startSpread = b.startSpread != null ? b.startSpread
                : Duration.ofSeconds(1).compareTo(b.duration.dividedBy(10)) < 0 ? Duration.ofSeconds(1) : b.duration.dividedBy(10);
        this.sampleInterval = b.sampleInterval;
        this.headerOverheadBytes = b.headerOverheadBytes;
        this.mtuBytes = b.mtuBytes;
        this.accessRateBitsPerSecond = b.accessRateBitsPerSecond;
        this.sendBufferBytes = b.sendBufferBytes;
        this.alloc = b.alloc;
        this.flowSpecs = List.copyOf(b.flowSpecs);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Flows of one group: {@code count} flows made by {@code factory}, named {@code group-0},
     * {@code group-1}, … (or just {@code group} when it is a single flow added with {@code flow}).
     */
    public record FlowSpec(String group, int count, boolean single, Supplier<? extends SimFlow> factory) {

        /** The name of the {@code i}-th flow of this group. */
        public String name(int i) {
            return single ? group : group + "-" + i;
        }
    }

    public PathConfig pathAToB() {
        return pathAToB;
    }

    public PathConfig pathBToA() {
        return pathBToA;
    }

    public long seed() {
        return seed;
    }

    public Duration duration() {
        return duration;
    }

    public Duration warmup() {
        return warmup;
    }

    public Duration startSpread() {
        return startSpread;
    }

    /** Interval of the goodput time series, or null for none. */
    public Duration sampleInterval() {
        return sampleInterval;
    }

    public List<FlowSpec> flowSpecs() {
        return flowSpecs;
    }

    /** Plays the scenario in a {@link NetworkSimulator}. */
    public ScenarioResult run() {
        NetworkSimulator.Builder nb = NetworkSimulator.builder().paths(pathAToB, pathBToA).seed(seed)
                .headerOverheadBytes(headerOverheadBytes).mtuBytes(mtuBytes).alloc(alloc);
        if (accessRateBitsPerSecond > 0) {
            nb.accessRateBitsPerSecond(accessRateBitsPerSecond);
        }
        if (sendBufferBytes > 0) {
            nb.sendBufferBytes(sendBufferBytes);
        }
        NetworkSimulator sim = nb.build();
        List<SimFlow> flows = new ArrayList<>();
        List<String> groups = new ArrayList<>();
        List<NetworkSimulator.FlowHandle> handles = new ArrayList<>();
        List<Long> starts = new ArrayList<>();
        try {
            SplittableRandom startRandom = sim.splitRandom();
            long spread = startSpread.toNanos();
            for (FlowSpec spec : flowSpecs) {
                for (int i = 0; i < spec.count(); i++) {
                    SimFlow f = spec.factory().get();
                    if (f == null) {
                        throw new IllegalStateException("flow " + spec.name(i) + ": the factory returned null");
                    }
                    long start = spread > 0 ? startRandom.nextLong(spread) : 0;
                    flows.add(f);
                    groups.add(spec.group());
                    starts.add(start);
                    handles.add(sim.attach(spec.name(i), f.sideA(), f.sideB(), start));
                }
            }
            long end = duration.toNanos();
            long warm = warmup.toNanos();
            long step = sampleInterval == null ? 0 : sampleInterval.toNanos();
            int n = flows.size();
            long[] atWarmup = new long[n];
            boolean warmupTaken = warm == 0;
            List<List<Double>> series = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                series.add(new ArrayList<>());
            }
            long[] lastSample = new long[n];
            long lastSampleTime = 0;
            long t = 0;
            while (t < end) {
                long next = end;
                if (!warmupTaken) {
                    next = Math.min(next, warm);
                }
                if (step > 0) {
                    next = Math.min(next, (t / step + 1) * step);
                }
                sim.run(next);
                t = next;
                if (!warmupTaken && t == warm) {
                    warmupTaken = true;
                    for (int i = 0; i < n; i++) {
                        atWarmup[i] = flows.get(i).deliveredBytes();
                    }
                }
                if (step > 0 && (t % step == 0 || t == end)) {
                    for (int i = 0; i < n; i++) {
                        long d = flows.get(i).deliveredBytes();
                        series.get(i).add((d - lastSample[i]) * 8e9 / (t - lastSampleTime));
                        lastSample[i] = d;
                    }
                    lastSampleTime = t;
                }
            }
            List<ScenarioResult.FlowResult> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                long from = Math.max(warm, starts.get(i));
                long bytes = flows.get(i).deliveredBytes() - atWarmup[i];
                double goodput = end > from ? bytes * 8e9 / (end - from) : 0;
                NetworkSimulator.FlowHandle h = handles.get(i);
                results.add(new ScenarioResult.FlowResult(h.name(), groups.get(i), starts.get(i), bytes, goodput,
                        List.copyOf(series.get(i)), h.stats(Direction.A_TO_B), h.stats(Direction.B_TO_A)));
            }
            return new ScenarioResult(this, results, sim.pathStats(Direction.A_TO_B), sim.pathStats(Direction.B_TO_A),
                    sim.queueLimitBytes(Direction.A_TO_B), sim.processedEvents(), sim.sentDatagrams());
        } finally {
            sim.close();
            for (SimFlow f : flows) {
                closeIfCloseable(f.sideA());
                closeIfCloseable(f.sideB());
            }
        }
    }

    private static void closeIfCloseable(DatagramEndpoint e) {
        if (e instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ex) {
                throw new IllegalStateException("closing endpoint " + e + " failed", ex);
            }
        }
    }

    /**
     * Builds a {@link Scenario}; defaults: {@link PathConfig#builder()} both ways, seed 1, 60 s, no
     * warm-up, start spread 1 s (at most a tenth of the duration), no time series.
     */
    public static final class Builder {
        private PathConfig pathAToB = PathConfig.builder().build();
        private PathConfig pathBToA = pathAToB;
        private long seed = 1;
        private Duration duration = Duration.ofSeconds(60);
        private Duration warmup = Duration.ZERO;
        private Duration startSpread;
        private Duration sampleInterval;
        private int headerOverheadBytes = 28;
        private int mtuBytes = 1500;
        private long accessRateBitsPerSecond;
        private long sendBufferBytes;
        private ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        private final List<FlowSpec> flowSpecs = new ArrayList<>();
        private final Set<String> groups = new HashSet<>();

        private Builder() {
        }

        public Builder path(PathConfig both) {
            this.pathAToB = both;
            this.pathBToA = both;
            return this;
        }

        public Builder paths(PathConfig aToB, PathConfig bToA) {
            this.pathAToB = aToB;
            this.pathBToA = bToA;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Virtual time the scenario runs. */
        public Builder duration(Duration d) {
            this.duration = d;
            return this;
        }

        /** Virtual time excluded from goodput and fairness (slow start, convergence). */
        public Builder warmup(Duration d) {
            this.warmup = d;
            return this;
        }

        /** Flows start at seeded random times in [0, spread); zero starts them all at once. */
        public Builder startSpread(Duration d) {
            this.startSpread = d;
            return this;
        }

        /** Records every flow's goodput per interval (from the start of the run). */
        public Builder sampleInterval(Duration d) {
            this.sampleInterval = d;
            return this;
        }

        public Builder headerOverheadBytes(int bytes) {
            this.headerOverheadBytes = bytes;
            return this;
        }

        public Builder mtuBytes(int bytes) {
            this.mtuBytes = bytes;
            return this;
        }

        /** Access link rate per endpoint; 0 for the simulator's default (ten times the bottleneck). */
        public Builder accessRateBitsPerSecond(long bitsPerSecond) {
            this.accessRateBitsPerSecond = bitsPerSecond;
            return this;
        }

        /** Send buffer per endpoint; 0 for the simulator's default. */
        public Builder sendBufferBytes(long bytes) {
            this.sendBufferBytes = bytes;
            return this;
        }

        public Builder alloc(ByteBufAllocator alloc) {
            this.alloc = alloc;
            return this;
        }

        /** One flow, given as an instance: the scenario can then run only once. */
        public Builder flow(String name, SimFlow flow) {
            if (flow == null) {
                throw new IllegalArgumentException("scenario.flows." + name + ": null (expected: a flow)");
            }
            AtomicBoolean used = new AtomicBoolean();
            return add(name, 1, true, () -> {
                if (used.getAndSet(true)) {
                    throw new IllegalStateException("flow " + name + " was given as an instance and has already run"
                            + " (pass a Supplier to flows() to run a scenario more than once)");
                }
                return flow;
            });
        }

        /** One flow of two endpoints and a goodput counter. */
        public Builder flow(String name, DatagramEndpoint a, DatagramEndpoint b, LongSupplier deliveredBytes) {
            return flow(name, SimFlow.of(a, b, deliveredBytes));
        }

        /** {@code count} flows made by {@code factory}, named {@code group-0} … */
        public Builder flows(String group, int count, Supplier<? extends SimFlow> factory) {
            if (factory == null) {
                throw new IllegalArgumentException("scenario.flows." + group + ".factory: null (expected: a factory)");
            }
            return add(group, count, false, factory);
        }

        private Builder add(String group, int count, boolean single, Supplier<? extends SimFlow> factory) {
            if (group == null || group.isEmpty()) {
                throw new IllegalArgumentException("scenario.flows.group: " + group + " (expected: a non-empty name)");
            }
            if (!groups.add(group)) {
                throw new IllegalArgumentException("scenario.flows." + group + ": duplicate (expected: unique group names)");
            }
            if (count < 1 || count > 10_000) {
                throw new IllegalArgumentException("scenario.flows." + group + ".count: " + count + " (expected: 1..10000)");
            }
            flowSpecs.add(new FlowSpec(group, count, single, factory));
            return this;
        }

        public Scenario build() {
            require(pathAToB != null && pathBToA != null, "paths", pathAToB + ", " + pathBToA, "a PathConfig per direction");
            require(duration != null && !duration.isNegative() && !duration.isZero(), "duration", duration, "> 0");
            require(warmup != null && !warmup.isNegative() && warmup.compareTo(duration) < 0, "warmup", warmup,
                    ">= 0 and < duration (" + duration + ")");
            require(startSpread == null || (!startSpread.isNegative() && startSpread.compareTo(duration) < 0),
                    "startSpread", startSpread, ">= 0 and < duration (" + duration + ")");
            require(sampleInterval == null || (!sampleInterval.isNegative() && !sampleInterval.isZero()),
                    "sampleInterval", sampleInterval, "> 0, or null for no time series");
            require(!flowSpecs.isEmpty(), "flows", "none", "at least one flow");
            return new Scenario(this);
        }

        private static void require(boolean ok, String field, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException("scenario." + field + ": " + value + " (expected: " + expected + ")");
            }
        }
    }
}
