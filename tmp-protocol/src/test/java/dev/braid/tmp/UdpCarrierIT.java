package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** TMP links over real UDP sockets on loopback, and the fall-back to TCP where UDP does not answer. */
@ExtendWith(PooledMemoryBaseline.class)
class UdpCarrierIT {

    /** A UDP handshake may take its time on a busy test machine; falling back to TCP here would hide what is tested. */
    static final LinkSettings PATIENT = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT
            .withHandshakeTimeout(Duration.ofSeconds(10)));

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    /** Echoes every stream back, consuming as it goes. */
    static final class Echo implements TmpStreamHandler {
        @Override
        public void onData(TmpStream stream, ByteBuf data, boolean fin) {
            int n = data.readableBytes();
            if (fin) {
                stream.writeAndEnd(data);
            } else {
                stream.write(data);
            }
            stream.consumed(n);
        }

        @Override
        public void onReset(TmpStream stream, ResetCode code, String reason) {
        }
    }

    static final class Collect implements TmpStreamHandler {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final CompletableFuture<byte[]> done = new CompletableFuture<>();

        @Override
        public void onData(TmpStream stream, ByteBuf data, boolean fin) {
            try {
                int n = data.readableBytes();
                byte[] b = new byte[n];
                data.readBytes(b);
                bytes.writeBytes(b);
                stream.consumed(n);
                if (fin) {
                    done.complete(bytes.toByteArray());
                }
            } finally {
                data.release();
            }
        }

        @Override
        public void onReset(TmpStream stream, ResetCode code, String reason) {
            done.completeExceptionally(new IllegalStateException(code + ": " + reason));
        }
    }

    private TmpLink link(Transport transport, boolean serverUdp, LinkSettings clientSettings) throws Exception {
        assumeTrue(transport.isAvailable(), transport + " not available");
        EventLoops loops = EventLoops.create("udp-it", transport, 2);
        resources.add(loops);
        LinkSettings serverSettings = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT.withUdp(serverUdp));
        TmpServer server = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0), serverSettings, "be",
                stream -> new Echo());
        resources.add(server);
        assertEquals(serverUdp, server.udpEnabled());
        TmpClient client = TmpClient.start(loops, server.localAddress(), "be", clientSettings, "fe", stream -> null);
        resources.add(client);
        return client.awaitLink().get(10, TimeUnit.SECONDS);
    }

    private static void echo(TmpLink link, int bytes) throws Exception {
        byte[] payload = new byte[bytes];
        new Random(bytes).nextBytes(payload);
        Collect c = new Collect();
        TmpStream s = link.openStream(1, "standard", false, c);
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(bytes);
        b.writeBytes(payload);
        s.writeAndEnd(b);
        assertArrayEquals(payload, c.done.get(20, TimeUnit.SECONDS));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void streamsTravelOverUdp(Transport transport) throws Exception {
        TmpLink link = link(transport, true, PATIENT);
        assertEquals("udp", link.carrier());
        echo(link, 10);
        echo(link, 3_000_000);
        assertTrue(link.localQos().smoothedRttMicros() >= 0);
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = "NIO")
    void withoutUdpTheLinkFallsBackToTcpWithinTheHandshakeTimeout(Transport transport) throws Exception {
        long start = System.nanoTime();
        TmpLink link = link(transport, false, LinkSettings.DEFAULT);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals("tcp", link.carrier());
        assertTrue(tookMs >= 1900 && tookMs < 8000, "fell back after " + tookMs + " ms");
        echo(link, 100_000);
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = "NIO")
    void tcpOnlyWhenUdpIsOff(Transport transport) throws Exception {
        TmpLink link = link(transport, true, LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT.withUdp(false)));
        assertEquals("tcp", link.carrier());
        echo(link, 1000);
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = "NIO")
    void aProbeMovesATcpLinkToUdpWhenUdpAnswersAgain(Transport transport) throws Exception {
        // The server has no UDP at first: the client lands on TCP, then probes UDP every 300 ms.
        assumeTrue(transport.isAvailable());
        EventLoops loops = EventLoops.create("udp-it", transport, 2);
        resources.add(loops);
        TmpServer tcpOnly = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0),
                LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT.withUdp(false)), "be", stream -> new Echo());
        resources.add(tcpOnly);
        int port = tcpOnly.localAddress().getPort();
        LinkSettings clientSettings = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT
                .withHandshakeTimeout(Duration.ofMillis(300)).withUdpProbeInterval(Duration.ofMillis(300)));
        TmpClient client = TmpClient.start(loops, tcpOnly.localAddress(), "be", clientSettings, "fe", stream -> null);
        resources.add(client);
        TmpLink first = client.awaitLink().get(10, TimeUnit.SECONDS);
        assertEquals("tcp", first.carrier());
        // A UDP-only listener appears at the same port (a second server's TCP bind would clash, so use the carrier directly).
        TmpServer udpServer = TmpServer.startUdpOnly(loops, new InetSocketAddress("127.0.0.1", port),
                LinkSettings.DEFAULT, "be", stream -> new Echo());
        resources.add(udpServer);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline && (client.link() == null || !"udp".equals(client.link().carrier()))) {
            Thread.sleep(50);
        }
        assertEquals("udp", client.link().carrier());
        echo(client.link(), 5000);
    }

    /** Answers every stream with {@code bytes} bytes, written as the stream's send queue drains. */
    static final class Source implements TmpStreamHandler {
        final long total;
        long written;

        Source(long total) {
            this.total = total;
        }

        @Override
        public void onData(TmpStream stream, ByteBuf data, boolean fin) {
            int n = data.readableBytes();
            data.release();
            stream.consumed(n);
            if (fin) {
                fill(stream);
            }
        }

        void fill(TmpStream stream) {
            while (stream.isWritable() && written < total) {
                int n = (int) Math.min(16 * 1024, total - written);
                ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(n);
                b.writeZero(n);
                written += n;
                if (written == total) {
                    stream.writeAndEnd(b);
                } else {
                    stream.write(b);
                }
            }
        }

        @Override
        public void onWritable(TmpStream stream) {
            fill(stream);
        }

        @Override
        public void onReset(TmpStream stream, ResetCode code, String reason) {
        }
    }

    static final class Count implements TmpStreamHandler {
        final java.util.concurrent.atomic.AtomicLong bytes;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Count(java.util.concurrent.atomic.AtomicLong bytes) {
            this.bytes = bytes;
        }

        @Override
        public void onData(TmpStream stream, ByteBuf data, boolean fin) {
            int n = data.readableBytes();
            bytes.addAndGet(n);
            data.release();
            stream.consumed(n);
            if (fin) {
                done.complete(null);
            }
        }

        @Override
        public void onReset(TmpStream stream, ResetCode code, String reason) {
            done.completeExceptionally(new IllegalStateException(code + ": " + reason));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"NIO", "EPOLL"})
    void theRateCapHoldsOnUdp(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable());
        EventLoops loops = EventLoops.create("udp-it", transport, 2);
        resources.add(loops);
        LinkSettings capped = PATIENT.withMaxSendBytesPerSecond(40_000_000 / 8);
        TmpServer server = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0), capped, "be",
                stream -> new Source(10_000_000L));
        resources.add(server);
        TmpClient client = TmpClient.start(loops, server.localAddress(), "be", capped, "fe", stream -> null);
        resources.add(client);
        TmpLink link = client.awaitLink().get(10, TimeUnit.SECONDS);
        assertEquals("udp", link.carrier());
        java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
        java.util.Queue<String> resets = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        for (int i = 0; i < 4; i++) {
            download(link, bytes, resets, stop);
        }
        Thread.sleep(1500);
        long b0 = bytes.get();
        long t0 = System.nanoTime();
        Thread.sleep(3000);
        double mbps = (bytes.get() - b0) * 8e3 / (System.nanoTime() - t0);
        stop.set(true);
        TmpLink serverSide = server.links().iterator().next();
        System.out.printf("%s: %.1f Mbit/s under a 40 Mbit/s cap, cwnd %d, %s%n", transport, mbps,
                serverSide.congestionWindow(), serverSide.localQos());
        assertTrue(resets.isEmpty(), "no stream was reset: " + resets);
        // The cap counts datagram bytes; stream payload is about 94% of them. The lower bound only
        // says the link moves data: the machine running the test may be busy.
        assertTrue(mbps > 16 && mbps < 40, "rate under the cap: " + mbps + " Mbit/s");
    }

    /** One 10 MB download after another on new streams, until stopped. */
    private static void download(TmpLink link, java.util.concurrent.atomic.AtomicLong bytes,
                                 java.util.Queue<String> resets, java.util.concurrent.atomic.AtomicBoolean stop) {
        Count c = new Count(bytes);
        TmpStream s = link.openStream(2, "standard", false, c);
        s.writeAndEnd(ByteBufAllocator.DEFAULT.directBuffer(8).writeLong(1));
        c.done.whenComplete((ok, e) -> {
            if (e != null) {
                resets.add(e.getMessage());
            } else if (!stop.get()) {
                download(link, bytes, resets, stop);
            }
        });
    }
}
