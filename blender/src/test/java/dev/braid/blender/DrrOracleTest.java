package dev.braid.blender;

import dev.braid.blender.BlenderSettings.Policy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The blender against a textbook deficit round robin (Shreedhar and Varghese 1995) run on the same
 * streams: over rings with quantum Weight for {@code PER_CLASS}, over streams with quantum the
 * weight of their class for {@code PER_CONNECTION} (which is what "each ready connection gets its
 * class's weight" means). Streams of random lengths arrive at random times and end, so nReady
 * changes all along; each ring's cumulative bytes must track the oracle's.
 */
class DrrOracleTest {

    static final int[] WEIGHTS = {16, 8, 4, 2, 1};
    static final int SUB = 512;
    static final int OVERHEAD = 16;
    static final int COST = SUB + OVERHEAD;

    /** Compared from this packet on: before, one sub-packet is a large fraction of all bytes sent. */
    static final int WARM_UP = 1000;

    record Arrival(long at, long id, int ring, int length) {
    }

    /** Textbook DRR over flows, sub-packets of at most SUB bytes, costs counted with framing. */
    static final class Oracle {
        static final class Flow {
            final int ring;
            final int weight;
            long remaining;
            long deficit;

            Flow(int ring, int weight) {
                this.ring = ring;
                this.weight = weight;
            }
        }

        final ArrayDeque<Flow> active = new ArrayDeque<>();
        final Flow[] ringFlows = new Flow[WEIGHTS.length];
        final boolean perClass;
        final long[] ringPayload = new long[WEIGHTS.length];
        long linkBytes;
        Flow inTurn;

        Oracle(boolean perClass) {
            this.perClass = perClass;
        }

        void arrive(Arrival a) {
            Flow f;
            if (perClass) {
                f = ringFlows[a.ring];
                if (f == null) {
                    f = ringFlows[a.ring] = new Flow(a.ring, WEIGHTS[a.ring]);
                }
                if (f.remaining == 0) {
                    active.addLast(f);
                }
            } else {
                f = new Flow(a.ring, WEIGHTS[a.ring]);
                active.addLast(f);
            }
            f.remaining += a.length;
        }

        /** Sends one sub-packet; false when idle. */
        boolean step() {
            while (!active.isEmpty()) {
                Flow f = active.peekFirst();
                if (inTurn != f) {
                    inTurn = f;
                    f.deficit += (long) f.weight * COST;
                }
                long size = Math.min(SUB, f.remaining) + OVERHEAD;
                if (f.deficit >= size) {
                    f.deficit -= size;
                    f.remaining -= size - OVERHEAD;
                    ringPayload[f.ring] += size - OVERHEAD;
                    linkBytes += size;
                    if (f.remaining == 0) {
                        f.deficit = 0;
                        active.pollFirst();
                        inTurn = null;
                    }
                    return true;
                }
                active.addLast(active.pollFirst());
                inTurn = null;
            }
            return false;
        }
    }

    @ParameterizedTest
    @EnumSource(Policy.class)
    void ringsTrackTextbookDrrAsStreamsComeAndGo(Policy policy) {
        SplittableRandom rnd = new SplittableRandom(42);
        List<Arrival> arrivals = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < 150; i++) {
            int ring = rnd.nextInt(5);
            int length = 2_000 + rnd.nextInt(rnd.nextInt(4) == 0 ? 400_000 : 60_000);
            total += length;
            arrivals.add(new Arrival(0, i, ring, length));
        }
        // A third start at once, the rest arrive while the link is busy.
        for (int i = 50; i < arrivals.size(); i++) {
            Arrival a = arrivals.get(i);
            arrivals.set(i, new Arrival(rnd.nextLong(total / 2), a.id, a.ring, a.length));
        }
        arrivals.sort(Comparator.comparingLong(Arrival::at));

        Blender blender = new Blender(new BlenderSettings(WEIGHTS, SUB, policy));
        Sim sim = new Sim(blender, 1400, OVERHEAD);
        Oracle oracle = new Oracle(policy == Policy.PER_CLASS);
        int nextBlender = 0;
        int nextOracle = 0;
        long[] cumulative = new long[5];
        double worst = 0;
        long checkpoint = 0;
        while (true) {
            while (nextBlender < arrivals.size() && arrivals.get(nextBlender).at <= sim.linkBytes) {
                Arrival a = arrivals.get(nextBlender++);
                Sim.Stream s = sim.open(a.id, a.ring);
                for (int left = a.length; left > 0; left -= 65_536) {
                    sim.enqueue(s, Math.min(left, 65_536));
                }
                s.q.finish();
            }
            if (sim.packet() == 0) {
                if (nextBlender == arrivals.size()) {
                    break;
                }
                sim.linkBytes = arrivals.get(nextBlender).at;
                continue;
            }
            long[] last = sim.perPacket.get(sim.perPacket.size() - 1);
            for (int r = 0; r < 5; r++) {
                cumulative[r] += last[r];
            }
            while (oracle.linkBytes < sim.linkBytes) {
                while (nextOracle < arrivals.size() && arrivals.get(nextOracle).at <= oracle.linkBytes) {
                    oracle.arrive(arrivals.get(nextOracle++));
                }
                if (!oracle.step()) {
                    if (nextOracle == arrivals.size()) {
                        break;
                    }
                    oracle.linkBytes = arrivals.get(nextOracle).at;
                }
            }
            if (sim.linkBytes >= checkpoint && sim.perPacket.size() >= WARM_UP) {
                checkpoint += 100 * 1400;
                long sent = Arrays.stream(cumulative).sum();
                for (int r = 0; r < 5; r++) {
                    worst = Math.max(worst, Math.abs(cumulative[r] - oracle.ringPayload[r]) / (double) sent);
                }
            }
        }
        System.out.printf("%s: %d streams, %d bytes: largest gap between a ring's cumulative bytes and the "
                + "oracle's, as a fraction of all bytes sent so far: %.4f%n", policy, arrivals.size(), total, worst);
        assertTrue(worst <= 0.02, "ring bytes drift from the oracle by " + worst + " of all bytes sent");
        for (Sim.Stream s : sim.streams.values()) {
            assertEquals(s.enqueued, s.received);
            assertEquals(1, s.fins);
            s.q.close();
        }
    }
}
