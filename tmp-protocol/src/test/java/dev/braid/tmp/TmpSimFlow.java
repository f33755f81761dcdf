package dev.braid.tmp;

import dev.braid.tmp.sim.SimFlow;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.ImmediateEventExecutor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * A TMP link as a flow of the network simulator: the front-end's {@link TmpConnection} on side A,
 * the back-end's on side B, and {@code streams} bulk streams from A to B opened when the link is
 * up. Goodput is the stream bytes B delivered in order. Bulk payload is one shared read-only array
 * wrapped per write (untracked heap: the scenarios are about rates, the ownership tests elsewhere).
 */
final class TmpSimFlow implements SimFlow {

    private static final byte[] CHUNK = new byte[16 * 1024];

    final TmpConnection client;
    final TmpConnection server;
    final List<LinkCoreTest.Sink> sinks = new ArrayList<>();
    final List<Source> sources = new ArrayList<>();
    final List<String> closed = new ArrayList<>();
    private final DatagramEndpoint a;
    private final DatagramEndpoint b;
    private final int streams;

    TmpSimFlow(LinkSettings settings, int streams, long seed) {
        this.streams = streams;
        Random random = new Random(seed);
        TmpConnection.Events events = new TmpConnection.Events() {
            @Override
            public void established(TmpConnection connection) {
                if (connection.isInitiator()) {
                    for (int i = 0; i < TmpSimFlow.this.streams; i++) {
                        open(2, Long.MAX_VALUE);
                    }
                }
            }

            @Override
            public void closed(TmpConnection connection, String reason) {
                closed.add((connection.isInitiator() ? "client: " : "server: ") + reason);
            }
        };
        client = TmpConnection.client(ImmediateEventExecutor.INSTANCE, settings, "fe", TmpServer.ROLE_FRONT_END,
                stream -> null, events, 0, random);
        server = TmpConnection.server(ImmediateEventExecutor.INSTANCE, settings, "be", TmpServer.ROLE_BACK_END,
                stream -> {
                    LinkCoreTest.Sink s = new LinkCoreTest.Sink();
                    s.stream = stream;
                    s.countOnly = true;
                    sinks.add(s);
                    return s;
                }, events, 0, random);
        a = new Closing(client);
        b = new Closing(server);
    }

    /**
     * Flow-control windows large enough never to be the limit, whatever the queue (a queue-filled
     * 100 Mbit/s, 80 ms path holds 2 MB in flight; {@link StreamRateTest} covers the defaults).
     */
    static final LinkSettings WIDE = LinkSettings.DEFAULT.withWindows(8 * 1024 * 1024, 64L * 1024 * 1024);

    static Supplier<SimFlow> factory(CongestionControl cc, int streams, long seed) {
        LinkSettings settings = WIDE.withDatagram(DatagramSettings.DEFAULT.withCongestionControl(cc));
        return () -> new TmpSimFlow(settings, streams, seed);
    }

    /** Opens a stream from A that sends {@code total} bytes (then ends), keeping its queue full. */
    Source open(int ring, long total) {
        Source s = new Source(total);
        s.stream = client.core().openStream(ring, "bulk", false, s);
        sources.add(s);
        s.fill();
        return s;
    }

    @Override
    public DatagramEndpoint sideA() {
        return a;
    }

    @Override
    public DatagramEndpoint sideB() {
        return b;
    }

    /** Closes both connections, releasing what they hold (for runs driven without a scenario). */
    void close() {
        client.close(ResetCode.SHUTDOWN, "simulation over");
        server.close(ResetCode.SHUTDOWN, "simulation over");
    }

    @Override
    public long deliveredBytes() {
        long n = 0;
        for (LinkCoreTest.Sink s : sinks) {
            n += s.received;
        }
        return n;
    }

    static final class Source implements TmpStreamHandler {
        TmpStream stream;
        final long total;
        long written;
        ResetCode reset;

        Source(long total) {
            this.total = total;
        }

        void fill() {
            while (stream.isWritable() && written < total && reset == null) {
                int n = (int) Math.min(CHUNK.length, total - written);
                ByteBuf chunk = Unpooled.wrappedBuffer(CHUNK, 0, n);
                written += n;
                if (written == total) {
                    stream.writeAndEnd(chunk);
                } else {
                    stream.write(chunk);
                }
            }
        }

        @Override
        public void onData(TmpStream s, ByteBuf data, boolean fin) {
            data.release();
        }

        @Override
        public void onReset(TmpStream s, ResetCode code, String reason) {
            reset = code;
        }

        @Override
        public void onWritable(TmpStream s) {
            fill();
        }
    }

    /** Closes the connection (releasing what it holds) when the simulation ends. */
    private static final class Closing implements DatagramEndpoint, AutoCloseable {
        final TmpConnection c;

        Closing(TmpConnection c) {
            this.c = c;
        }

        @Override
        public void receive(long nowNanos, ByteBuf datagram) {
            c.receive(nowNanos, datagram);
        }

        @Override
        public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
            return c.poll(nowNanos, alloc);
        }

        @Override
        public long nextTimeoutNanos() {
            return c.nextTimeoutNanos();
        }

        @Override
        public void onTimeout(long nowNanos) {
            c.onTimeout(nowNanos);
        }

        @Override
        public void close() {
            c.close(ResetCode.SHUTDOWN, "simulation over");
        }
    }
}
