package dev.braid.tmp;

import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import dev.braid.tmp.security.LinkTls;
import dev.braid.tmp.security.NodeIdentity;
import dev.braid.tmp.security.NodeTls;
import dev.braid.tmp.security.PeerIdentity;
import dev.braid.tmp.security.PeerVerifier;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * TMP links on the TCP carrier between a front-end and a back-end with identities from the Braid
 * CA: the happy path carries streams byte for byte over TLS; peers with an unknown CA, an expired,
 * revoked or wrong-role certificate, or a HELLO that is not their certificate's are refused, each
 * counted with its reason; a revocation published while a link is up closes it; a renewed
 * certificate and a rotated CA apply to new links without a restart.
 */
@ExtendWith(PooledMemoryBaseline.class)
class TcpTlsLinkIT {

    private static final LinkSettings TCP = LinkSettings.DEFAULT.withDatagram(DatagramSettings.DEFAULT.withUdp(false));

    @TempDir
    static Path dir;
    private static EventLoops loops;
    private static CertificateAuthority ca;
    private static Path nodes;
    private static Path trust;

    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeAll
    static void issueCertificates() throws Exception {
        loops = EventLoops.create("tcp-tls-it", Transport.NIO, 2);
        nodes = dir.resolve("nodes");
        Path caDir = dir.resolve("ca");
        // Issued 200 days ago for 90 days by the CA everyone trusts: expired now.
        try (CertificateAuthority past = CertificateAuthority.init(caDir, null, Duration.ofDays(3650),
                Clock.fixed(Instant.now().minus(Duration.ofDays(200)), ZoneOffset.UTC))) {
            past.issue(NodeRole.FRONT_END, "fe-old", Duration.ofDays(90), nodes);
        }
        ca = CertificateAuthority.open(caDir, Clock.systemUTC());
        for (String fe : List.of("fe-1", "fe-2", "fe-3", "fe-4")) {
            ca.issue(NodeRole.FRONT_END, fe, Duration.ofDays(90), nodes);
        }
        ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), nodes);
        ca.issue(NodeRole.BACK_END, "be-2", Duration.ofDays(90), nodes);
        trust = ca.trustBundle();
        try (CertificateAuthority other = CertificateAuthority.init(dir.resolve("other-ca"), null, Duration.ofDays(3650),
                Clock.systemUTC())) {
            other.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), dir.resolve("stranger"));
        }
    }

    @AfterAll
    static void closeAll() throws Exception {
        ca.close();
        loops.close();
    }

    @AfterEach
    void closeResources() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    // ---- the two ends ----

    /** TLS for {@code name} (certificate in {@code certDir}) accepting {@code accepts}, trusting {@code trustFile}. */
    private LinkTls tls(Path certDir, String name, Path trustFile, String accepts, Metrics metrics) throws Exception {
        NodeIdentity identity = NodeIdentity.load(certDir.resolve(name + ".crt"), certDir.resolve(name + ".key"));
        LinkTls t = LinkTls.create(NodeTls.create(identity, PeerVerifier.load(trustFile, Set.of(accepts),
                Clock.systemUTC())), metrics);
        resources.add(t);
        return t;
    }

    private LinkTls backEndTls(Metrics metrics) throws Exception {
        return tls(nodes, "be-1", trust, PeerIdentity.FRONT_END, metrics);
    }

    private LinkTls frontEndTls(Path certDir, String name, Metrics metrics) throws Exception {
        return tls(certDir, name, trust, PeerIdentity.BACK_END, metrics);
    }

    private TmpServer server(LinkTls tls) {
        TmpServer s = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0), TCP, tls.self().name(),
                stream -> new UdpCarrierIT.Echo(), tls);
        resources.add(s);
        return s;
    }

    private TmpClient client(TmpServer server, String backEnd, String nodeName, LinkTls tls) {
        TmpClient c = TmpClient.start(loops, server.localAddress(), backEnd, TCP, nodeName, stream -> null, tls);
        resources.add(c);
        return c;
    }

    private static void echo(TmpLink link, int bytes) throws Exception {
        byte[] payload = new byte[bytes];
        new Random(bytes).nextBytes(payload);
        UdpCarrierIT.Collect c = new UdpCarrierIT.Collect();
        TmpStream s = link.openStream(1, "standard", false, c);
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(bytes);
        b.writeBytes(payload);
        s.writeAndEnd(b);
        assertArrayEquals(payload, c.done.get(20, TimeUnit.SECONDS));
    }

    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within 10 s: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Starts a client and waits until {@code counted} saw a refusal with {@code reason}; no link may come up. */
    private void assertRefused(TmpServer server, TmpClient client, LinkTls counted, LinkTls.Stage stage, String reason)
            throws InterruptedException {
        eventually(stage + " " + reason + " counted", () -> counted.refusedCount("tcp", stage, reason) >= 1);
        assertNull(client.link(), "no link with a refused peer");
        assertEquals(Set.of(), server.links());
    }

    // ---- the happy path ----

    @Test
    void streamsTravelByteForByteOverTls() throws Exception {
        LinkTls be = backEndTls(new Metrics());
        LinkTls fe = frontEndTls(nodes, "fe-1", new Metrics());
        TmpServer server = server(be);
        TmpLink link = client(server, "be-1", "fe-1", fe).awaitLink().get(10, TimeUnit.SECONDS);
        assertEquals("tcp", link.carrier());
        assertEquals("be-1", link.peerName());
        echo(link, 10);
        echo(link, 3_000_000);
        List<CompletableFuture<byte[]>> many = new ArrayList<>();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            byte[] payload = new byte[50_000 + i];
            new Random(i).nextBytes(payload);
            UdpCarrierIT.Collect c = new UdpCarrierIT.Collect();
            TmpStream s = link.openStream(i % 3, "standard", i % 2 == 0, c);
            ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(payload.length);
            b.writeBytes(payload);
            s.writeAndEnd(b);
            many.add(c.done);
            sent.add(payload);
        }
        for (int i = 0; i < many.size(); i++) {
            assertArrayEquals(sent.get(i), many.get(i).get(20, TimeUnit.SECONDS));
        }
        eventually("both ends track the link for re-checks", () -> be.trackedLinks() == 1 && fe.trackedLinks() == 1);
        assertEquals("fe-1", server.links().iterator().next().peerName());
    }

    // ---- refusals ----

    @Test
    void aPeerFromAnUnknownCaIsRefused() throws Exception {
        Metrics beMetrics = new Metrics();
        LinkTls be = backEndTls(beMetrics);
        LinkTls fe = frontEndTls(dir.resolve("stranger"), "fe-1", new Metrics());
        TmpServer server = server(be);
        TmpClient client = client(server, "be-1", "fe-1", fe);
        assertRefused(server, client, be, LinkTls.Stage.HANDSHAKE, "unknown_ca");
        assertTrue(beMetrics.scrape().contains(
                "braid_link_peer_refused_total{carrier=\"tcp\",stage=\"handshake\",reason=\"unknown_ca\"}"),
                beMetrics.scrape());
        // The refused side learns only that it was refused: TLS alerts carry no reason.
        eventually("the front-end counts the back-end's alert",
                () -> fe.refusedCount("tcp", LinkTls.Stage.HANDSHAKE, LinkTls.PEER_ALERT) >= 1);
    }

    @Test
    void anExpiredPeerIsRefused() throws Exception {
        LinkTls be = backEndTls(new Metrics());
        TmpServer server = server(be);
        TmpClient client = client(server, "be-1", "fe-old", frontEndTls(nodes, "fe-old", new Metrics()));
        assertRefused(server, client, be, LinkTls.Stage.HANDSHAKE, "expired");
    }

    @Test
    void aRevokedPeerIsRefused() throws Exception {
        ca.revoke("fe-2", "keyCompromise");
        LinkTls be = backEndTls(new Metrics());
        assertEquals(List.of(), be.updateCrls(ca.crls()));
        TmpServer server = server(be);
        TmpClient client = client(server, "be-1", "fe-2", frontEndTls(nodes, "fe-2", new Metrics()));
        assertRefused(server, client, be, LinkTls.Stage.HANDSHAKE, "revoked");
    }

    @Test
    void aPeerOfTheWrongRoleIsRefused() throws Exception {
        LinkTls be = backEndTls(new Metrics());
        TmpServer server = server(be);
        // A back-end's certificate (be-2) dialling a back-end: its own side would accept be-1, be-1 refuses it.
        TmpClient client = client(server, "be-1", "be-2", tls(nodes, "be-2", trust, PeerIdentity.BACK_END, new Metrics()));
        assertRefused(server, client, be, LinkTls.Stage.HANDSHAKE, "wrong_role");
    }

    @Test
    void aFrontEndRefusesABackEndThatIsNotTheOneItDialled() throws Exception {
        LinkTls impostor = tls(nodes, "be-2", trust, PeerIdentity.FRONT_END, new Metrics());
        TmpServer server = server(impostor);
        LinkTls fe = frontEndTls(nodes, "fe-1", new Metrics());
        TmpClient client = client(server, "be-1", "fe-1", fe);
        assertRefused(server, client, fe, LinkTls.Stage.HANDSHAKE, "wrong_name");
    }

    @Test
    void aHelloThatIsNotTheCertificatesNameIsRefused() throws Exception {
        LinkTls be = backEndTls(new Metrics());
        TmpServer server = server(be);
        // fe-3's certificate, but the HELLO says fe-4 (a valid name, of a node that exists).
        TmpClient client = client(server, "be-1", "fe-4", frontEndTls(nodes, "fe-3", new Metrics()));
        assertRefused(server, client, be, LinkTls.Stage.HELLO, LinkTls.HELLO_MISMATCH);
    }

    @Test
    void aNodeWithAnIdentityNeverFallsBackToClearText() throws Exception {
        LinkTls be = backEndTls(new Metrics());
        TmpServer tlsServer = server(be);
        TmpClient clearClient = TmpClient.start(loops, tlsServer.localAddress(), "be-1", TCP, "fe-1", stream -> null);
        resources.add(clearClient);
        assertRefused(tlsServer, clearClient, be, LinkTls.Stage.HANDSHAKE, LinkTls.HANDSHAKE_FAILED);

        TmpServer clearServer = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0), TCP, "be-1",
                stream -> new UdpCarrierIT.Echo());
        resources.add(clearServer);
        LinkTls fe = frontEndTls(nodes, "fe-1", new Metrics());
        TmpClient tlsClient = client(clearServer, "be-1", "fe-1", fe);
        assertRefused(clearServer, tlsClient, fe, LinkTls.Stage.HANDSHAKE, LinkTls.HANDSHAKE_FAILED);
    }

    // ---- links that are up ----

    @Test
    void aRevocationPublishedWhileTheLinkIsUpClosesIt() throws Exception {
        ca.issue(NodeRole.FRONT_END, "fe-live", Duration.ofDays(90), nodes);
        LinkTls be = backEndTls(new Metrics());
        TmpServer server = server(be);
        TmpClient client = client(server, "be-1", "fe-live", frontEndTls(nodes, "fe-live", new Metrics()));
        TmpLink link = client.awaitLink().get(10, TimeUnit.SECONDS);
        echo(link, 1000);
        // A stream in the middle of its exchange when the revocation arrives.
        UdpCarrierIT.Collect open = new UdpCarrierIT.Collect();
        TmpStream s = link.openStream(1, "standard", false, open);
        ByteBuf first = ByteBufAllocator.DEFAULT.directBuffer(100);
        first.writeZero(100);
        s.write(first);

        ca.revoke("fe-live", "keyCompromise");
        assertEquals(List.of(), be.updateCrls(ca.crls()));
        assertTrue(link.closeFuture().await(10, TimeUnit.SECONDS), "the revoked peer's link closes");
        assertEquals(1, be.refusedCount("tcp", LinkTls.Stage.RECHECK, "revoked"));
        eventually("the open stream is reset, not left hanging", open.done::isCompletedExceptionally);
        // The front-end reconnects; every new handshake is refused too.
        assertRefused(server, client, be, LinkTls.Stage.HANDSHAKE, "revoked");
    }

    /** The sample line of gauge {@code name} in a scrape. */
    static String gaugeLine(Metrics metrics, String name) {
        return metrics.scrape().lines().filter(l -> l.startsWith(name + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in the scrape"));
    }

    @Test
    void aRenewedCertificateIsUsedByNewLinksWithoutARestart() throws Exception {
        Path own = dir.resolve("renewal");
        BigInteger before = ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), own).entry().serial();
        Metrics beMetrics = new Metrics();
        LinkTls be = tls(own, "be-1", trust, PeerIdentity.FRONT_END, beMetrics);
        TmpServer server = server(be);
        LinkTls fe = frontEndTls(nodes, "fe-1", new Metrics());
        TmpLink link = client(server, "be-1", "fe-1", fe).awaitLink().get(10, TimeUnit.SECONDS);
        assertEquals(before, presentedSerial(server, fe));
        String expiryBefore = gaugeLine(beMetrics, "braid_link_tls_certificate_expiry_timestamp_seconds");

        java.nio.file.Files.writeString(own.resolve("be-1.key"), "not a key");
        be.checkNow();
        assertEquals("braid_link_tls_certificate_reload_failing 1", gaugeLine(beMetrics,
                "braid_link_tls_certificate_reload_failing"), "a refused renewal shows");
        BigInteger after = ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(91), own).entry().serial();
        assertNotEquals(before, after);
        be.checkNow();
        assertEquals(after, be.self().serial());
        assertEquals("braid_link_tls_certificate_reload_failing 0", gaugeLine(beMetrics,
                "braid_link_tls_certificate_reload_failing"));
        assertNotEquals(expiryBefore, gaugeLine(beMetrics, "braid_link_tls_certificate_expiry_timestamp_seconds"),
                "the expiry of the certificate in use");
        assertEquals(after, presentedSerial(server, fe), "a new connection gets the renewed certificate");
        assertTrue(link.isActive(), "the established link keeps going");
        echo(link, 100_000);
    }

    @Test
    void duringACaRotationBothGenerationsAreAccepted() throws Exception {
        Path caDir = dir.resolve("rotating-ca");
        Path certs = dir.resolve("rotating");
        try (CertificateAuthority rotating = CertificateAuthority.init(caDir, null, Duration.ofDays(3650),
                Clock.systemUTC())) {
            rotating.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), certs);
            rotating.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), certs);
            Path bundle = rotating.trustBundle();
            LinkTls be = tls(certs, "be-1", bundle, PeerIdentity.FRONT_END, new Metrics());
            TmpServer server = server(be);
            TmpLink old = client(server, "be-1", "fe-1", tls(certs, "fe-1", bundle, PeerIdentity.BACK_END, new Metrics()))
                    .awaitLink().get(10, TimeUnit.SECONDS);

            rotating.rotate(null, Duration.ofDays(3650));
            Path newCerts = dir.resolve("rotated");
            rotating.issue(NodeRole.FRONT_END, "fe-2", Duration.ofDays(90), newCerts);
            be.checkNow();
            assertEquals(2, be.tls().verifier().trustAnchors().size(), "old and new CA trusted");
            TmpLink fresh = client(server, "be-1", "fe-2", tls(newCerts, "fe-2", bundle, PeerIdentity.BACK_END,
                    new Metrics())).awaitLink().get(10, TimeUnit.SECONDS);
            echo(fresh, 10_000);
            assertTrue(old.isActive(), "the link of the old generation stays up");
            echo(old, 10_000);
        }
    }

    /** The serial of the certificate the server presents to a new TLS connection (no TMP spoken). */
    private BigInteger presentedSerial(TmpServer server, LinkTls client) throws Exception {
        CompletableFuture<BigInteger> serial = new CompletableFuture<>();
        Channel ch = new Bootstrap()
                .group(loops.group())
                .channel(loops.transport().socketChannel())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SslHandler ssl = client.tls().newClientHandler(ch.alloc(), "be-1");
                        ch.pipeline().addLast(ssl, new ChannelInboundHandlerAdapter() {
                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof SslHandshakeCompletionEvent e) {
                                    if (e.isSuccess()) {
                                        serial.complete(NodeTls.peer(ssl).serial());
                                    } else {
                                        serial.completeExceptionally(e.cause());
                                    }
                                    ctx.close();
                                }
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ((ByteBuf) msg).release();
                            }
                        });
                    }
                })
                .connect(server.localAddress()).syncUninterruptibly().channel();
        try {
            return serial.get(10, TimeUnit.SECONDS);
        } finally {
            ch.close().syncUninterruptibly();
        }
    }

    // ---- what TLS costs ----

    /**
     * Measures, does not assert: one stream of 16 MiB (property {@code braid.tlsBench.mib}) from
     * the front-end to the back-end over loopback, clear and TLS, after a warm-up round each. The
     * numbers go to the test output; docs/security.md quotes them.
     */
    @Test
    void throughputWithAndWithoutTls() throws Exception {
        LinkTls be = backEndTls(new Metrics());
        LinkTls fe = frontEndTls(nodes, "fe-1", new Metrics());
        TmpServer clearServer = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0), TCP, "be-1",
                stream -> new UdpCarrierIT.Source(1));
        resources.add(clearServer);
        TmpServer tlsServer = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0), TCP, "be-1",
                stream -> new UdpCarrierIT.Source(1), be);
        resources.add(tlsServer);
        TmpLink clear = TmpClient.start(loops, clearServer.localAddress(), "be-1", TCP, "fe-1", stream -> null)
                .awaitLink().get(10, TimeUnit.SECONDS);
        TmpLink secure = client(tlsServer, "be-1", "fe-1", fe).awaitLink().get(10, TimeUnit.SECONDS);
        // -Dbraid.tlsBench.mib=256 for a run long enough for the JIT to compile the AES-GCM intrinsics.
        int bytes = Integer.getInteger("braid.tlsBench.mib", 16) << 20;
        send(clear, bytes / 4);
        send(secure, bytes / 4);
        double[] clearRun = send(clear, bytes);
        double[] tlsRun = send(secure, bytes);
        System.out.printf("TMP over TCP on loopback, one stream of %d MiB: clear %.0f Mbit/s (%.1f ms CPU per MiB), "
                        + "TLS 1.3 %.0f Mbit/s (%.1f ms CPU per MiB)%n",
                bytes >> 20, clearRun[0], clearRun[1], tlsRun[0], tlsRun[1]);
        assertTrue(tlsRun[0] > 0 && clearRun[0] > 0);
    }

    /**
     * Sends {@code bytes} on one stream and waits for the back-end's one-byte answer; returns Mbit/s
     * and the CPU time both ends spent per MiB (the machine may be shared: the CPU time says what TLS
     * costs where wall time cannot).
     */
    private static double[] send(TmpLink link, int bytes) throws Exception {
        UdpCarrierIT.Collect answer = new UdpCarrierIT.Collect();
        long cpuBefore = loopCpuNanos();
        long start = System.nanoTime();
        TmpStream s = link.openStream(1, "standard", false, answer);
        int chunk = 1 << 20;
        for (int sent = 0; sent < bytes; sent += chunk) {
            ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(chunk);
            b.writerIndex(chunk);
            if (sent + chunk >= bytes) {
                s.writeAndEnd(b);
            } else {
                s.write(b);
            }
        }
        assertEquals(1, answer.done.get(60, TimeUnit.SECONDS).length);
        double micros = (System.nanoTime() - start) / 1e3;
        double cpuMsPerMib = (loopCpuNanos() - cpuBefore) / 1e6 / (bytes / (double) (1 << 20));
        return new double[] {bytes * 8.0 / micros, cpuMsPerMib};
    }

    /** CPU time of the test's event-loop threads, where both ends of the link run. */
    private static long loopCpuNanos() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long total = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("tcp-tls-it")) {
                total += Math.max(0, mx.getThreadCpuTime(t.getId()));
            }
        }
        return total;
    }
}
