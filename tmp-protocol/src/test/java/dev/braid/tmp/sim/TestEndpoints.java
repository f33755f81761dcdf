package dev.braid.tmp.sim;

import dev.braid.tmp.DatagramEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Small endpoints that make the simulator's behaviour observable, and test helpers. */
final class TestEndpoints {

    private TestEndpoints() {
    }

    /**
     * Runs {@code body} with Netty's leak detection at SIMPLE instead of PARANOID. Long simulations
     * allocate millions of datagrams; PARANOID records a stack trace on every access to every one of
     * them (tens of microseconds each), SIMPLE tracks a sample of 1 in 128 buffers. Any systematic
     * leak over millions of buffers still shows in the sample and fails the test.
     */
    static <T> T withSampledLeakDetection(Supplier<T> body) {
        ResourceLeakDetector.Level previous = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
        try {
            return body.get();
        } finally {
            ResourceLeakDetector.setLevel(previous);
        }
    }

    /** Same as {@link #withSampledLeakDetection(Supplier)}, for a body without a result. */
    static void withSampledLeakDetection(Runnable body) {
        withSampledLeakDetection(() -> {
            body.run();
            return null;
        });
    }

    /** A datagram of {@code size} bytes starting with {@code seq} and the send time (the rest is not read). */
    static ByteBuf datagram(ByteBufAllocator alloc, int size, long seq, long now) {
        ByteBuf b = alloc.buffer(size);
        b.writeLong(seq);
        b.writeLong(now);
        b.writerIndex(size);
        return b;
    }

    /** Sends {@code count} datagrams of {@code size} bytes, one every {@code intervalNanos}, from {@code startNanos}. */
    static final class Paced implements DatagramEndpoint {
        final int size;
        final long intervalNanos;
        final long count;
        long next;
        long sent;
        final List<Long> sendTimes = new ArrayList<>();
        final List<ByteBuf> issued = new ArrayList<>();
        boolean keepIssued;

        Paced(int size, long intervalNanos, long count, long startNanos) {
            this.size = size;
            this.intervalNanos = intervalNanos;
            this.count = count;
            this.next = startNanos;
        }

        @Override
        public void receive(long nowNanos, ByteBuf datagram) {
            datagram.release();
        }

        @Override
        public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
            if (sent >= count || nowNanos < next) {
                return null;
            }
            sendTimes.add(nowNanos);
            ByteBuf b = datagram(alloc, size, sent++, nowNanos);
            next += intervalNanos;
            if (keepIssued) {
                issued.add(b);
            }
            return b;
        }

        @Override
        public long nextTimeoutNanos() {
            return sent >= count ? Long.MAX_VALUE : next;
        }

        @Override
        public void onTimeout(long nowNanos) {
        }
    }

    /** Records sequence numbers and arrival times of what it receives; sends nothing. */
    static class Sink implements DatagramEndpoint {
        final List<Long> seqs = new ArrayList<>();
        final List<Long> times = new ArrayList<>();
        final List<Long> sendTimes = new ArrayList<>();
        long bytes;

        @Override
        public void receive(long nowNanos, ByteBuf datagram) {
            try {
                seqs.add(datagram.getLong(datagram.readerIndex()));
                sendTimes.add(datagram.getLong(datagram.readerIndex() + 8));
                times.add(nowNanos);
                bytes += datagram.readableBytes();
            } finally {
                datagram.release();
            }
        }

        @Override
        public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
            return null;
        }

        @Override
        public long nextTimeoutNanos() {
            return Long.MAX_VALUE;
        }

        @Override
        public void onTimeout(long nowNanos) {
        }
    }

    /** Sends as fast as it is polled, forever (bounded only by the simulator's send buffer). */
    static final class Greedy implements DatagramEndpoint {
        final int size;
        long sent;

        Greedy(int size) {
            this.size = size;
        }

        @Override
        public void receive(long nowNanos, ByteBuf datagram) {
            datagram.release();
        }

        @Override
        public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
            return datagram(alloc, size, sent++, nowNanos);
        }

        @Override
        public long nextTimeoutNanos() {
            return Long.MAX_VALUE;
        }

        @Override
        public void onTimeout(long nowNanos) {
        }
    }

    /** Sends a ping every {@code intervalNanos} and records the round-trip time of each echo. */
    static final class Pinger implements DatagramEndpoint {
        final int size;
        final long intervalNanos;
        final int count;
        long next;
        int sent;
        final List<Long> rtts = new ArrayList<>();

        Pinger(int size, long intervalNanos, int count) {
            this.size = size;
            this.intervalNanos = intervalNanos;
            this.count = count;
        }

        @Override
        public void receive(long nowNanos, ByteBuf datagram) {
            try {
                rtts.add(nowNanos - datagram.getLong(datagram.readerIndex() + 8));
            } finally {
                datagram.release();
            }
        }

        @Override
        public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
            if (sent >= count || nowNanos < next) {
                return null;
            }
            next += intervalNanos;
            return datagram(alloc, size, sent++, nowNanos);
        }

        @Override
        public long nextTimeoutNanos() {
            return sent >= count ? Long.MAX_VALUE : next;
        }

        @Override
        public void onTimeout(long nowNanos) {
        }
    }

    /** Sends every datagram it receives straight back. */
    static final class Echo implements DatagramEndpoint {
        final List<ByteBuf> pending = new ArrayList<>();

        @Override
        public void receive(long nowNanos, ByteBuf datagram) {
            pending.add(datagram);
        }

        @Override
        public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
            return pending.isEmpty() ? null : pending.remove(0);
        }

        @Override
        public long nextTimeoutNanos() {
            return Long.MAX_VALUE;
        }

        @Override
        public void onTimeout(long nowNanos) {
        }
    }

    /** Wraps a sender and silently discards chosen transmissions of chosen sequence numbers. */
    static final class DropSegments implements DatagramEndpoint {
        private final DatagramEndpoint inner;
        private final java.util.Map<Long, Integer> dropsLeft = new java.util.HashMap<>();
        int dropped;

        /** Drops the first {@code times} transmissions of each of {@code seqs}. */
        DropSegments(DatagramEndpoint inner, int times, long... seqs) {
            this.inner = inner;
            for (long seq : seqs) {
                dropsLeft.put(seq, times);
            }
        }

        @Override
        public void receive(long nowNanos, ByteBuf datagram) {
            inner.receive(nowNanos, datagram);
        }

        @Override
        public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
            while (true) {
                ByteBuf b = inner.poll(nowNanos, alloc);
                if (b == null) {
                    return null;
                }
                long seq = b.getLong(b.readerIndex());
                Integer left = dropsLeft.get(seq);
                if (left == null || left == 0) {
                    return b;
                }
                dropsLeft.put(seq, left - 1);
                dropped++;
                b.release();
            }
        }

        @Override
        public long nextTimeoutNanos() {
            return inner.nextTimeoutNanos();
        }

        @Override
        public void onTimeout(long nowNanos) {
            inner.onTimeout(nowNanos);
        }
    }
}
