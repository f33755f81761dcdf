package dev.braid.tmp;

/**
 * A congestion controller of the UDP carrier: decides the window (bytes in flight) and the pacing
 * rate from what {@link Recovery} observes. Pure: time comes in as arguments (nanoseconds).
 */
interface CongestionController {

    /** Bytes that may be in flight. */
    long window();

    /** Bytes per second to pace at. */
    double pacingRate(RttEstimator rtt);

    /** The number of streams the link hosts (smoothed); only the N-flow window uses it. */
    void hostedStreams(double n);

    /** One packet was newly acknowledged. */
    void onPacketAcked(long now, long sentTime, int bytes, long priorInFlight);

    /** An ACK frame was processed (after {@link #onPacketAcked} for each packet it acknowledged). */
    void onAck(long now, AckSample sample);

    /** A packet was declared lost. */
    void onPacketLost(long now, long sentTime, int bytes);

    /** A packet is about to leave while nothing is in flight: the sender was idle until now. */
    default void onRestartFromIdle(long now) {
    }

    /** RFC 9002 §7.6: a long enough run of lost packets; the window drops to its minimum. */
    void onPersistentCongestion(long now);

    /** For reports and tests: {@code n-flow} or {@code bbr}. */
    String name();

    /** What one ACK frame told the controller. Reused; read it during the call only. */
    final class AckSample {
        long now;
        long ackedBytes;
        long inFlight;
        /** Delivery rate in bytes per second measured on this ACK, 0 when none. */
        double deliveryRate;
        boolean appLimited;
        boolean roundStart;
        /** Packets acknowledged and lost in the round that just ended (valid when {@link #roundStart}). */
        long roundAcked;
        long roundLost;
        RttEstimator rtt;
        boolean rttSampled;
    }
}
