package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;

/**
 * A small deterministic network for tests of the datagram core: two endpoints joined by two
 * one-way paths, each with a rate, a drop-tail queue, a propagation delay, random loss and
 * blackouts, run in virtual time from a priority queue of events. Every buffer it holds is released
 * by {@link #close()}.
 */
final class TestNet implements AutoCloseable {

    static final class Path {
        double bitsPerSecond = 1e9;
        long delayNanos = 10_000_000L;
        double loss;
        long queueBytes = Long.MAX_VALUE;
        long blackoutFrom = Long.MAX_VALUE;
        long blackoutUntil = Long.MIN_VALUE;
        /** Loss bursts: between these times the loss rate is {@code burstLoss}. */
        long burstFrom = Long.MAX_VALUE;
        long burstUntil = Long.MIN_VALUE;
        double burstLoss;
        long busyUntil;
        long delivered;
        long dropped;
        long deliveredBytes;
    }

    private record Event(long time, long seq, int to, ByteBuf datagram) {
    }

    final Path ab = new Path();
    final Path ba = new Path();

    /** Drops every datagram both ways from {@code from} (nanoseconds of virtual time) until {@code until}. */
    void blackout(long from, long until) {
        for (Path p : new Path[] {ab, ba}) {
            p.blackoutFrom = from;
            p.blackoutUntil = until;
        }
    }
    private final DatagramEndpoint[] ends = new DatagramEndpoint[2];
    private final long[] timers = {Long.MAX_VALUE, Long.MAX_VALUE};
    private final boolean[] dirty = {true, true};
    private final PriorityQueue<Event> events = new PriorityQueue<>((x, y) -> x.time != y.time
            ? Long.compare(x.time, y.time) : Long.compare(x.seq, y.seq));
    private final Random random;
    /** Tracked pooled buffers by default; throughput scenarios use untracked heap buffers for speed. */
    ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private long seq;
    long now;
    private final List<Runnable> at = new ArrayList<>();
    /**
     * Per destination end: sees each datagram as it arrives and returns what is delivered (the same
     * buffer, changed in place or not, or null after releasing it to drop it). Tests tamper, cut
     * and copy packets here; {@link #inject} delivers extra ones.
     */
    @SuppressWarnings("unchecked")
    final java.util.function.UnaryOperator<ByteBuf>[] taps = new java.util.function.UnaryOperator[] {
            java.util.function.UnaryOperator.identity(), java.util.function.UnaryOperator.identity()};

    TestNet(long seed) {
        this.random = new Random(seed);
    }

    void connect(DatagramEndpoint a, DatagramEndpoint b) {
        ends[0] = a;
        ends[1] = b;
    }

    /** Makes the endpoint be polled at the next step (its application wrote something). */
    Runnable wakeup(int end) {
        return () -> dirty[end] = true;
    }

    /** Runs until {@code until} nanoseconds of virtual time. */
    void runUntil(long until) {
        int spins = 0;
        long lastNow = -1;
        while (true) {
            for (int i = 0; i < 2; i++) {
                if (dirty[i]) {
                    service(i);
                }
            }
            long t = Math.min(timers[0], timers[1]);
            Event e = events.peek();
            if (e != null) {
                t = Math.min(t, e.time);
            }
            if (t > until) {
                now = until;
                return;
            }
            now = Math.max(now, t);
            if (now == lastNow) {
                if (++spins > 100_000) {
                    throw new AssertionError("endpoint spins at " + now + " ns: timers " + timers[0] + ", " + timers[1]);
                }
            } else {
                spins = 0;
                lastNow = now;
            }
            if (e != null && e.time <= now) {
                events.poll();
                ByteBuf d = taps[e.to].apply(e.datagram);
                if (d != null) {
                    ends[e.to].receive(now, d);
                }
                service(e.to);
                continue;
            }
            for (int i = 0; i < 2; i++) {
                if (timers[i] <= now) {
                    ends[i].onTimeout(now);
                    service(i);
                }
            }
        }
    }

    private void service(int i) {
        dirty[i] = false;
        while (true) {
            ByteBuf d = ends[i].poll(now, alloc);
            if (d == null) {
                break;
            }
            send(i == 0 ? ab : ba, 1 - i, d);
        }
        timers[i] = ends[i].nextTimeoutNanos();
    }

    private void send(Path p, int to, ByteBuf d) {
        int bytes = d.readableBytes() + 28;
        boolean blackout = now >= p.blackoutFrom && now < p.blackoutUntil;
        double loss = now >= p.burstFrom && now < p.burstUntil ? p.burstLoss : p.loss;
        if (blackout || loss > 0 && random.nextDouble() < loss) {
            p.dropped++;
            d.release();
            return;
        }
        long start = Math.max(now, p.busyUntil);
        if ((start - now) * p.bitsPerSecond / 8e9 > p.queueBytes) {
            p.dropped++;
            d.release();
            return;
        }
        long departure = start + (long) (bytes * 8e9 / p.bitsPerSecond);
        p.busyUntil = departure;
        p.delivered++;
        p.deliveredBytes += bytes;
        events.add(new Event(departure + p.delayNanos, seq++, to, d));
    }

    /** Delivers {@code d} to end {@code to} after {@code delayNanos}, past the paths (a copy an attacker sends). */
    void inject(int to, ByteBuf d, long delayNanos) {
        events.add(new Event(now + delayNanos, seq++, to, d));
    }

    @Override
    public void close() {
        for (Event e : events) {
            e.datagram.release();
        }
        events.clear();
    }
}
