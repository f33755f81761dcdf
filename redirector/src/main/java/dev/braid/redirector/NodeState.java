package dev.braid.redirector;

import java.util.List;
import java.util.Map;

/**
 * What the managers know about the front-ends right now, as the redirector consumes it: one
 * immutable snapshot, replaced whole by the next one from a {@link NodeStateSource}. Front-ends
 * the snapshot does not mention are taken as healthy, idle and without measurements, so a
 * redirector answers from the configuration alone until the managers report.
 *
 * @param frontEnds the state of each front-end, by its configured name
 */
public record NodeState(Map<String, FrontEnd> frontEnds) {

    /** No reports yet. */
    public static final NodeState NONE = new NodeState(Map.of());

    public NodeState {
        frontEnds = Map.copyOf(frontEnds);
    }

    /** The state of {@code name}, or {@link FrontEnd#UNREPORTED}. */
    public FrontEnd frontEnd(String name) {
        return frontEnds.getOrDefault(name, FrontEnd.UNREPORTED);
    }

    /**
     * One front-end's state.
     *
     * @param healthy  false when the managers mark it failed: it leaves every answer
     * @param load     client connections open now
     * @param capacity connections it can take, overriding the configured {@code capacity} when above 0
     * @param rtts     round-trip times it measured to client networks
     */
    public record FrontEnd(boolean healthy, long load, long capacity, List<Rtt> rtts) {

        public static final FrontEnd UNREPORTED = new FrontEnd(true, 0, 0, List.of());

        public FrontEnd {
            rtts = List.copyOf(rtts);
            if (load < 0 || capacity < 0) {
                throw new IllegalArgumentException("load: " + load + ", capacity: " + capacity + " (expected: >= 0)");
            }
        }
    }

    /**
     * A round-trip time a front-end measured to a client network.
     *
     * @param prefix the client network in CIDR notation
     * @param millis the smoothed round-trip time, in milliseconds
     */
    public record Rtt(String prefix, double millis) {
        public Rtt {
            if (!(millis >= 0) || Double.isInfinite(millis)) {
                throw new IllegalArgumentException("millis: " + millis + " (expected: a finite number >= 0)");
            }
        }
    }
}
