package dev.braid.blender;

import dev.braid.blender.BlenderSettings.Policy;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Measures how far readings of the seed's loop depart from the loop's own target (a ring's share
 * is nReady x Weight) and prints the tables quoted in docs/blender.md. Each measurement also
 * asserts the behaviour it documents.
 */
class SeedLoopDepartureTest {

    static final int PACKET = 1400;
    static final int OVERHEAD = 16;
    static final int[] WEIGHTS = {16, 8, 4, 2, 1};
    static final int UNBOUNDED = 1 << 30;

    record Result(double[] shares, double err1000, double err100, double err10, int worstWaitPackets) {
    }

    static Result run(int[] nReady, int passBytes, int backlog, boolean statelessPerPacket, int packets) {
        BlenderSettings settings = new BlenderSettings(WEIGHTS, 512, Policy.PER_CONNECTION, passBytes);
        Blender blender = new Blender(settings);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        long id = 1;
        for (int r = 0; r < nReady.length; r++) {
            sim.backlogged(id, r, nReady[r], backlog);
            id += nReady[r];
        }
        for (int p = 0; p < packets; p++) {
            if (statelessPerPacket) {
                // The stateless reading: every packet runs steps 1 to 6 afresh, from the top ring.
                blender.update(settings);
            }
            sim.packet();
        }
        double[] target = Sim.perConnectionTarget(WEIGHTS, nReady);
        int worstWait = 0;
        for (int r = 0; r < nReady.length; r++) {
            worstWait = Math.max(worstWait, sim.lastServedPacket[r] < 0 ? packets
                    : Math.max(sim.maxGapPackets[r], packets - 1 - sim.lastServedPacket[r]));
        }
        Result result = new Result(sim.shares(0, nReady.length), sim.maxShareError(0, 1000, target),
                sim.maxShareError(0, 100, target), sim.maxShareError(0, 10, target), worstWait);
        sim.streams.values().forEach(s -> s.q.close());
        return result;
    }

    static void print(String label, int[] nReady, Result r) {
        System.out.printf("%-34s nReady=%-16s shares=%s  err@1000=%6.1f%%  err@100=%6.1f%%  err@10=%7.1f%%  "
                        + "worstWait=%d packets%n", label, Arrays.toString(nReady), BlenderSharesTest.fmt(r.shares),
                100 * r.err1000, 100 * r.err100, 100 * r.err10, r.worstWaitPackets);
    }

    @Test
    void statelessReadingStarvesTheLowerRings() {
        // Read literally, with the loop started afresh for every packet, a 1400-byte packet holds
        // three sub-packets: the top ring, then the top two, and the packet is full (512 + 512 bytes
        // of ring 0, the 328 left for ring 1). Rings 2 to 4 never send, whatever their weights and
        // numbers of connections.
        for (int[] nReady : new int[][] {{1, 1, 1, 1, 1}, {1, 2, 3, 4, 5}}) {
            Result r = run(nReady, UNBOUNDED, 64 * 1024, true, 2000);
            print("stateless, one loop per packet", nReady, r);
            assertEquals(1024.0 / 1352, r.shares[0], 0.001);
            assertEquals(328.0 / 1352, r.shares[1], 0.001);
            assertEquals(0, r.shares[2] + r.shares[3] + r.shares[4]);
        }
    }

    @Test
    void unboundedPassesDepartInWindowsShorterThanAPass() {
        // Carried across packets, one pass empties the ring with the most ready connections, so its
        // length grows with the backlog; inside a pass the cascade serves every ring with send
        // amount left once per step, so short windows see near-equal shares, not weighted ones.
        int[] nReady = {1, 2, 3, 4, 5};
        double previous = 0;
        for (int backlog : new int[] {16 * 1024, 64 * 1024, 1024 * 1024}) {
            Result r = run(nReady, UNBOUNDED, backlog, false, 6000);
            print("seed pass, backlog " + backlog / 1024 + " KiB/stream", nReady, r);
            assertTrue(r.err1000 >= previous * 0.8, "error should grow with the backlog");
            previous = r.err1000;
        }
        assertTrue(previous > 0.25, "a 1 MiB backlog should put 1000-packet windows far off target");
        for (int passBytes : new int[] {65536, 16384, 8192, 4096}) {
            Result r = run(nReady, passBytes, 1024 * 1024, false, 6000);
            print("bounded pass " + passBytes + " B, backlog 1 MiB", nReady, r);
            if (passBytes <= BlenderSettings.DEFAULT_PASS_BYTES) {
                assertTrue(r.err1000 <= 0.05);
            }
        }
    }
}
