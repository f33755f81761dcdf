package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.ImmediateEventExecutor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A client and a server {@link TmpConnection} joined by a {@link TestNet}, with bulk sources and sinks. */
final class UdpPair implements AutoCloseable {

    final TestNet net;
    final TmpConnection client;
    final TmpConnection server;
    final List<LinkCoreTest.Sink> accepted = new ArrayList<>();
    final List<String> closed = new ArrayList<>();
    final List<Bulk> bulks = new ArrayList<>();

    UdpPair(long seed, LinkSettings settings) {
        this(seed, settings, settings, "fe");
    }

    /** A pair whose ends have their own settings (each its own {@link UdpSecurity}); the client is named {@code clientName}. */
    UdpPair(long seed, LinkSettings clientSettings, LinkSettings serverSettings, String clientName) {
        net = new TestNet(seed);
        Random random = new Random(seed);
        TmpConnection.Events events = new TmpConnection.Events() {
            @Override
            public void established(TmpConnection connection) {
            }

            @Override
            public void closed(TmpConnection connection, String reason) {
                closed.add((connection.isInitiator() ? "client: " : "server: ") + reason);
            }
        };
        client = TmpConnection.client(ImmediateEventExecutor.INSTANCE, clientSettings, clientName, TmpServer.ROLE_FRONT_END,
                stream -> null, events, 0, random);
        server = TmpConnection.server(ImmediateEventExecutor.INSTANCE, serverSettings, "be", TmpServer.ROLE_BACK_END,
                stream -> {
                    LinkCoreTest.Sink s = new LinkCoreTest.Sink();
                    s.stream = stream;
                    accepted.add(s);
                    return s;
                }, events, 0, random);
        client.setWakeup(net.wakeup(0));
        server.setWakeup(net.wakeup(1));
        net.connect(client, server);
    }

    void run(double seconds) {
        net.runUntil(net.now + (long) (seconds * 1e9));
    }

    /** A stream that keeps its send queue full until it has written {@code total} bytes, then ends. */
    final class Bulk implements TmpStreamHandler {
        final TmpStream stream;
        final long total;
        long written;
        ResetCode reset;
        final int chunk;

        Bulk(int ring, long total, int chunk) {
            this.total = total;
            this.chunk = chunk;
            this.stream = client.core().openStream(ring, "bulk", false, this);
            fill();
        }

        void fill() {
            while (stream.isWritable() && written < total && reset == null) {
                int n = (int) Math.min(chunk, total - written);
                byte[] bytes = new byte[n];
                for (int i = 0; i < n; i++) {
                    bytes[i] = (byte) ((written + i) * 31 % 251);
                }
                ByteBuf b = net.alloc.buffer(n);
                b.writeBytes(bytes);
                written += n;
                if (written == total) {
                    stream.writeAndEnd(b);
                } else {
                    stream.write(b);
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

    Bulk bulk(int ring, long total) {
        Bulk b = new Bulk(ring, total, 16 * 1024);
        bulks.add(b);
        return b;
    }

    /** Bytes the server's sinks received in all. */
    long receivedBytes() {
        long n = 0;
        for (LinkCoreTest.Sink s : accepted) {
            n += s.received;
        }
        return n;
    }

    @Override
    public void close() {
        client.close(ResetCode.SHUTDOWN, "test over");
        server.close(ResetCode.SHUTDOWN, "test over");
        net.close();
    }

    static ByteBufAllocator heap() {
        return new io.netty.buffer.UnpooledByteBufAllocator(false, true);
    }
}
