package dev.braid.blender;

import dev.braid.blender.BlenderSettings.Policy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random operations (open, enqueue, finish, credit, close, move, update, pull, and calls back from
 * the sink) against a plain reference model of the streams, checked after every operation:
 * conservation and order of every byte, FIN exactly once and last, credit and packet limits,
 * nSockets / nReady / nBytes per ring, and work conservation (a packet with room left means
 * nothing is ready). Paranoid leak detection checks that every buffer is released.
 */
class BlenderModelTest {

    /** The reference: what the blender must hold and hand out for one stream. */
    static final class Model {
        final long id;
        final BlendQueue q;
        int ring;
        long enqueued;
        long sent;
        long credit;
        boolean finQueued;
        boolean finSent;
        boolean closed;

        Model(long id, BlendQueue q, int ring, long credit) {
            this.id = id;
            this.q = q;
            this.ring = ring;
            this.credit = credit;
        }

        boolean ready() {
            if (closed || finSent) {
                return false;
            }
            return enqueued > sent ? sent < credit : finQueued;
        }
    }

    final List<Model> streams = new ArrayList<>();
    Blender blender;
    SplittableRandom rnd;
    long nextId;
    long subPackets;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
    void randomOperationsMatchTheModel(long seed) {
        rnd = new SplittableRandom(seed);
        blender = new Blender(randomSettings());
        for (int op = 0; op < 4000; op++) {
            int dice = rnd.nextInt(100);
            if (dice < 10 || streams.isEmpty()) {
                open();
            } else if (dice < 35) {
                enqueue(pick());
            } else if (dice < 39) {
                pick().q.finish();
                markFinished(last);
            } else if (dice < 49) {
                credit(pick());
            } else if (dice < 53) {
                close(pick());
            } else if (dice < 57) {
                move(pick());
            } else if (dice < 60) {
                update(randomSettings());
            } else {
                pull();
            }
            check();
        }
        // The end: lift every credit, finish every stream and drain.
        for (Model m : streams) {
            m.q.creditLimit(Long.MAX_VALUE);
            m.credit = m.closed ? m.credit : Long.MAX_VALUE;
            m.q.finish();
            if (!m.closed) {
                m.finQueued = true;
            }
        }
        for (int i = 0; blender.hasReady(); i++) {
            assertTrue(i < 1_000_000, "not drained");
            pull();
        }
        check();
        for (Model m : streams) {
            if (!m.closed) {
                assertEquals(m.enqueued, m.sent);
                assertTrue(m.finSent);
            }
            m.q.close();
        }
        for (int r = 0; r < blender.rings(); r++) {
            assertEquals(0, blender.sockets(r));
        }
        assertEquals(subPackets, blender.queueVisits());
    }

    Model last;

    Model pick() {
        last = streams.get(rnd.nextInt(streams.size()));
        return last;
    }

    void markFinished(Model m) {
        if (!m.closed) {
            m.finQueued = true;
        }
    }

    BlenderSettings randomSettings() {
        int rings = 1 + rnd.nextInt(7);
        int[] weights = new int[rings];
        for (int i = 0; i < rings; i++) {
            weights[i] = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(20);
        }
        int sub = 16 + rnd.nextInt(1000);
        Policy policy = rnd.nextBoolean() ? Policy.PER_CONNECTION : Policy.PER_CLASS;
        return new BlenderSettings(weights, sub, policy, sub + rnd.nextInt(20_000));
    }

    void open() {
        int ring = rnd.nextInt(9);
        long credit = rnd.nextInt(3) == 0 ? Long.MAX_VALUE : rnd.nextInt(5000);
        long id = nextId++;
        Model m = new Model(id, blender.open(id, ring, credit), Math.min(ring, blender.rings() - 1), credit);
        streams.add(m);
    }

    void enqueue(Model m) {
        int chunks = 1 + rnd.nextInt(3);
        for (int c = 0; c < chunks; c++) {
            enqueueBytes(m, 1 + rnd.nextInt(rnd.nextBoolean() ? 40 : 3000));
        }
    }

