package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import dev.braid.tmp.security.PeerRejectedException;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The encrypted UDP carrier over real sockets on loopback: links between enrolled nodes carry
 * streams, refused peers get none, packets tampered with or replayed by a relay on the path are
 * dropped and counted while the streams complete, and a flood of spoofed handshake packets leaves
 * the responder without any state.
 */
@ExtendWith(PooledMemoryBaseline.class)
class SecureUdpCarrierIT {

    @TempDir
    static Path dir;
    static TestPki pki;

    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeAll
    static void keys() throws Exception {
        pki = TestPki.create(dir);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private static LinkSettings settings(UdpSecurity security) {
        return TestPki.with(UdpCarrierIT.PATIENT, security);
    }

    private EventLoops loops() {
        EventLoops loops = EventLoops.create("secure-udp-it", Transport.NIO, 2);
        resources.add(loops);
        return loops;
    }

    private TmpServer server(EventLoops loops, UdpSecurity be) {
        TmpServer server = TmpServer.startUdpOnly(loops, new InetSocketAddress("127.0.0.1", 0), settings(be), "be",
                stream -> new UdpCarrierIT.Echo());
        resources.add(server);
        return server;
    }

    private TmpClient client(EventLoops loops, InetSocketAddress to, String name, UdpSecurity fe) {
        TmpClient client = TmpClient.start(loops, to, "be", settings(fe), name, stream -> null);
        resources.add(client);
        return client;
    }

    /** {@code count} echoes of about {@code bytes} each (all different), on threads of their own, at once. */
    private List<java.util.concurrent.CompletableFuture<Void>> echoesAtOnce(TmpLink link, int count, int bytes) {
        List<java.util.concurrent.CompletableFuture<Void>> echoes = new ArrayList<>();
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(count);
        resources.add(threads::shutdownNow);
        for (int i = 0; i < count; i++) {
            int n = i;
            echoes.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    echo(link, bytes + n);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, threads));
        }
        return echoes;
    }

    private static void echo(TmpLink link, int bytes) throws Exception {
        byte[] payload = new byte[bytes];
        new Random(bytes).nextBytes(payload);
        UdpCarrierIT.Collect c = new UdpCarrierIT.Collect();
        TmpStream s = link.openStream(1, "standard", false, c);
        io.netty.buffer.ByteBuf b = io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(bytes);
        b.writeBytes(payload);
        s.writeAndEnd(b);
        org.junit.jupiter.api.Assertions.assertArrayEquals(payload, c.done.get(20, TimeUnit.SECONDS));
    }

    @Test
    void enrolledNodesGetAnEncryptedLink() throws Exception {
        EventLoops loops = loops();
        UdpSecurity be = pki.responder("be");
        TmpServer server = server(loops, be);
        TmpLink link = client(loops, server.localAddress(), "fe", pki.initiator("fe", "be")).awaitLink()
                .get(10, TimeUnit.SECONDS);
        assertEquals("udp", link.carrier());
        echo(link, 10);
        echo(link, 2_000_000);
        assertEquals(1, be.dropped(UdpSecurity.Drop.NO_TOKEN), "the first INITIAL is answered with a RETRY");
    }

    @Test
    void keysRotateUnderLoadOverRealSockets() throws Exception {
        EventLoops loops = loops();
        UdpSecurity be = pki.responder("be").withKeyUpdate(64, Duration.ofSeconds(120));
        UdpSecurity fe = pki.initiator("fe", "be").withKeyUpdate(64, Duration.ofSeconds(120));
        TmpServer server = server(loops, be);
        TmpLink link = client(loops, server.localAddress(), "fe", fe).awaitLink().get(10, TimeUnit.SECONDS);
        List<java.util.concurrent.CompletableFuture<Void>> echoes = echoesAtOnce(link, 3, 700_000);
        for (var e : echoes) {
            e.get(30, TimeUnit.SECONDS);
        }
        assertTrue(fe.keyUpdates() >= 3, "front-end key updates: " + fe.keyUpdates());
        assertTrue(be.keyUpdates() >= 3, "back-end key updates: " + be.keyUpdates());
        assertEquals(0, be.dropped(UdpSecurity.Drop.UNDECRYPTABLE) + fe.dropped(UdpSecurity.Drop.UNDECRYPTABLE));
    }

    /**
     * Both ends renew their certificates and X25519 keys while streams run: the streams complete on
     * the link they started on, a front-end holding the back-end's previous certificate still gets a
     * new link, and so does one made from the renewed files — no restart anywhere.
     */
    @Test
    void certificatesRenewUnderLoadWithoutARestart(@TempDir Path own) throws Exception {
        TestPki fresh = TestPki.create(own);
        EventLoops loops = loops();
        UdpSecurity be = fresh.responder("be");
        UdpSecurity fe = UdpSecurity.load(fresh.identity("fe"), fresh.verifier(dev.braid.tmp.security.PeerIdentity.BACK_END))
                .towards("be", fresh.nodes.resolve("be.crt"));
        UdpSecurity feWithOldCopy = fresh.initiator("fe", "be");
        resources.add(be);
        resources.add(fe);
        TmpServer server = server(loops, be);
        TmpLink link = client(loops, server.localAddress(), "fe", fe).awaitLink().get(10, TimeUnit.SECONDS);
        List<java.util.concurrent.CompletableFuture<Void>> echoes = echoesAtOnce(link, 3, 1_500_000);
        fresh.renew(dev.braid.managers.pki.NodeRole.BACK_END, "be");
        fresh.renew(dev.braid.managers.pki.NodeRole.FRONT_END, "fe");
        assertTrue(be.reloadIfChanged(), "back-end renewed");
        assertTrue(fe.reloadIfChanged(), "front-end renewed");
        for (var e : echoes) {
            e.get(30, TimeUnit.SECONDS);
        }
        assertTrue(link.isActive(), "the link made before the renewal goes on");
        echo(link, 10_000);
        Thread.sleep(3); // message 1 timestamps of one front-end must grow (milliseconds)
        TmpLink renewed = client(loops, server.localAddress(), "fe", fe).awaitLink().get(10, TimeUnit.SECONDS);
        echo(renewed, 100_000);
        Thread.sleep(3);
        TmpLink old = client(loops, server.localAddress(), "fe", feWithOldCopy).awaitLink().get(10, TimeUnit.SECONDS);
        echo(old, 100_000);
        assertEquals(0, be.dropped(UdpSecurity.Drop.HANDSHAKE) + be.dropped(UdpSecurity.Drop.PEER_REFUSED)
                + be.dropped(UdpSecurity.Drop.UNDECRYPTABLE));
    }

    /** A CRL of a new configuration closes the established link of the peer it revokes, on both ends. */
    @Test
    void aRevocationPublishedWhileTheLinkIsUpClosesIt(@TempDir Path own) throws Exception {
        TestPki fresh = TestPki.create(own);
        EventLoops loops = loops();
        UdpSecurity be = fresh.responder("be");
        TmpServer server = server(loops, be);
        TmpLink link = client(loops, server.localAddress(), "fe", fresh.initiator("fe", "be")).awaitLink()
                .get(10, TimeUnit.SECONDS);
        echo(link, 10_000);
        be.updateCrls(fresh.revoke("fe"));
        link.closeFuture().await(10, TimeUnit.SECONDS);
        assertFalse(link.isActive(), "the revoked front-end's link is closed");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!server.links().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(server.links().isEmpty());
        // At least the re-check; the front-end's attempts to connect again are refused the same way.
        assertTrue(be.refused(PeerRejectedException.Reason.REVOKED) >= 1);
    }

    @Test
    void unknownExpiredRevokedAndWrongRolePeersGetNoLink() throws Exception {
        EventLoops loops = loops();
        UdpSecurity be = pki.responder("be");
        TmpServer server = server(loops, be);
        List<TmpClient> clients = new ArrayList<>();
        for (String name : List.of("fe-stranger", "fe-expired", "fe-revoked", "rd")) {
            clients.add(client(loops, server.localAddress(), name, pki.initiator(name, "be")));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && (be.refused(PeerRejectedException.Reason.UNKNOWN_CA) == 0
                || be.refused(PeerRejectedException.Reason.EXPIRED) == 0
                || be.refused(PeerRejectedException.Reason.REVOKED) == 0
                || be.refused(PeerRejectedException.Reason.WRONG_ROLE) == 0)) {
            Thread.sleep(20);
        }
        for (TmpClient c : clients) {
            assertThrows(TimeoutException.class, () -> c.awaitLink().get(100, TimeUnit.MILLISECONDS));
        }
        assertTrue(be.refused(PeerRejectedException.Reason.UNKNOWN_CA) >= 1);
        assertTrue(be.refused(PeerRejectedException.Reason.EXPIRED) >= 1);
        assertTrue(be.refused(PeerRejectedException.Reason.REVOKED) >= 1);
        assertTrue(be.refused(PeerRejectedException.Reason.WRONG_ROLE) >= 1);
        assertTrue(server.links().isEmpty());
    }

    /** A relay on the path from client to server that flips a bit in some packets and sends others twice. */
    static final class Meddler implements AutoCloseable {
        final DatagramSocket inside = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        final DatagramSocket outside = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        final InetSocketAddress server;
        volatile SocketAddress client;
        volatile boolean closed;
        final AtomicInteger tampered = new AtomicInteger();
        final AtomicInteger replayed = new AtomicInteger();
        final List<Thread> threads = new ArrayList<>();

        Meddler(InetSocketAddress server) throws IOException {
            this.server = server;
            thread(() -> {
                byte[] buf = new byte[65_536];
                int n = 0;
                while (!closed) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    inside.receive(p);
                    client = p.getSocketAddress();
                    boolean shortHeader = (buf[0] & 0x80) == 0;
                    n++;
                    if (shortHeader && n % 11 == 0) {
                        buf[p.getLength() - 20] ^= 0x10;
                        tampered.incrementAndGet();
                    }
                    outside.send(new DatagramPacket(buf, p.getLength(), server));
                    if (shortHeader && n % 13 == 0 && n % 11 != 0) {
                        outside.send(new DatagramPacket(buf, p.getLength(), server));
                        replayed.incrementAndGet();
                    }
                }
            });
            thread(() -> {
                byte[] buf = new byte[65_536];
                while (!closed) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    outside.receive(p);
                    if (client != null) {
                        inside.send(new DatagramPacket(buf, p.getLength(), client));
                    }
                }
            });
        }

        private void thread(RelayThreads.Loop body) {
            RelayThreads.start("meddler", body, threads);
        }

        InetSocketAddress address() {
            return (InetSocketAddress) inside.getLocalSocketAddress();
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            inside.close();
            outside.close();
            for (Thread t : threads) {
                t.join(2000);
            }
        }
    }

    @Test
    void tamperedAndReplayedPacketsAreDroppedAndCountedWhileStreamsComplete() throws Exception {
        EventLoops loops = loops();
        UdpSecurity be = pki.responder("be");
        TmpServer server = server(loops, be);
        Meddler meddler = new Meddler(server.localAddress());
        resources.add(meddler);
        TmpLink link = client(loops, meddler.address(), "fe", pki.initiator("fe", "be")).awaitLink()
                .get(10, TimeUnit.SECONDS);
        echo(link, 1_000_000);
        echo(link, 1_000_000);
        assertTrue(meddler.tampered.get() > 0 && meddler.replayed.get() > 0);
        assertEquals(meddler.tampered.get(), be.dropped(UdpSecurity.Drop.UNDECRYPTABLE), "every tampered packet");
        assertEquals(meddler.replayed.get(), be.dropped(UdpSecurity.Drop.REPLAY), "every replayed packet");
        assertEquals(1, server.links().size());
    }

    @Test
    void aHundredThousandSpoofedHandshakePacketsLeaveNoState() throws Exception {
        EventLoops loops = loops();
        UdpSecurity be = pki.responder("be");
        LinkSettings s = settings(be);
        UdpCarrier carrier = new UdpCarrier(true, "be", TmpServer.ROLE_BACK_END, s, stream -> new UdpCarrierIT.Echo(),
                new UdpCarrier.Observer() {
                    @Override
                    public void established(TmpLink link) {
                    }

                    @Override
                    public void closed(TmpLink link, String reason) {
                    }
                });
        Channel ch = new Bootstrap().group(loops.group()).channel(loops.transport().datagramChannel())
                .option(ChannelOption.SO_RCVBUF, 4 << 20)
                .handler(carrier).bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
        resources.add(() -> ch.close().syncUninterruptibly());
        InetSocketAddress target = (InetSocketAddress) ch.localAddress();
        Random random = new Random(42);
        int total = 100_000;
        try (DatagramChannel flood = DatagramChannel.open()) {
            flood.bind(new InetSocketAddress("127.0.0.1", 0));
            ByteBuffer b = ByteBuffer.allocate(1200);
            byte[] noise = new byte[1000];
            for (int i = 0; i < total; i++) {
                b.clear();
                b.put((byte) (PacketHeader.FLAG_LONG | PacketHeader.FLAG_FIXED | PacketHeader.TYPE_INITIAL));
                b.putInt(TmpConnection.VERSION);
                b.putLong(random.nextLong());
                b.putLong(random.nextLong());
                b.putInt(0);
                // Half without a token, half with a forged one.
                int tokenLength = i % 2 == 0 ? 0 : dev.braid.tmp.noise.RetryTokens.TOKEN_BYTES;
                b.putShort((short) tokenLength);
                random.nextBytes(noise);
                b.put(noise, 0, tokenLength + 200 + (i % 7) * 100);
                b.flip();
                flood.send(b, target);
                // Stay a little ahead of the responder: the loopback's receive buffer would drop the rest.
                long sendDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (i - be.dropped(UdpSecurity.Drop.NO_TOKEN) > 64 && System.nanoTime() < sendDeadline) {
                    Thread.sleep(1);
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long seen = -1;
        while (seen != be.dropped(UdpSecurity.Drop.NO_TOKEN) && System.nanoTime() < deadline) {
            seen = be.dropped(UdpSecurity.Drop.NO_TOKEN);
            Thread.sleep(100);
        }
        int connections = ch.eventLoop().submit(carrier::connections).get(5, TimeUnit.SECONDS);
        assertEquals(0, connections, "no connection state for spoofed packets");
        assertTrue(seen > total * 0.95, "the carrier saw the flood (" + seen + " of " + total + ")");
        assertEquals(0, be.dropped(UdpSecurity.Drop.HANDSHAKE), "no spoofed packet reached the Noise handshake");

        // The responder still serves real nodes afterwards.
        TmpClient client = TmpClient.start(loops, target, "be", s.withDatagram(s.datagram()
                .withSecurity(pki.initiator("fe", "be"))), "fe", stream -> null);
        resources.add(client);
        TmpLink link = client.awaitLink().get(10, TimeUnit.SECONDS);
        echo(link, 1000);
    }
}
