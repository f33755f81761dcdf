package dev.braid.blender;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A deterministic receiving end for blender tests: pulls packets, checks that every byte of every
 * stream arrives in order exactly once (bytes follow a pattern of stream id and offset), that the
 * end of stream arrives exactly once and last, and records per-packet, per-ring payload and the
 * gaps between services of each ring. Streams can be kept backlogged: the sink tops a stream up
 * whenever it serves it.
 */
final class Sim implements SubPacketSink {

    static final int MAX_RINGS = BlenderSettings.MAX_RINGS;

    final Blender blender;
    final int packetBytes;
    final int overhead;
    final Map<Long, Stream> streams = new LinkedHashMap<>();
    /** Payload bytes per ring, one array per non-empty packet. */
    final List<long[]> perPacket = new ArrayList<>();
    /** Stream ids of the sub-packets, in order, when {@link #logSubPackets} is set. */
    final List<long[]> subPacketLog = new ArrayList<>();
    boolean logSubPackets;

    long linkBytes;
    long subPackets;
    private long[] current = new long[MAX_RINGS];
    private int packetIndex;
    final long[] lastServedLinkBytes = new long[MAX_RINGS];
    final int[] lastServedPacket = new int[MAX_RINGS];
    final long[] maxGapBytes = new long[MAX_RINGS];
    final int[] maxGapPackets = new int[MAX_RINGS];
    /** Largest spread of bytes sent among the backlogged streams of one ring, checked after every sub-packet. */
    long maxSpreadInRing;
    boolean trackSpread;

    Sim(Blender blender, int packetBytes, int overhead) {
        this.blender = blender;
        this.packetBytes = packetBytes;
        this.overhead = overhead;
        resetGaps();
    }

    static final class Stream {
        final long id;
        final BlendQueue q;
        long enqueued;
        long received;
        int fins;
        /** When positive, the stream is topped up to this many queued bytes whenever it is served. */
        int backlog;

        Stream(long id, BlendQueue q) {
            this.id = id;
            this.q = q;
        }
    }

    static byte pattern(long streamId, long offset) {
        return (byte) ((offset * 0x9E3779B1L + streamId * 0x85EBCA6BL) >>> 13);
    }

    Stream open(long id, int ring) {
        return open(id, ring, Long.MAX_VALUE);
    }

    Stream open(long id, int ring, long credit) {
        Stream s = new Stream(id, blender.open(id, ring, credit));
        streams.put(id, s);
        return s;
    }