    void enqueueBytes(Model m, int n) {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = Sim.pattern(m.id, m.enqueued + i);
        }
        // Direct: Netty tracks leaks of unpooled direct buffers, not of unpooled heap ones.
        ByteBuf b = Unpooled.directBuffer(n).writeBytes(bytes);
        if (m.closed || m.finQueued) {
            try {
                m.q.enqueue(b);
                fail("enqueue after close or finish was accepted");
            } catch (IllegalStateException expected) {
                assertEquals(0, b.refCnt());
            }
            return;
        }
        m.q.enqueue(b);
        m.enqueued += n;
    }

    void credit(Model m) {
        long limit = rnd.nextInt(10) == 0 ? Long.MAX_VALUE : m.sent + rnd.nextInt(6000);
        m.q.creditLimit(limit);
        if (!m.closed && limit > m.credit) {
            m.credit = limit;
        }
    }

    void close(Model m) {
        m.q.close();
        m.closed = true;
    }

    void move(Model m) {
        int ring = rnd.nextInt(9);
        m.q.moveToRing(ring);
        if (!m.closed) {
            m.ring = Math.min(ring, blender.rings() - 1);
        }
    }

    void update(BlenderSettings s) {
        blender.update(s);
        for (Model m : streams) {
            if (!m.closed && m.ring >= s.rings()) {
                m.ring = s.rings() - 1;
            }
        }
    }

    void pull() {
        int overhead = rnd.nextInt(25);
        int packetBytes = overhead + 1 + rnd.nextInt(3000);
        long linkCredit = switch (rnd.nextInt(4)) {
            case 0 -> rnd.nextInt(2000);
            case 1 -> 0;
            default -> Long.MAX_VALUE;
        };
        long[] payload = {0};
        int[] count = {0};
        int sub = blender.settings().subPacketBytes();
        int used = blender.nextPacket(packetBytes, linkCredit, overhead, (q, offset, data, fin) -> {
            Model m;
            int n;
            try {
                m = streams.get((int) q.streamId());
                n = data.readableBytes();
                assertFalse(m.closed, "sub-packet of a closed stream");
                assertEquals(m.sent, offset, "offset of stream " + m.id);
                assertTrue(n <= sub, "sub-packet larger than the sub-packet size");
                assertTrue(offset + n <= m.credit, "beyond the stream's credit");
                assertFalse(m.finSent, "bytes after the end of stream");
                byte[] bytes = new byte[n];
                data.getBytes(data.readerIndex(), bytes);
                for (int i = 0; i < n; i++) {
                    if (bytes[i] != Sim.pattern(m.id, offset + i)) {
                        fail("stream " + m.id + ": wrong byte at " + (offset + i));
                    }
                }
            } finally {
                data.release();
            }
            m.sent += n;
            payload[0] += n;
            count[0]++;
            subPackets++;
            if (fin) {
                assertTrue(m.finQueued && m.sent == m.enqueued, "early or unrequested FIN");
                m.finSent = true;
            } else {
                assertTrue(n > 0, "empty sub-packet without FIN");
            }
            // Calls back from the sink, as a link does when a stream ends or its source refills it.
            int dice = rnd.nextInt(100);
            if (dice < 4) {
                enqueueBytes(m, 1 + rnd.nextInt(700));
            } else if (dice < 6) {
                close(m);
            } else if (dice < 7) {
                close(streams.get(rnd.nextInt(streams.size())));
            }
        });
        assertEquals((long) count[0] * overhead + payload[0], used);
        assertTrue(used <= packetBytes, "packet over budget");
        assertTrue(payload[0] <= linkCredit, "payload over the link credit");
        if (packetBytes - used - overhead >= 1 && linkCredit - payload[0] > 0) {
            assertFalse(blender.hasReady(), "a packet with room left while a stream is ready");
        }
    }

    void check() {
        int rings = blender.rings();
        int[] sockets = new int[rings];
        int[] ready = new int[rings];
        long[] bytes = new long[rings];
        boolean anyReady = false;
        for (Model m : streams) {
            assertEquals(m.closed, m.q.isClosed());
            if (m.closed) {
                continue;
            }
            assertEquals(m.ring, m.q.ring(), "ring of stream " + m.id);
            assertEquals(m.enqueued - m.sent, m.q.queuedBytes());
            assertEquals(m.sent, m.q.sendOffset());
            assertEquals(m.finSent, m.q.finSent());
            assertEquals(m.ready(), m.q.isReady(), "readiness of stream " + m.id);
            sockets[m.ring]++;
            bytes[m.ring] += m.enqueued - m.sent;
            if (m.ready()) {
                ready[m.ring]++;
                anyReady = true;
            }
        }
        for (int r = 0; r < rings; r++) {
            assertEquals(sockets[r], blender.sockets(r), "nSockets of ring " + r);
            assertEquals(ready[r], blender.ready(r), "nReady of ring " + r);
            assertEquals(bytes[r], blender.bytes(r), "nBytes of ring " + r);
        }
        assertEquals(anyReady, blender.hasReady());
    }
}
