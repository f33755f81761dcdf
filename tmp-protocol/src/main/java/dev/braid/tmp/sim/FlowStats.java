package dev.braid.tmp.sim;

/**
 * What one flow sent in one direction and what became of it. Bytes are wire bytes: the datagram
 * plus the simulator's per-packet header overhead. Every sent datagram is, by the end of a run,
 * delivered, dropped for exactly one reason, or still in flight; duplicates are delivered in
 * addition and counted in {@code duplicated}.
 *
 * @param sentPackets      datagrams the endpoint handed to the simulator
 * @param sentBytes        their wire bytes
 * @param deliveredPackets datagrams handed to the peer endpoint, duplicates included
 * @param deliveredBytes   their wire bytes
 * @param queueDrops       dropped because the bottleneck queue was full (tail drop)
 * @param lossDrops        dropped by random or Gilbert–Elliott loss
 * @param blackoutDrops    dropped because they met a blackout
 * @param oversizeDrops    dropped because they exceeded the MTU
 * @param duplicated       extra copies delivered
 */
public record FlowStats(long sentPackets, long sentBytes, long deliveredPackets, long deliveredBytes,
                        long queueDrops, long lossDrops, long blackoutDrops, long oversizeDrops, long duplicated) {

    /** Datagrams dropped for any reason. */
    public long drops() {
        return queueDrops + lossDrops + blackoutDrops + oversizeDrops;
    }
}
