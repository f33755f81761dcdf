package dev.braid.tmp.sim;

import java.util.List;
import java.util.Locale;

/**
 * What a {@link Scenario} measured: goodput per flow over the measurement window, Jain's fairness
 * index, path counters, and how much work the simulation did.
 */
public final class ScenarioResult {

    private final Scenario scenario;
    private final List<FlowResult> flows;
    private final PathStats aToB;
    private final PathStats bToA;
    private final long queueLimitBytes;
    private final long processedEvents;
    private final long sentDatagrams;

    ScenarioResult(Scenario scenario, List<FlowResult> flows, PathStats aToB, PathStats bToA, long queueLimitBytes,
                   long processedEvents, long sentDatagrams) {
        this.scenario = scenario;
        this.flows = List.copyOf(flows);
        this.aToB = aToB;
        this.bToA = bToA;
        this.queueLimitBytes = queueLimitBytes;
        this.processedEvents = processedEvents;
        this.sentDatagrams = sentDatagrams;
    }

    /**
     * One flow's outcome.
     *
     * @param name                 flow name ({@code group} or {@code group-i})
     * @param group                the group it was added with
     * @param startNanos           when it started
     * @param deliveredBytes       application bytes it delivered in the measurement window
     * @param goodputBitsPerSecond those bytes over the window (from max(warm-up, start) to the end)
     * @param series               goodput per sample interval from the start of the run, bits/s
     *                             (empty without a sample interval)
     * @param aToB                 datagrams it sent from side A and their fate
     * @param bToA                 datagrams it sent from side B and their fate
     */
    public record FlowResult(String name, String group, long startNanos, long deliveredBytes,
                             double goodputBitsPerSecond, List<Double> series, FlowStats aToB, FlowStats bToA) {
    }

    public Scenario scenario() {
        return scenario;
    }

    public List<FlowResult> flows() {
        return flows;
    }

    /** The flow named {@code name}. */
    public FlowResult flow(String name) {
        for (FlowResult f : flows) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("flow: " + name + " (expected: one of " + flows.stream().map(FlowResult::name).toList() + ")");
    }

    /** The flows of {@code group}. */
    public List<FlowResult> group(String group) {
        List<FlowResult> members = flows.stream().filter(f -> f.group().equals(group)).toList();
        if (members.isEmpty()) {
            throw new IllegalArgumentException("group: " + group + " (expected: one of "
                    + flows.stream().map(FlowResult::group).distinct().toList() + ")");
        }
        return members;
    }

    /** Summed goodput of the flows of {@code group}, bits per second. */
    public double goodputBitsPerSecond(String group) {
        return group(group).stream().mapToDouble(FlowResult::goodputBitsPerSecond).sum();
    }

    /** Summed goodput of every flow, bits per second. */
    public double totalGoodputBitsPerSecond() {
        return flows.stream().mapToDouble(FlowResult::goodputBitsPerSecond).sum();
    }

    /** Jain's fairness index over every flow's goodput. */
    public double jainIndex() {
        return jainIndexOf(flows.stream().mapToDouble(FlowResult::goodputBitsPerSecond).toArray());
    }

    /** Jain's fairness index over the goodput of the flows of {@code group}. */
    public double jainIndex(String group) {
        return jainIndexOf(group(group).stream().mapToDouble(FlowResult::goodputBitsPerSecond).toArray());
    }

    /**
     * Jain's fairness index (Σx)² / (n·Σx²): 1 when all are equal, 1/n when one takes everything.
     * Defined as 1 for all-zero input (nobody is favoured).
     */
    public static double jainIndexOf(double... x) {
        if (x.length == 0) {
            throw new IllegalArgumentException("x: [] (expected: at least one value)");
        }
        double sum = 0;
        double squares = 0;
        for (double v : x) {
            if (v < 0 || Double.isNaN(v)) {
                throw new IllegalArgumentException("x: " + v + " (expected: >= 0)");
            }
            sum += v;
            squares += v * v;
        }
        return squares == 0 ? 1 : sum * sum / (x.length * squares);
    }

    public PathStats path(Direction direction) {
        return direction == Direction.A_TO_B ? aToB : bToA;
    }

    /** The queue limit in force from A to B, bytes. */
    public long queueLimitBytes() {
        return queueLimitBytes;
    }

    /** Simulator events processed (a measure of the work done). */
    public long processedEvents() {
        return processedEvents;
    }

    /** Datagrams all endpoints sent, both directions. */
    public long sentDatagrams() {
        return sentDatagrams;
    }

    /** A plain-text table: one line per flow, then fairness and path counters. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-16s %12s %10s %10s %10s%n", "flow", "goodput", "sent A>B", "sent B>A",
                "drops A>B"));
        for (FlowResult f : flows) {
            sb.append(String.format(Locale.ROOT, "%-16s %8.3f Mb/s %10d %10d %10d%n", f.name(),
                    f.goodputBitsPerSecond() / 1e6, f.aToB().sentPackets(), f.bToA().sentPackets(), f.aToB().drops()));
        }
        sb.append(String.format(Locale.ROOT, "jain %.4f  total %.3f Mb/s  A>B utilisation %.3f  queue drops %d  "
                        + "loss drops %d/%d  queue high water %d of %d bytes%n",
                jainIndex(), totalGoodputBitsPerSecond() / 1e6, aToB.utilisation(), aToB.queueDrops(),
                aToB.lossDrops(), bToA.lossDrops(), aToB.queueHighWaterBytes(), queueLimitBytes));
        return sb.toString();
    }
}
