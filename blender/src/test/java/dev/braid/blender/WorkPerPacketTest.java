package dev.braid.blender;

import dev.braid.blender.BlenderSettings.Policy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The work of a packet is O(1) in the number of idle streams: the loop visits only queues it takes
 * a sub-packet from, so 100,000 idle streams (empty, or one in ten holding bytes without credit) beside 100
 * active ones change neither the visits per packet nor the packets themselves.
 */
class WorkPerPacketTest {

    static final int ACTIVE = 100;
    static final int IDLE = 100_000;
    static final int PACKETS = 2000;

    record Run(long[] visitsPerPacket, List<long[]> subPackets) {
    }

    static Run run(Policy policy, boolean withIdle) {
        Blender blender = new Blender(new BlenderSettings(new int[] {16, 8, 4, 2, 1}, 512, policy));
        Sim sim = new Sim(blender, 1400, 16);
        sim.logSubPackets = true;
        for (int i = 0; i < ACTIVE; i++) {
            Sim.Stream s = sim.open(i, i % 5);
            s.backlog = 8192;
            sim.topUp(s);
        }
        List<BlendQueue> idle = new ArrayList<>();
        if (withIdle) {
            for (int i = 0; i < IDLE; i++) {
                BlendQueue q = blender.open(1_000_000 + i, i % 5, 0);
                if (i % 10 == 0) {
                    // Bytes that wait for credit: counted in nBytes, never in nReady.
                    q.enqueue(io.netty.buffer.Unpooled.directBuffer(16).writeZero(16));
                }
                idle.add(q);
            }
            for (int r = 0; r < 5; r++) {
                assertEquals(ACTIVE / 5 + IDLE / 5, blender.sockets(r));
                assertEquals(ACTIVE / 5, blender.ready(r));
            }
        }
        long[] visits = new long[PACKETS];
        for (int p = 0; p < PACKETS; p++) {
            long before = blender.queueVisits();
            assertTrue(sim.packet() > 0);
            visits[p] = blender.queueVisits() - before;
        }
        idle.forEach(BlendQueue::close);
        sim.streams.values().forEach(s -> s.q.close());
        return new Run(visits, sim.subPacketLog);
    }

    @ParameterizedTest
    @EnumSource(Policy.class)
    void idleStreamsAddNoWork(Policy policy) {
        Run alone = run(policy, false);
        Run crowded = run(policy, true);
        long total = 0;
        long max = 0;
        for (int p = 0; p < PACKETS; p++) {
            assertEquals(alone.visitsPerPacket[p], crowded.visitsPerPacket[p], "visits in packet " + p);
            total += crowded.visitsPerPacket[p];
            max = Math.max(max, crowded.visitsPerPacket[p]);
        }
        System.out.printf("%s: %d active streams, %d idle beside them: %.3f visits per packet on average, %d at most%n",
                policy, ACTIVE, IDLE, (double) total / PACKETS, max);
        // A 1400-byte packet holds at most two full sub-packets, the rest of a turn cut short in an
        // earlier packet for each of the five rings, and one sub-packet cut short by its own end.
        assertTrue(max <= 2 + 5 + 1, "visits per packet: " + max);
        // Same packets, sub-packet for sub-packet: the idle streams change nothing.
        assertEquals(alone.subPackets.size(), crowded.subPackets.size());
        for (int i = 0; i < alone.subPackets.size(); i++) {
            long[] a = alone.subPackets.get(i);
            long[] b = crowded.subPackets.get(i);
            assertTrue(a[0] == b[0] && a[1] == b[1] && a[2] == b[2], "sub-packet " + i);
        }
    }
}