    /** Opens {@code count} streams in {@code ring}, each kept backlogged with {@code backlog} bytes. */
    List<Stream> backlogged(long firstId, int ring, int count, int backlog) {
        List<Stream> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Stream s = open(firstId + i, ring);
            s.backlog = backlog;
            topUp(s);
            out.add(s);
        }
        return out;
    }

    void enqueue(Stream s, int n) {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = pattern(s.id, s.enqueued + i);
        }
        s.enqueued += n;
        // Direct: Netty tracks leaks of unpooled direct buffers, not of unpooled heap ones.
        s.q.enqueue(Unpooled.directBuffer(n).writeBytes(bytes));
    }

    void topUp(Stream s) {
        if (s.backlog > 0 && !s.q.isClosed() && !s.q.finQueued() && s.q.queuedBytes() < s.backlog / 2) {
            long need = s.backlog - s.q.queuedBytes();
            while (need > 0) {
                int n = (int) Math.min(need, 4096);
                enqueue(s, n);
                need -= n;
            }
        }
    }

    void resetGaps() {
        java.util.Arrays.fill(lastServedLinkBytes, -1);
        java.util.Arrays.fill(lastServedPacket, -1);
        java.util.Arrays.fill(maxGapBytes, 0);
        java.util.Arrays.fill(maxGapPackets, 0);
    }

    /** Pulls one packet with unlimited link credit; returns its size. */
    int packet() {
        return packet(Long.MAX_VALUE);
    }

    int packet(long linkCredit) {
        java.util.Arrays.fill(current, 0);
        int used = blender.nextPacket(packetBytes, linkCredit, overhead, this);
        assertTrue(used <= packetBytes, "packet of " + used + " bytes exceeds " + packetBytes);
        if (used > 0) {
            perPacket.add(current.clone());
            packetIndex++;
        }
        return used;
    }

    void packets(int n) {
        for (int i = 0; i < n; i++) {
            packet();
        }
    }

    /** Pulls packets until nothing is ready; fails if that takes more than {@code max}. */
    void drain(int max) {
        for (int i = 0; i < max; i++) {
            if (packet() == 0) {
                assertFalse(blender.hasReady(), "empty packet while a stream is ready");
                return;
            }
        }
        fail("not drained after " + max + " packets");
    }

    @Override
    public void accept(BlendQueue queue, long offset, ByteBuf data, boolean fin) {
        Stream s = streams.get(queue.streamId());
        int n;
        try {
            n = data.readableBytes();
            assertTrue(s != null, "unknown stream " + queue.streamId());
            assertFalse(queue.isClosed(), "sub-packet of a closed stream");
            assertEquals(s.received, offset, "stream " + s.id + ": offset");
            assertTrue(n <= blender.settings().subPacketBytes(), "sub-packet of " + n + " bytes");
            assertTrue(offset + n <= queue.creditLimit(), "stream " + s.id + " sent beyond its credit");
            assertEquals(0, s.fins, "stream " + s.id + ": data after its end");
            // One bulk read: the leak detector records every access, and a per-byte read would be slow.
            byte[] bytes = new byte[n];
            data.getBytes(data.readerIndex(), bytes);
            for (int i = 0; i < n; i++) {
                if (bytes[i] != pattern(s.id, offset + i)) {
                    fail("stream " + s.id + ": wrong byte at offset " + (offset + i));
                }
            }
        } finally {
            data.release();
        }
        s.received += n;
        if (fin) {
            s.fins++;
            assertTrue(queue.finQueued(), "FIN that was never queued");
            assertEquals(s.enqueued, s.received, "stream " + s.id + ": FIN before its last byte");
        } else {
            assertTrue(n > 0, "empty sub-packet without FIN");
        }
        int ring = queue.ring();
        if (lastServedLinkBytes[ring] >= 0) {
            maxGapBytes[ring] = Math.max(maxGapBytes[ring], linkBytes - lastServedLinkBytes[ring]);
            maxGapPackets[ring] = Math.max(maxGapPackets[ring], packetIndex - lastServedPacket[ring] - 1);
        }
        linkBytes += n + overhead;
        subPackets++;
        lastServedLinkBytes[ring] = linkBytes;
        lastServedPacket[ring] = packetIndex;
        current[ring] += n;
        if (logSubPackets) {
            subPacketLog.add(new long[] {s.id, offset, n});
        }
        topUp(s);
        if (trackSpread) {
            checkSpread(ring);
        }
    }

    private void checkSpread(int ring) {
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (Stream t : streams.values()) {
            if (t.backlog > 0 && t.q.ring() == ring) {
                min = Math.min(min, t.received);
                max = Math.max(max, t.received);
            }
        }
        maxSpreadInRing = Math.max(maxSpreadInRing, max - min);
    }

    /**
     * Lifts the credit of every open stream, finishes it, drains, and checks that each received every
     * byte it was given and exactly one FIN; then closes them all and checks the rings are empty.
     */
    void finishAllAndVerify(int maxPackets) {
        for (Stream s : streams.values()) {
            s.backlog = 0;
            s.q.creditLimit(Long.MAX_VALUE);
            s.q.finish();
        }
        drain(maxPackets);
        for (Stream s : streams.values()) {
            if (s.q.isClosed()) {
                continue;
            }
            assertEquals(s.enqueued, s.received, "stream " + s.id + ": bytes received");
            assertEquals(1, s.fins, "stream " + s.id + ": FINs received");
            assertTrue(s.q.finSent());
            s.q.close();
        }
        for (int r = 0; r < blender.rings(); r++) {
            assertEquals(0, blender.sockets(r));
            assertEquals(0, blender.ready(r));
            assertEquals(0, blender.bytes(r));
        }
    }

    /**
     * Largest error of any ring with a positive target over every window of {@code window}
     * consecutive packets from packet {@code from} on, as a fraction of the tolerance
     * max(5% of the ring's target bytes, {@code grain} bytes): at most 1 means every window is within
     * tolerance. The grain (one sub-packet) is the floor below which no sub-packet scheduler can
     * place a ring's bytes in a window.
     */
    double maxShareErrorOverTolerance(int from, int window, double[] target, long grain) {
        return windowErrors(from, window, target, grain)[1];
    }

    /** Largest relative error |bytes / target - 1| of any ring over every window (see above). */
    double maxShareError(int from, int window, double[] target) {
        return windowErrors(from, window, target, 0)[0];
    }

    private double[] windowErrors(int from, int window, double[] target, long grain) {
        int rings = target.length;
        int n = perPacket.size() - from;
        if (n < window) {
            throw new IllegalArgumentException("only " + n + " packets for windows of " + window);
        }
        long[][] prefix = new long[n + 1][rings];
        for (int p = 0; p < n; p++) {
            for (int r = 0; r < rings; r++) {
                prefix[p + 1][r] = prefix[p][r] + perPacket.get(from + p)[r];
            }
        }
        double worst = 0;
        double worstOverTolerance = 0;
        for (int start = 0; start + window <= n; start++) {
            long total = 0;
            for (int r = 0; r < rings; r++) {
                total += prefix[start + window][r] - prefix[start][r];
            }
            for (int r = 0; r < rings; r++) {
                if (target[r] > 0) {
                    double bytes = prefix[start + window][r] - prefix[start][r];
                    double want = target[r] * total;
                    worst = Math.max(worst, Math.abs(bytes / want - 1));
                    worstOverTolerance = Math.max(worstOverTolerance,
                            Math.abs(bytes - want) / Math.max(0.05 * want, grain));
                }
            }
        }
        return new double[] {worst, worstOverTolerance};
    }

    /** Each ring's share of the payload of packets from {@code from} to the end. */
    double[] shares(int from, int rings) {
        double[] out = new double[rings];
        double total = 0;
        for (int p = from; p < perPacket.size(); p++) {
            for (int r = 0; r < rings; r++) {
                out[r] += perPacket.get(p)[r];
                total += perPacket.get(p)[r];
            }
        }
        for (int r = 0; r < rings; r++) {
            out[r] /= total;
        }
        return out;
    }

    /** Per-connection target: a ring's share is nReady x Weight over the sum of those products. */
    static double[] perConnectionTarget(int[] weights, int[] nReady) {
        double[] t = new double[weights.length];
        double sum = 0;
        for (int r = 0; r < weights.length; r++) {
            t[r] = (double) weights[r] * nReady[r];
            sum += t[r];
        }
        for (int r = 0; r < weights.length; r++) {
            t[r] /= sum;
        }
        return t;
    }

    /** Per-class target: a ring with ready streams gets Weight over the sum of the weights of such rings. */
    static double[] perClassTarget(int[] weights, int[] nReady) {
        double[] t = new double[weights.length];
        double sum = 0;
        for (int r = 0; r < weights.length; r++) {
            t[r] = nReady[r] > 0 ? weights[r] : 0;
            sum += t[r];
        }
        for (int r = 0; r < weights.length; r++) {
            t[r] /= sum;
        }
        return t;
    }
}
