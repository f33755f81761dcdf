package dev.braid.tmp.sim;

/**
 * What one direction of the path carried, summed over every flow, from the start of the run to
 * {@code elapsedNanos}. Bytes are wire bytes: the datagram plus the per-packet header overhead.
 *
 * @param offeredPackets     datagrams that reached the bottleneck (oversize ones never do)
 * @param offeredBytes       their wire bytes
 * @param deliveredPackets   datagrams delivered to an endpoint, duplicates included
 * @param deliveredBytes     their wire bytes
 * @param queueDrops         tail drops at the bottleneck queue
 * @param randomLossDrops    drops by independent random loss
 * @param burstLossDrops     drops by the Gilbert–Elliott channel
 * @param blackoutDrops      drops in a blackout
 * @param oversizeDrops      datagrams above the MTU, dropped before the bottleneck
 * @param reordered          datagrams held back so that later ones overtook them
 * @param duplicated         extra copies delivered
 * @param transmittedBytes   wire bytes the bottleneck finished serialising (lost ones included)
 * @param queueHighWaterBytes the most bytes the bottleneck held at once
 * @param queueLimitBytes    the queue limit in force
 * @param totalQueueDelayNanos sum over accepted datagrams of the time they waited before serialisation
 * @param acceptedPackets    datagrams the queue accepted
 * @param rateBitsPerSecond  the bottleneck rate
 * @param elapsedNanos       virtual time these counts cover
 */
public record PathStats(long offeredPackets, long offeredBytes, long deliveredPackets, long deliveredBytes,
                        long queueDrops, long randomLossDrops, long burstLossDrops, long blackoutDrops,
                        long oversizeDrops, long reordered, long duplicated, long transmittedBytes,
                        long queueHighWaterBytes, long queueLimitBytes, long totalQueueDelayNanos,
                        long acceptedPackets, long rateBitsPerSecond, long elapsedNanos) {

    /** Drops by random and bursty loss together. */
    public long lossDrops() {
        return randomLossDrops + burstLossDrops;
    }

    /** The fraction of the elapsed time the bottleneck spent serialising. */
    public double utilisation() {
        return elapsedNanos == 0 ? 0 : transmittedBytes * 8e9 / rateBitsPerSecond / elapsedNanos;
    }

    /** Mean time an accepted datagram waited in the queue, in nanoseconds. */
    public double meanQueueDelayNanos() {
        return acceptedPackets == 0 ? 0 : (double) totalQueueDelayNanos / acceptedPackets;
    }
}
