package dev.braid.blender;

import dev.braid.blender.BlenderSettings.Policy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Work conservation, round robin inside a ring, live updates, credit, FIN and ownership. */
class BlenderBehaviourTest {

    static final int PACKET = 1400;
    static final int OVERHEAD = 16;
    static final int[] WEIGHTS = {16, 8, 4, 2, 1};

    @ParameterizedTest
    @EnumSource(Policy.class)
    void aLoneBusyRingGetsTheWholeLink(Policy policy) {
        for (int busy = 0; busy < 5; busy++) {
            int[] weights = busy == 4 ? new int[] {16, 8, 4, 2, 0} : WEIGHTS;
            Sim sim = new Sim(new Blender(new BlenderSettings(weights, 512, policy)), PACKET, OVERHEAD);
            sim.backlogged(1, busy, 3, 8192);
            long id = 100;
            for (int r = 0; r < 5; r++) {
                sim.open(id++, r);
                Sim.Stream blocked = sim.open(id++, r, 0);
                sim.enqueue(blocked, 1000);
            }
            for (int p = 0; p < 300; p++) {
                int used = sim.packet();
                assertTrue(used >= PACKET - OVERHEAD, "packet " + p + " of ring " + busy + " only " + used + " bytes");
                long[] perRing = sim.perPacket.get(p);
                assertEquals(Arrays.stream(perRing).sum(), perRing[busy]);
            }
            sim.finishAllAndVerify(100_000);
        }
    }

    @ParameterizedTest
    @EnumSource(Policy.class)
    void streamsOfOneRingShareItWithinOneSubPacket(Policy policy) {
        // 1000-byte packets and 300-byte sub-packets: every packet cuts a turn short.
        Sim sim = new Sim(new Blender(new BlenderSettings(WEIGHTS, 300, policy)), 1000, 9);
        sim.trackSpread = true;
        sim.backlogged(1, 0, 2, 4096);
        sim.backlogged(10, 2, 7, 4096);
        sim.backlogged(20, 4, 3, 4096);
        sim.packets(3000);
        assertTrue(sim.maxSpreadInRing <= 300, "spread inside a ring: " + sim.maxSpreadInRing);
        assertTrue(sim.maxSpreadInRing >= 100, "the spread check saw turns: " + sim.maxSpreadInRing);
        sim.finishAllAndVerify(100_000);
    }

    @ParameterizedTest
    @EnumSource(Policy.class)
    void weightChangesTakeEffectWithinOnePacketAndLoseNothing(Policy policy) {
        Blender blender = new Blender(new BlenderSettings(WEIGHTS, 512, policy));
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        int[] nReady = {2, 2, 2, 2, 2};
        for (int r = 0; r < 5; r++) {
            sim.backlogged(1 + 10L * r, r, nReady[r], 16 * 1024);
        }
        sim.packets(500);

        // Only ring 4 keeps a positive weight: from the very next packet, only ring 4 sends.
        blender.update(blender.settings().withWeights(0, 0, 0, 0, 1));
        for (int p = 0; p < 50; p++) {
            sim.packet();
            long[] perRing = sim.perPacket.get(sim.perPacket.size() - 1);
            assertEquals(Arrays.stream(perRing).sum(), perRing[4], "packet " + p + " after the update");
        }

        // Reversed weights: the shares of the 1000 packets right after the update follow them.
        int[] reversed = {1, 2, 4, 8, 16};
        blender.update(blender.settings().withWeights(reversed));
        int from = sim.perPacket.size();
        sim.packets(1000);
        double[] target = policy == Policy.PER_CONNECTION
                ? Sim.perConnectionTarget(reversed, nReady)
                : Sim.perClassTarget(reversed, nReady);
        double err = sim.maxShareError(from, 1000, target);
        assertTrue(err <= 0.05, "share error after the update: " + err);
        // Ring 0 (weight 1 of 31) sends within the first packets after the update.
        assertTrue(sim.perPacket.subList(from, from + 30).stream().mapToLong(a -> a[0]).sum() > 0);

        sim.finishAllAndVerify(100_000);
    }

