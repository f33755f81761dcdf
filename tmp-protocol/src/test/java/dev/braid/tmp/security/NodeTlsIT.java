package dev.braid.tmp.security;

import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.IssuedFiles;
import dev.braid.managers.pki.NodeRole;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * TLS between two nodes over a loopback TCP connection, with certificates from the managers' CA:
 * the valid peer is accepted and named, every kind of bad peer is refused during the handshake.
 */
@ExtendWith(PooledMemoryBaseline.class)
class NodeTlsIT {

    private static final Set<String> FRONT_ENDS = Set.of(PeerIdentity.FRONT_END);
    private static final Set<String> BACK_ENDS = Set.of(PeerIdentity.BACK_END);

    @TempDir
    static Path dir;
    private static EventLoops loops;
    private static Path nodes;
    private static Path trust;

    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeAll
    static void issueCertificates() throws Exception {
        loops = EventLoops.create("tls-it", Transport.NIO, 2);
        nodes = dir.resolve("nodes");
        Path ca = dir.resolve("ca");
        Instant longAgo = Instant.now().minus(Duration.ofDays(200));
        // A certificate issued 200 days ago for 90 days: expired now, by the CA everyone trusts.
        try (CertificateAuthority past = CertificateAuthority.init(ca, null, Duration.ofDays(3650),
                Clock.fixed(longAgo, ZoneOffset.UTC))) {
            past.issue(NodeRole.FRONT_END, "fe-old", Duration.ofDays(90), nodes);
        }
        try (CertificateAuthority now = CertificateAuthority.open(ca, Clock.systemUTC())) {
            now.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), nodes);
            now.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), nodes);
            now.issue(NodeRole.FRONT_END, "fe-2", Duration.ofDays(90), nodes);
            now.issue(NodeRole.REDIRECTOR, "rd-1", Duration.ofDays(90), nodes);
            trust = now.trustBundle();
        }
        try (CertificateAuthority other = CertificateAuthority.init(dir.resolve("other-ca"), null, Duration.ofDays(3650),
                Clock.systemUTC())) {
            // Same subject as the real CA ("Braid CA 1"), different key: only the signature tells them apart.
            other.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), dir.resolve("stranger"));
        }
    }

    @AfterAll
    static void closeLoops() {
        loops.close();
    }

    @AfterEach
    void closeResources() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private static NodeTls tls(Path certDir, String name, Set<String> accepts) throws Exception {
        NodeIdentity identity = NodeIdentity.load(certDir.resolve(name + ".crt"), certDir.resolve(name + ".key"));
        return NodeTls.create(identity, PeerVerifier.load(trust, accepts, Clock.systemUTC()));
    }

    // ---- the two ends ----

    /** A TLS server that reports each handshake's outcome and answers "hello <peer>" to whatever it reads. */
    private final class Server implements AutoCloseable {
        final BlockingQueue<Object> outcomes = new LinkedBlockingQueue<>();
        final BlockingQueue<SslHandler> handlers = new LinkedBlockingQueue<>();
        final Channel channel;

        Server(NodeTls tls) {
            channel = new ServerBootstrap()
                    .group(loops.group())
                    .channel(loops.transport().serverSocketChannel())
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            SslHandler ssl = tls.newServerHandler(ch.alloc());
                            handlers.add(ssl);
                            ch.pipeline().addLast(ssl, new ChannelInboundHandlerAdapter() {
                                @Override
                                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                    if (evt instanceof SslHandshakeCompletionEvent e) {
                                        outcomes.add(e.isSuccess() ? NodeTls.peer(ssl) : e.cause());
                                    }
                                }

                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ((ByteBuf) msg).release();
                                    ctx.writeAndFlush(ByteBufUtil.writeAscii(ctx.alloc(), "hello " + NodeTls.peer(ssl)));
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    ctx.close();
                                }
                            });
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
            resources.add(this);
        }

        InetSocketAddress address() {
            return (InetSocketAddress) channel.localAddress();
        }

        Object outcome() throws InterruptedException {
            Object o = outcomes.poll(10, TimeUnit.SECONDS);
            if (o == null) {
                fail("the server saw no handshake end");
            }
            return o;
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    /** What a client saw: its handshake's outcome and the server's answer (or why none came). */
    private record Seen(Object handshake, String reply, SslHandler ssl, Channel channel) {
    }

    private Seen connect(InetSocketAddress server, java.util.function.Function<Channel, SslHandler> tls) throws Exception {
        CompletableFuture<Object> handshake = new CompletableFuture<>();
        CompletableFuture<String> reply = new CompletableFuture<>();
        SslHandler[] ssl = new SslHandler[1];
        Channel ch = new Bootstrap()
                .group(loops.group())
                .channel(loops.transport().socketChannel())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ssl[0] = tls.apply(ch);
                        ch.pipeline().addLast(ssl[0], new ChannelInboundHandlerAdapter() {
                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof SslHandshakeCompletionEvent e) {
                                    if (e.isSuccess()) {
                                        handshake.complete(e);
                                        ctx.writeAndFlush(ByteBufUtil.writeAscii(ctx.alloc(), "ping"));
                                    } else {
                                        handshake.complete(e.cause());
                                    }
                                }
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ByteBuf b = (ByteBuf) msg;
                                try {
                                    reply.complete(b.toString(StandardCharsets.US_ASCII));
                                } finally {
                                    b.release();
                                }
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                reply.complete("error: " + cause);
                                ctx.close();
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                handshake.complete("closed");
                                reply.complete("closed");
                            }
                        });
                    }
                })
                .connect(server).syncUninterruptibly().channel();
        resources.add(() -> ch.close().syncUninterruptibly());
        Object h = handshake.get(10, TimeUnit.SECONDS);
        String r = reply.get(10, TimeUnit.SECONDS);
        return new Seen(h, r, ssl[0], ch);
    }

    private Seen connect(InetSocketAddress server, NodeTls client, String expectedName) throws Exception {
        return connect(server, ch -> client.newClientHandler(ch.alloc(), expectedName));
    }

    private static PeerRejectedException rejection(Object outcome) {
        for (Throwable t = outcome instanceof Throwable th ? th : null; t != null; t = t.getCause()) {
            if (t instanceof PeerRejectedException p) {
                return p;
            }
        }
        throw new AssertionError("expected a refused peer, got: " + outcome);
    }

    /** The client is refused by the server: its handshake may have ended on its side, but no answer ever comes. */
    private void assertClientRefused(NodeTls client, PeerRejectedException.Reason reason, String messagePart)
            throws Exception {
        Server server = new Server(tls(nodes, "be-1", FRONT_ENDS));
        Seen seen = connect(server.address(), client, "be-1");
        PeerRejectedException refused = rejection(server.outcome());
        assertEquals(reason, refused.reason(), refused.getMessage());
        assertTrue(refused.getMessage().contains(messagePart), refused.getMessage());
        assertFalse(seen.reply().startsWith("hello"), seen.reply());
        assertTrue(seen.channel().closeFuture().await(5, TimeUnit.SECONDS), "the refused client is disconnected");
    }

    // ---- the tests ----

    @Test
    void aFrontEndAndABackEndAuthenticateEachOther() throws Exception {
        Server server = new Server(tls(nodes, "be-1", FRONT_ENDS));
        Seen seen = connect(server.address(), tls(nodes, "fe-1", BACK_ENDS), "be-1");
        assertEquals("hello front-end fe-1", seen.reply());
        PeerIdentity onServer = (PeerIdentity) server.outcome();
        assertEquals("front-end", onServer.role());
        assertEquals("fe-1", onServer.name());
        assertEquals("back-end", NodeTls.peerRole(seen.ssl()));
        assertEquals("be-1", NodeTls.peerName(seen.ssl()));
        assertEquals(NodeTls.PROTOCOL, seen.ssl().engine().getSession().getProtocol());
    }

    @Test
    void aPeerFromAnUnknownCaIsRefused() throws Exception {
        assertClientRefused(tls(dir.resolve("stranger"), "fe-1", BACK_ENDS), PeerRejectedException.Reason.UNKNOWN_CA,
                "not issued by a CA of the trust bundle");
    }

    @Test
    void anExpiredPeerIsRefused() throws Exception {
        assertClientRefused(tls(nodes, "fe-old", BACK_ENDS), PeerRejectedException.Reason.EXPIRED, "expired at");
    }

    @Test
    void aRevokedPeerIsRefusedAndAnEstablishedLinkToItFailsItsRecheck() throws Exception {
        NodeTls backEnd = tls(nodes, "be-1", FRONT_ENDS);
        Server server = new Server(backEnd);
        Seen before = connect(server.address(), tls(nodes, "fe-2", BACK_ENDS), "be-1");
        assertEquals("hello front-end fe-2", before.reply());
        SslHandler established = server.handlers.poll(5, TimeUnit.SECONDS);
        server.outcome();
        assertTrue(backEnd.recheck(established).isEmpty());

        List<String> crls;
        try (CertificateAuthority ca = CertificateAuthority.open(dir.resolve("ca"), Clock.systemUTC())) {
            ca.revoke("fe-2", "keyCompromise");
            crls = ca.crls();
        }
        assertEquals(List.of(), backEnd.verifier().updateCrls(crls));
        PeerRejectedException recheck = backEnd.recheck(established).orElseThrow();
        assertEquals(PeerRejectedException.Reason.REVOKED, recheck.reason(), recheck.getMessage());

        Seen after = connect(server.address(), tls(nodes, "fe-2", BACK_ENDS), "be-1");
        PeerRejectedException refused = rejection(server.outcome());
        assertEquals(PeerRejectedException.Reason.REVOKED, refused.reason());
        assertTrue(refused.getMessage().startsWith("peer front-end fe-2 (certificate "), refused.getMessage());
        assertFalse(after.reply().startsWith("hello"), after.reply());
        assertEquals("hello front-end fe-1", connect(server.address(), tls(nodes, "fe-1", BACK_ENDS), "be-1").reply(),
                "other front-ends are unaffected");
    }

    @Test
    void aPeerOfTheWrongRoleIsRefusedOnEitherSide() throws Exception {
        assertClientRefused(tls(nodes, "rd-1", BACK_ENDS), PeerRejectedException.Reason.WRONG_ROLE,
                "role redirector (expected: front-end)");

        // A front-end posing as a back-end: the connecting front-end refuses it.
        Server impostor = new Server(tls(nodes, "fe-2", FRONT_ENDS));
        Seen seen = connect(impostor.address(), tls(nodes, "fe-1", BACK_ENDS), null);
        PeerRejectedException refused = rejection(seen.handshake());
        assertEquals(PeerRejectedException.Reason.WRONG_ROLE, refused.reason(), refused.getMessage());
        assertNotEquals("hello", seen.reply());
    }

    @Test
    void aClientRefusesABackEndOtherThanTheOneItDialled() throws Exception {
        Server server = new Server(tls(nodes, "be-1", FRONT_ENDS));
        Seen seen = connect(server.address(), tls(nodes, "fe-1", BACK_ENDS), "be-2");
        PeerRejectedException refused = rejection(seen.handshake());
        assertEquals(PeerRejectedException.Reason.WRONG_NAME, refused.reason());
        assertTrue(refused.getMessage().endsWith("name be-1 (expected: be-2)"), refused.getMessage());
    }

    @Test
    void aClientWithoutACertificateOrWithoutTls13IsRefused() throws Exception {
        Server server = new Server(tls(nodes, "be-1", FRONT_ENDS));
        SslContext anonymous = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                .trustManager(InsecureTrustManagerFactory.INSTANCE).protocols("TLSv1.3").build();
        Seen noCert = connect(server.address(), ch -> anonymous.newHandler(ch.alloc()));
        assertInstanceOf(Throwable.class, server.outcome(), "the server's handshake fails");
        assertFalse(noCert.reply().startsWith("hello"), noCert.reply());

        SslContext old = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                .trustManager(InsecureTrustManagerFactory.INSTANCE).protocols("TLSv1.2").build();
        Seen tls12 = connect(server.address(), ch -> old.newHandler(ch.alloc()));
        assertInstanceOf(Throwable.class, tls12.handshake(), "TLS 1.2 is not offered");
        assertInstanceOf(Throwable.class, server.outcome());
    }

    @Test
    void aRenewedCertificateIsPresentedToNewConnectionsWithoutARestart() throws Exception {
        Path own = dir.resolve("renewal");
        try (CertificateAuthority ca = CertificateAuthority.open(dir.resolve("ca"), Clock.systemUTC())) {
            ca.issue(NodeRole.BACK_END, "be-9", Duration.ofDays(90), own);
        }
        NodeTls backEnd = tls(own, "be-9", FRONT_ENDS);
        Server server = new Server(backEnd);
        Seen first = connect(server.address(), tls(nodes, "fe-1", BACK_ENDS), "be-9");
        server.outcome();
        var firstSerial = NodeTls.peer(first.ssl()).serial();

        ScheduledExecutorService files = Executors.newSingleThreadScheduledExecutor();
        resources.add(files::shutdownNow);
        ScheduledFuture<?> watching = backEnd.reloadEvery(files, Duration.ofMillis(50));
        resources.add(() -> watching.cancel(false));
        var renewed = renew("be-9", own);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!backEnd.identity().current().self().serial().equals(renewed.entry().serial())
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(renewed.entry().serial(), backEnd.identity().current().self().serial(), "the watcher reloaded");

        Seen second = connect(server.address(), tls(nodes, "fe-1", BACK_ENDS), "be-9");
        server.outcome();
        assertEquals(renewed.entry().serial(), NodeTls.peer(second.ssl()).serial());
        assertNotEquals(firstSerial, NodeTls.peer(second.ssl()).serial());
        assertTrue(first.channel().isActive(), "the connection made before the renewal is still up");
        assertEquals(firstSerial, NodeTls.peer(first.ssl()).serial());
    }

    @Test
    void duringACaRotationBothCasAreTrustedUntilTheOldOneIsRetired() throws Exception {
        Path rotated = dir.resolve("rotation");
        Path ca2 = dir.resolve("ca-rotating");
        Path fromOld;
        try (CertificateAuthority ca = CertificateAuthority.init(ca2, null, Duration.ofDays(3650), Clock.systemUTC())) {
            ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), rotated);
            ca.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), rotated.resolve("old"));
            fromOld = rotated.resolve("old");
        }
        NodeTls backEnd = NodeTls.create(
                NodeIdentity.load(rotated.resolve("be-1.crt"), rotated.resolve("be-1.key")),
                PeerVerifier.load(ca2.resolve("trust.pem"), FRONT_ENDS, Clock.systemUTC()));
        Server server = new Server(backEnd);
        try (CertificateAuthority ca = CertificateAuthority.open(ca2, Clock.systemUTC())) {
            ca.rotate(null, Duration.ofDays(3650));
            ca.issue(NodeRole.FRONT_END, "fe-3", Duration.ofDays(90), rotated.resolve("new"));
        }
        assertTrue(backEnd.verifier().reloadIfChanged());
        assertEquals(2, backEnd.verifier().trustAnchors().size());
        PeerVerifier clientTrust = PeerVerifier.load(ca2.resolve("trust.pem"), BACK_ENDS, Clock.systemUTC());
        NodeTls newFrontEnd = NodeTls.create(NodeIdentity.load(rotated.resolve("new/fe-3.crt"),
                rotated.resolve("new/fe-3.key")), clientTrust);
        NodeTls oldFrontEnd = NodeTls.create(NodeIdentity.load(fromOld.resolve("fe-1.crt"),
                fromOld.resolve("fe-1.key")), clientTrust);
        assertEquals("hello front-end fe-3", connect(server.address(), newFrontEnd, "be-1").reply());
        server.outcome();
        assertEquals("hello front-end fe-1", connect(server.address(), oldFrontEnd, "be-1").reply());
        server.outcome();

        try (CertificateAuthority ca = CertificateAuthority.open(ca2, Clock.systemUTC())) {
            ca.retire(null, true);
        }
        assertTrue(backEnd.verifier().reloadIfChanged());
        Seen seen = connect(server.address(), oldFrontEnd, "be-1");
        assertEquals(PeerRejectedException.Reason.UNKNOWN_CA, rejection(server.outcome()).reason());
        assertFalse(seen.reply().startsWith("hello"));
    }

    private static IssuedFiles renew(String name, Path out) throws Exception {
        try (CertificateAuthority ca = CertificateAuthority.open(dir.resolve("ca"), Clock.systemUTC())) {
            return ca.issue(NodeRole.BACK_END, name, Duration.ofDays(90), out);
        }
    }
}
