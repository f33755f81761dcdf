package dev.braid.managers.config;

/**
 * How the managers' assignment policy lends spare front-ends and back-ends (nodes that list no
 * {@code sites}) to busy sites and takes them back.
 *
 * @param highLoad    a site whose load (mean of its healthy nodes' load, a fraction of capacity)
 *                    stays above this for {@code holdSeconds} gets one more spare (default 0.8)
 * @param lowLoad     a site whose load stays below this for {@code holdSeconds} gives its most
 *                    recently lent spare back (default 0.5); lower than {@code highLoad}
 * @param holdSeconds how long a crossing must last before a move, and the least time a lent spare
 *                    stays, in seconds (default 30)
 */
public record AssignmentSettings(Double highLoad, Double lowLoad, Integer holdSeconds) {

    public static final AssignmentSettings DEFAULT = new AssignmentSettings(null, null, null);

    public AssignmentSettings {
        highLoad = highLoad == null ? 0.8 : highLoad;
        lowLoad = lowLoad == null ? 0.5 : lowLoad;
        holdSeconds = holdSeconds == null ? 30 : holdSeconds;
    }
}