    @Test
    void liveChangesOfSubPacketRingsAndPolicyKeepEveryByteInOrder() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        for (int r = 0; r < 5; r++) {
            sim.backlogged(1 + 10L * r, r, 3, 8192);
            Sim.Stream idle = sim.open(100 + r, r, 0);
            sim.enqueue(idle, 700);
        }
        BlenderSettings[] steps = {
            new BlenderSettings(new int[] {4, 3, 2}, 100, Policy.PER_CLASS),
            new BlenderSettings(new int[] {1, 1, 1, 1, 1, 1, 1}, 1024, Policy.PER_CONNECTION),
            new BlenderSettings(new int[] {5}, 64, Policy.PER_CONNECTION),
            new BlenderSettings(new int[] {0, 2, 9, 1}, 333, Policy.PER_CLASS, 2000),
            BlenderSettings.DEFAULT,
        };
        for (BlenderSettings s : steps) {
            for (int p = 0; p < 97; p++) {
                sim.packet();
            }
            blender.update(s);
            assertEquals(s.rings(), blender.rings());
            int sockets = 0;
            long bytes = 0;
            for (int r = 0; r < blender.rings(); r++) {
                sockets += blender.sockets(r);
                bytes += blender.bytes(r);
            }
            assertEquals(sim.streams.size(), sockets);
            assertEquals(sim.streams.values().stream().mapToLong(t -> t.q.queuedBytes()).sum(), bytes);
            for (Sim.Stream t : sim.streams.values()) {
                assertTrue(t.q.ring() < s.rings());
            }
            // The new sub-packet size holds from the next sub-packet (Sim checks each one against it).
            sim.packet();
        }
        sim.finishAllAndVerify(100_000);
    }

    @ParameterizedTest
    @EnumSource(Policy.class)
    void streamsWithoutCreditAreNeverVisited(Policy policy) {
        Blender blender = new Blender(new BlenderSettings(WEIGHTS, 512, policy));
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        sim.backlogged(1, 0, 3, 8192);
        List<Sim.Stream> blocked = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Sim.Stream s = sim.open(100 + i, i % 5, 0);
            sim.enqueue(s, 2000);
            blocked.add(s);
        }
        assertEquals(3, blender.ready(0));
        for (int r = 1; r < 5; r++) {
            assertEquals(0, blender.ready(r));
            assertEquals(10, blender.sockets(r));
            assertEquals(20_000, blender.bytes(r));
        }
        sim.packets(200);
        assertEquals(sim.subPackets, blender.queueVisits(), "every visit produced a sub-packet");
        blocked.forEach(s -> assertEquals(0, s.received));

        // Credit returns to one stream: it sends exactly up to its limit, then leaves nReady again.
        Sim.Stream s = blocked.get(7);
        s.q.creditLimit(1000);
        assertEquals(1, blender.ready(2));
        sim.packets(100);
        assertEquals(1000, s.received);
        assertEquals(0, blender.ready(2));
        assertFalse(s.q.isReady());
        assertEquals(sim.subPackets, blender.queueVisits());

        // Nothing with credit left: nothing is ready and an empty packet comes back.
        sim.streams.values().stream().filter(t -> t.backlog > 0).forEach(t -> t.q.close());
        assertFalse(blender.hasReady());
        assertEquals(0, sim.packet());
        sim.finishAllAndVerify(100_000);
    }

    @Test
    void linkCreditBoundsThePayloadOfAPacket() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        sim.backlogged(1, 1, 2, 8192);
        assertEquals(0, sim.packet(0));
        int used = sim.packet(700);
        long payload = Arrays.stream(sim.perPacket.get(0)).sum();
        assertEquals(700, payload);
        assertEquals(700 + 2 * OVERHEAD, used);
        sim.finishAllAndVerify(1000);
    }

    @Test
    void anEndOfStreamAfterTheLastByteTravelsAloneAndOnce() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        Sim.Stream s = sim.open(5, 3);
        sim.enqueue(s, 100);
        assertEquals(100 + OVERHEAD, sim.packet());
        assertFalse(blender.hasReady());
        s.q.finish();
        s.q.finish();
        assertTrue(s.q.isReady());
        assertEquals(1, blender.ready(3));
        assertEquals(OVERHEAD, sim.packet());
        assertEquals(1, s.fins);
        assertTrue(s.q.finSent());
        assertEquals(0, blender.ready(3));
        assertEquals(0, sim.packet());
        ByteBuf late = Unpooled.directBuffer(4).writeBytes("late".getBytes(StandardCharsets.US_ASCII));
        assertThrows(IllegalStateException.class, () -> s.q.enqueue(late));
        assertEquals(0, late.refCnt(), "a refused buffer is released");
        s.q.close();
        assertEquals(0, blender.sockets(3));
    }

    @Test
    void subPacketsSpanQueuedBuffersWithoutCopying() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        sim.logSubPackets = true;
        Sim.Stream s = sim.open(9, 0);
        for (int i = 0; i < 40; i++) {
            sim.enqueue(s, 25);
        }
        s.q.finish();
        sim.drain(10);
        // 1000 bytes in 25-byte buffers still go out as full sub-packets.
        assertEquals(512, sim.subPacketLog.get(0)[2]);
        assertEquals(488, sim.subPacketLog.get(1)[2]);
        assertEquals(1, s.fins);
        s.q.close();
    }

    @Test
    void movingAStreamKeepsItsBytesInOrder() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        Sim.Stream s = sim.open(1, 4);
        sim.enqueue(s, 3000);
        sim.packet();
        s.q.moveToRing(0);
        assertEquals(0, s.q.ring());
        assertEquals(0, blender.sockets(4));
        assertEquals(1, blender.sockets(0));
        assertEquals(1, blender.ready(0));
        assertEquals(s.q.queuedBytes(), blender.bytes(0));
        s.q.moveToRing(99);
        assertEquals(4, s.q.ring(), "a ring beyond the last is clamped");
        assertThrows(IllegalArgumentException.class, () -> s.q.moveToRing(-1));
        sim.finishAllAndVerify(100);
    }

    @Test
    void aFailingSinkLeavesTheBlenderConsistent() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        Sim.Stream s = sim.open(1, 0);
        sim.enqueue(s, 5000);
        long[] seen = new long[1];
        RuntimeException boom = new RuntimeException("sink failed");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> blender.nextPacket(PACKET, Long.MAX_VALUE,
                OVERHEAD, (q, offset, data, fin) -> {
                    seen[0] = data.readableBytes();
                    data.release();
                    throw boom;
                }));
        assertSame(boom, thrown);
        // The bytes handed to the failing sink are gone; the stream resumes right after them.
        s.received = seen[0];
        sim.finishAllAndVerify(100);
    }

    @Test
    void theSinkMayCallBackButNotPullAgain() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        Sim.Stream a = sim.open(1, 0);
        Sim.Stream b = sim.open(2, 1);
        sim.enqueue(a, 600);
        sim.enqueue(b, 600);
        List<Throwable> errors = new ArrayList<>();
        blender.nextPacket(PACKET, Long.MAX_VALUE, OVERHEAD, (q, offset, data, fin) -> {
            data.release();
            try {
                blender.nextPacket(PACKET, Long.MAX_VALUE, OVERHEAD, (q2, o2, d2, f2) -> d2.release());
            } catch (IllegalStateException e) {
                errors.add(e);
            }
            // Closing the stream being served and updating settings from the sink are allowed.
            q.close();
            blender.update(blender.settings().withSubPacketBytes(100));
        });
        assertEquals(2, errors.size());
        assertTrue(a.q.isClosed() && b.q.isClosed());
        assertFalse(blender.hasReady());
        assertEquals(0, blender.bytes(0) + blender.bytes(1) + blender.sockets(0) + blender.sockets(1));
    }

    @Test
    void closeAllReleasesEverything() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        Sim sim = new Sim(blender, PACKET, OVERHEAD);
        for (int i = 0; i < 20; i++) {
            Sim.Stream s = sim.open(i, i % 7, i % 2 == 0 ? Long.MAX_VALUE : 10);
            sim.enqueue(s, 100 + i);
            sim.enqueue(s, 50);
        }
        sim.packet();
        blender.closeAll();
        for (int r = 0; r < 5; r++) {
            assertEquals(0, blender.sockets(r));
            assertEquals(0, blender.bytes(r));
        }
        assertFalse(blender.hasReady());
        sim.streams.values().forEach(s -> assertTrue(s.q.isClosed()));
    }

    @Test
    void badArgumentsGetPreciseErrors() {
        Blender blender = new Blender(BlenderSettings.DEFAULT);
        SubPacketSink sink = (q, o, d, f) -> d.release();
        assertEquals("packetBytes: 16 (expected: > overheadPerSubPacket 16)",
                assertThrows(IllegalArgumentException.class, () -> blender.nextPacket(16, 1, 16, sink)).getMessage());
        assertEquals("linkCredit: -1 (expected: >= 0)",
                assertThrows(IllegalArgumentException.class, () -> blender.nextPacket(100, -1, 0, sink)).getMessage());
        assertEquals("overheadPerSubPacket: -2 (expected: >= 0)",
                assertThrows(IllegalArgumentException.class, () -> blender.nextPacket(100, 1, -2, sink)).getMessage());
        assertEquals("ring: -1 (expected: >= 0)",
                assertThrows(IllegalArgumentException.class, () -> blender.open(1, -1)).getMessage());
        assertEquals("stream 1: initialCreditLimit: -5 (expected: >= 0)",
                assertThrows(IllegalArgumentException.class, () -> blender.open(1, 0, -5)).getMessage());
        BlendQueue q = blender.open(3, 0, 10);
        assertEquals("stream 3: creditLimit: -1 (expected: >= 0)",
                assertThrows(IllegalArgumentException.class, () -> q.creditLimit(-1)).getMessage());
        q.creditLimit(5);
        assertEquals(10, q.creditLimit(), "limits only grow");
        assertEquals("weights: [1, -1] (expected: each 0..1000000)", assertThrows(IllegalArgumentException.class,
                () -> new BlenderSettings(new int[] {1, -1}, 512, Policy.PER_CLASS)).getMessage());
        assertEquals("weights: [] (expected: 1 to 64 rings)", assertThrows(IllegalArgumentException.class,
                () -> new BlenderSettings(new int[0], 512, Policy.PER_CLASS)).getMessage());
        assertEquals("subPacketBytes: 8 (expected: 16..65535)", assertThrows(IllegalArgumentException.class,
                () -> new BlenderSettings(new int[] {1}, 8, Policy.PER_CLASS)).getMessage());
        assertEquals("passBytes: 100 (expected: 512..1073741824, at least subPacketBytes)",
                assertThrows(IllegalArgumentException.class,
                        () -> new BlenderSettings(new int[] {1}, 512, Policy.PER_CLASS, 100)).getMessage());
        assertEquals("blender.policy: fifo (expected: per-connection or per-class)",
                assertThrows(IllegalArgumentException.class, () -> Policy.parse("fifo")).getMessage());
        assertEquals(Policy.PER_CLASS, Policy.parse("per-class"));
        assertEquals(BlenderSettings.DEFAULT, new BlenderSettings(new int[] {16, 8, 4, 2, 1}, 512,
                Policy.PER_CONNECTION, BlenderSettings.DEFAULT_PASS_BYTES));
        q.close();
    }
}
