package dev.braid.tmp;

/**
 * One side's view of the link in its sending direction, as measured by its recovery layer and sent
 * to the peer in QOS frames, so each end knows the link in both directions (seed 004: "each end
 * has a great deal of information about the characteristics of the connection in one direction,
 * but not the other").
 *
 * @param lossRate                  share of packets declared lost over the report interval, 0..1
 * @param smoothedRttMicros         smoothed round-trip time (RFC 9002 §5.3), microseconds
 * @param rttVarianceMicros         round-trip time variation, microseconds
 * @param minRttMicros              smallest round-trip time seen, microseconds
 * @param deliveryRateBytesPerSecond acknowledged bytes per second over the report interval
 * @param hostedStreams             streams the link counts as hosted (the smoothed N of the window)
 */
public record QosReport(double lossRate, long smoothedRttMicros, long rttVarianceMicros, long minRttMicros,
                        long deliveryRateBytesPerSecond, double hostedStreams) {

    /** Nothing measured yet (also what a TCP link reports: the kernel keeps its numbers). */
    public static final QosReport UNKNOWN = new QosReport(0, 0, 0, 0, 0, 0);

    /** Whether this report carries a measurement. */
    public boolean isKnown() {
        return smoothedRttMicros > 0;
    }
}
