package dev.braid.tmp.sim;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One direction of the simulated path: a bottleneck link with a FIFO tail-drop queue, followed by
 * a wire with propagation delay and impairments. Immutable and validated whole.
 *
 * <p>What happens to a datagram, in order (see {@link NetworkSimulator}): it is dropped if it is
 * offered during a blackout or the queue has no room for it; otherwise it waits its turn and is
 * serialised at {@code rateBitsPerSecond}. When it leaves the bottleneck it is dropped if that
 * instant lies in a blackout, then by random loss and by the Gilbert–Elliott channel (independent
 * draws); a survivor arrives after {@code delay} plus jitter, plus {@code reorderDelay} if it was
 * picked for reordering, and is delivered twice if it was picked for duplication.
 *
 * @param rateBitsPerSecond   bottleneck rate in bits per second, counting every wire byte
 *                            (datagram plus the simulator's per-packet header overhead)
 * @param delayNanos          one-way propagation delay
 * @param queueLimitBytes     bytes the bottleneck holds (waiting plus the one being serialised);
 *                            {@link #QUEUE_ONE_BDP} (the default) for one bandwidth-delay product of
 *                            the round trip: this direction's rate times both directions' delays,
 *                            but at least two MTUs
 * @param lossProbability     independent (Bernoulli) loss probability per datagram
 * @param burstLoss           Gilbert–Elliott bursty loss, {@link GilbertElliott#NONE} for none
 * @param reorderProbability  probability that a datagram is held back by {@code reorderDelayNanos},
 *                            so that datagrams sent after it overtake it
 * @param reorderDelayNanos   extra delay of a reordered datagram
 * @param duplicateProbability probability that a datagram is delivered twice
 * @param jitterNanos         extra delay drawn uniformly from [0, jitter] per datagram; it never
 *                            reorders (a datagram never arrives before the one sent before it)
 * @param blackouts           intervals of virtual time, from the start of the run, during which
 *                            this direction drops everything; sorted and disjoint
 */
public record PathConfig(long rateBitsPerSecond, long delayNanos, long queueLimitBytes, double lossProbability,
                         GilbertElliott burstLoss, double reorderProbability, long reorderDelayNanos,
                         double duplicateProbability, long jitterNanos, List<Blackout> blackouts) {

    /** {@link #queueLimitBytes} value for a queue of one bandwidth-delay product of the round trip. */
    public static final long QUEUE_ONE_BDP = -1;

    public PathConfig {
        require(rateBitsPerSecond >= 1_000, "rateBitsPerSecond", rateBitsPerSecond, ">= 1000");
        require(delayNanos >= 0, "delayNanos", delayNanos, ">= 0");
        require(queueLimitBytes == QUEUE_ONE_BDP || queueLimitBytes >= 1, "queueLimitBytes", queueLimitBytes,
                ">= 1, or -1 for one bandwidth-delay product");
        requireProbability(lossProbability, "lossProbability");
        require(burstLoss != null, "burstLoss", burstLoss, "GilbertElliott.NONE or a channel");
        requireProbability(reorderProbability, "reorderProbability");
        require(reorderDelayNanos >= 0, "reorderDelayNanos", reorderDelayNanos, ">= 0");
        require(reorderProbability == 0 || reorderDelayNanos > 0, "reorderDelayNanos", reorderDelayNanos,
                "> 0 when reorderProbability > 0");
        requireProbability(duplicateProbability, "duplicateProbability");
        require(jitterNanos >= 0, "jitterNanos", jitterNanos, ">= 0");
        require(blackouts != null, "blackouts", blackouts, "a list");
        blackouts = List.copyOf(blackouts);
        for (int i = 1; i < blackouts.size(); i++) {
            Blackout prev = blackouts.get(i - 1);
            Blackout next = blackouts.get(i);
            require(next.startNanos() >= prev.endNanos(), "blackouts[" + i + "]", next,
                    "sorted and disjoint, starting at or after " + prev.endNanos());
        }
    }

    /** A builder starting from 100 Mbit/s, 40 ms one way, a one-BDP queue and no impairments. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.rateBitsPerSecond = rateBitsPerSecond;
        b.delayNanos = delayNanos;
        b.queueLimitBytes = queueLimitBytes;
        b.lossProbability = lossProbability;
        b.burstLoss = burstLoss;
        b.reorderProbability = reorderProbability;
        b.reorderDelayNanos = reorderDelayNanos;
        b.duplicateProbability = duplicateProbability;
        b.jitterNanos = jitterNanos;
        b.blackouts.addAll(blackouts);
        return b;
    }

    /** Whether {@code nanos} lies in one of the blackouts. */
    boolean blackedOut(long nanos) {
        for (int i = 0, n = blackouts.size(); i < n; i++) {
            Blackout b = blackouts.get(i);
            if (nanos < b.startNanos()) {
                return false;
            }
            if (nanos < b.endNanos()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The Gilbert–Elliott two-state loss channel: before each datagram the state moves from good to
     * bad with probability {@code pGoodToBad} and back with {@code pBadToGood}; the datagram is then
     * lost with {@code lossInBad} in the bad state and {@code lossInGood} in the good one. The mean
     * bad run lasts 1/pBadToGood datagrams; the long-run loss rate is
     * (pGoodToBad·lossInBad + pBadToGood·lossInGood) / (pGoodToBad + pBadToGood).
     */
    public record GilbertElliott(double pGoodToBad, double pBadToGood, double lossInBad, double lossInGood) {

        /** No bursty loss. */
        public static final GilbertElliott NONE = new GilbertElliott(0, 1, 0, 0);

        public GilbertElliott {
            requireProbability(pGoodToBad, "burstLoss.pGoodToBad");
            requireProbability(pBadToGood, "burstLoss.pBadToGood");
            requireProbability(lossInBad, "burstLoss.lossInBad");
            requireProbability(lossInGood, "burstLoss.lossInGood");
            require(pBadToGood > 0, "burstLoss.pBadToGood", pBadToGood, "> 0, or the bad state never ends");
        }

        /** Whether this channel can lose anything. */
        public boolean active() {
            return (pGoodToBad > 0 && lossInBad > 0) || lossInGood > 0;
        }

        /** The long-run fraction of datagrams lost. */
        public double meanLossRate() {
            double bad = pGoodToBad / (pGoodToBad + pBadToGood);
            return bad * lossInBad + (1 - bad) * lossInGood;
        }
    }

    /** An interval [start, end) of virtual time during which a direction drops everything. */
    public record Blackout(long startNanos, long endNanos) {
        public Blackout {
            require(startNanos >= 0, "blackout.startNanos", startNanos, ">= 0");
            require(endNanos > startNanos, "blackout.endNanos", endNanos, "> startNanos (" + startNanos + ")");
        }

        public static Blackout of(Duration start, Duration end) {
            return new Blackout(start.toNanos(), end.toNanos());
        }
    }

    /** Builds a {@link PathConfig}; every setter validates when {@link #build()} runs. */
    public static final class Builder {
        private long rateBitsPerSecond = 100_000_000L;
        private long delayNanos = 40_000_000L;
        private long queueLimitBytes = QUEUE_ONE_BDP;
        private double lossProbability;
        private GilbertElliott burstLoss = GilbertElliott.NONE;
        private double reorderProbability;
        private long reorderDelayNanos;
        private double duplicateProbability;
        private long jitterNanos;
        private final List<Blackout> blackouts = new ArrayList<>();

        private Builder() {
        }

        public Builder rateBitsPerSecond(long bitsPerSecond) {
            this.rateBitsPerSecond = bitsPerSecond;
            return this;
        }

        public Builder rateMbps(double megabitsPerSecond) {
            return rateBitsPerSecond(Math.round(megabitsPerSecond * 1_000_000));
        }

        /** One-way propagation delay. */
        public Builder delay(Duration oneWay) {
            this.delayNanos = oneWay.toNanos();
            return this;
        }

        public Builder queueLimitBytes(long bytes) {
            this.queueLimitBytes = bytes;
            return this;
        }

        /** A queue of one bandwidth-delay product of the round trip (the default). */
        public Builder queueOneBdp() {
            this.queueLimitBytes = QUEUE_ONE_BDP;
            return this;
        }

        public Builder loss(double probability) {
            this.lossProbability = probability;
            return this;
        }

        public Builder burstLoss(GilbertElliott channel) {
            this.burstLoss = channel;
            return this;
        }

        /** Gilbert–Elliott loss with no loss in the good state. */
        public Builder burstLoss(double pGoodToBad, double pBadToGood, double lossInBad) {
            return burstLoss(new GilbertElliott(pGoodToBad, pBadToGood, lossInBad, 0));
        }

        public Builder reorder(double probability, Duration extraDelay) {
            this.reorderProbability = probability;
            this.reorderDelayNanos = extraDelay.toNanos();
            return this;
        }

        public Builder duplicate(double probability) {
            this.duplicateProbability = probability;
            return this;
        }

        public Builder jitter(Duration max) {
            this.jitterNanos = max.toNanos();
            return this;
        }

        /** Adds a blackout [start, end) of virtual time; blackouts are sorted when built. */
        public Builder blackout(Duration start, Duration end) {
            blackouts.add(Blackout.of(start, end));
            return this;
        }

        public Builder clearBlackouts() {
            blackouts.clear();
            return this;
        }

        public PathConfig build() {
            List<Blackout> sorted = new ArrayList<>(blackouts);
            sorted.sort(Comparator.comparingLong(Blackout::startNanos));
            return new PathConfig(rateBitsPerSecond, delayNanos, queueLimitBytes, lossProbability, burstLoss,
                    reorderProbability, reorderDelayNanos, duplicateProbability, jitterNanos, sorted);
        }
    }

    static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("path." + field + ": " + value + " (expected: " + expected + ")");
        }
    }

    private static void requireProbability(double p, String field) {
        require(p >= 0 && p <= 1, field, p, "a probability in [0, 1]");
    }
}
