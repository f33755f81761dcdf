package dev.braid.tmp.security;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.WeakHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * TLS for the TMP link's TCP carrier: mutual authentication with certificates of the Braid CA.
 *
 * <ul>
 *   <li>TLS 1.3 only, the JDK's provider; both sides present a certificate (client auth required).</li>
 *   <li>Trust is pinned to the trust bundle of {@link PeerVerifier}, never the system's roots;
 *       the peer's chain, validity, revocation, role and (for a client) name are checked during the
 *       handshake, so a refused peer never gets to send a TMP byte.</li>
 *   <li>Key, certificate and trust bundle are looked up per handshake, so a reloaded
 *       {@link NodeIdentity} or trust bundle applies to the next connection without rebuilding
 *       anything; established connections keep what they negotiated (see {@link #recheck}).</li>
 *   <li>Session resumption is disabled in effect (sessions time out after one second, and the
 *       client never offers one): every handshake verifies the peer afresh, so a revocation is
 *       never skipped by resuming a session from before it. A server also verifies the peer once
 *       more when the handshake completes, and closes the channel when that fails.</li>
 * </ul>
 *
 * <p>Use: {@code ch.pipeline().addFirst(tls.newServerHandler(ch.alloc()))} on an accepted channel,
 * {@code tls.newClientHandler(ch.alloc(), "be-1")} on a connecting one; start the link on
 * {@code SslHandshakeCompletionEvent.SUCCESS} while the channel is still active; read the peer
 * with {@link #peer(SslHandler)}.
 */
public final class NodeTls {

    private static final Logger log = LoggerFactory.getLogger(NodeTls.class);

    public static final String PROTOCOL = "TLSv1.3";
    /** How long a handshake may take before the connection is closed. */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** Placeholder expectation: the client accepts any node of an accepted role. */
    private static final String ANY_NAME = "";
    private static final String ALIAS_PREFIX = "braid-node-";

    private final NodeIdentity identity;
    private final PeerVerifier verifier;
    private final SslContext server;
    private final SslContext client;
    /** What each client engine expects its server to be; the trust manager reads it during the handshake. */
    private final Map<SSLEngine, String> expectations = Collections.synchronizedMap(new WeakHashMap<>());

    private NodeTls(NodeIdentity identity, PeerVerifier verifier) throws SSLException {
        this.identity = Objects.requireNonNull(identity, "identity");
        this.verifier = Objects.requireNonNull(verifier, "verifier");
        IdentityKeyManager keys = new IdentityKeyManager();
        PeerTrustManager trust = new PeerTrustManager();
        this.server = SslContextBuilder.forServer(keys)
                .trustManager(trust)
                .clientAuth(ClientAuth.REQUIRE)
                .protocols(PROTOCOL)
                .sslProvider(SslProvider.JDK)
                .sessionTimeout(1)
                .build();
        this.client = SslContextBuilder.forClient()
                .keyManager(keys)
                .trustManager(trust)
                .protocols(PROTOCOL)
                .sslProvider(SslProvider.JDK)
                // The trust manager checks the peer's Braid name; host names mean nothing here.
                .endpointIdentificationAlgorithm(null)
                .sessionTimeout(1)
                .build();
    }

    /**
     * TLS for a node with {@code identity} that accepts the peers {@code verifier} accepts.
     *
     * @throws SSLException when the JDK cannot provide TLS 1.3
     */
    public static NodeTls create(NodeIdentity identity, PeerVerifier verifier) throws SSLException {
        return new NodeTls(identity, verifier);
    }

    public NodeIdentity identity() {
        return identity;
    }

    public PeerVerifier verifier() {
        return verifier;
    }

    /** The handler for an accepted connection: this node is the TLS server and requires the peer's certificate. */
    public SslHandler newServerHandler(ByteBufAllocator alloc) {
        SslHandler handler = server.newHandler(alloc);
        handler.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT.toMillis());
        handler.handshakeFuture().addListener(f -> {
            if (f.isSuccess()) {
                Optional<PeerRejectedException> refused = recheck(handler);
                if (refused.isPresent()) {
                    Channel ch = (Channel) f.getNow();
                    log.warn("TLS from {}: {}", ch.remoteAddress(), refused.get().getMessage());
                    ch.close();
                }
            }
        });
        return handler;
    }

    /**
     * The handler for a connection this node makes: it is the TLS client and accepts only a server
     * whose certificate names {@code expectedPeerName} (null: any node of an accepted role).
     */
    public SslHandler newClientHandler(ByteBufAllocator alloc, String expectedPeerName) {
        // No peer host: the JDK then never offers a cached session, so each handshake is verified in full.
        SSLEngine engine = client.newEngine(alloc);
        expectations.put(engine, expectedPeerName == null ? ANY_NAME : expectedPeerName);
        SslHandler handler = new SslHandler(engine);
        handler.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT.toMillis());
        return handler;
    }

    /**
     * Who the peer of a completed handshake is, by its certificate.
     *
     * @throws IllegalStateException before the handshake completed
     */
    public static PeerIdentity peer(SslHandler handler) {
        try {
            return PeerIdentity.of(peerChain(handler.engine().getSession()).get(0));
        } catch (SSLPeerUnverifiedException | PeerRejectedException e) {
            throw new IllegalStateException("no verified peer: " + e.getMessage(), e);
        }
    }

    /** The peer's role, such as {@code front-end}; see {@link #peer}. */
    public static String peerRole(SslHandler handler) {
        return peer(handler).role();
    }

    /** The peer's node name, such as {@code fe-1}; see {@link #peer}. */
    public static String peerName(SslHandler handler) {
        return peer(handler).name();
    }

    /**
     * Checks the peer of an established connection again, now: against today's trust bundle, CRLs
     * and clock. A link stays up for days, so a carrier calls this when the configuration brings
     * new CRLs, when the trust bundle changes, and periodically for expiry, and closes the link
     * when it returns a reason.
     *
     * @return why the peer is no longer acceptable, or empty when it still is
     */
    public Optional<PeerRejectedException> recheck(SslHandler handler) {
        SSLEngine engine = handler.engine();
        try {
            List<X509Certificate> chain = peerChain(engine.getSession());
            if (engine.getUseClientMode()) {
                String expected = expectations.get(engine);
                verifier.verify(chain, PeerVerifier.PeerSide.SERVER,
                        expected == null || expected.equals(ANY_NAME) ? null : expected);
            } else {
                verifier.verify(chain, PeerVerifier.PeerSide.CLIENT, null);
            }
            return Optional.empty();
        } catch (PeerRejectedException e) {
            return Optional.of(e);
        } catch (SSLPeerUnverifiedException e) {
            return Optional.of(new PeerRejectedException(PeerRejectedException.Reason.UNKNOWN_CA,
                    "no verified peer certificate: " + e.getMessage(), e));
        }
    }

    /**
     * Checks the identity files and the trust bundle for changes every {@code interval}
     * ({@code pki.reloadCheckSeconds}) on {@code executor}, which must not be an event loop: the
     * check reads files. Cancel the returned future to stop.
     */
    public ScheduledFuture<?> reloadEvery(ScheduledExecutorService executor, Duration interval) {
        long ms = interval.toMillis();
        return executor.scheduleWithFixedDelay(() -> {
            try {
                identity.reloadIfChanged();
                verifier.reloadIfChanged();
            } catch (RuntimeException e) {
                log.warn("checking key and certificate files failed: {}", e.toString());
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    private static List<X509Certificate> peerChain(SSLSession session) throws SSLPeerUnverifiedException {
        List<X509Certificate> chain = new ArrayList<>();
        for (Certificate c : session.getPeerCertificates()) {
            if (c instanceof X509Certificate x) {
                chain.add(x);
            }
        }
        if (chain.isEmpty()) {
            throw new SSLPeerUnverifiedException("the peer sent no X.509 certificate");
        }
        return chain;
    }

    /** Presents the current {@link NodeIdentity}; the alias names its generation, so chain and key always match. */
    private final class IdentityKeyManager extends X509ExtendedKeyManager {

        private String aliasFor(String keyType) {
            NodeIdentity.Snapshot s = identity.current();
            return fits(s.key().getAlgorithm(), keyType) ? ALIAS_PREFIX + s.generation() : null;
        }

        private NodeIdentity.Snapshot snapshot(String alias) {
            if (alias == null || !alias.startsWith(ALIAS_PREFIX)) {
                return null;
            }
            try {
                return identity.generation(Long.parseLong(alias.substring(ALIAS_PREFIX.length())));
            } catch (NumberFormatException e) {
                return null;
            }
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return aliasFor(keyType);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
            for (String t : keyTypes) {
                String alias = aliasFor(t);
                if (alias != null) {
                    return alias;
                }
            }
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return aliasFor(keyType);
        }

        @Override
        public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
            return chooseEngineClientAlias(keyTypes, issuers, null);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            String alias = aliasFor(keyType);
            return alias == null ? null : new String[] {alias};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return getServerAliases(keyType, issuers);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            NodeIdentity.Snapshot s = snapshot(alias);
            return s == null ? null : s.chain().toArray(new X509Certificate[0]);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            NodeIdentity.Snapshot s = snapshot(alias);
            return s == null ? null : s.key();
        }

        /** Whether a key of {@code algorithm} can serve the JSSE key type {@code keyType}. */
        private static boolean fits(String algorithm, String keyType) {
            return algorithm.equals(keyType)
                    || algorithm.equals("RSA") && keyType.equals("RSASSA-PSS")
                    || algorithm.equals("Ed25519") && keyType.equals("EdDSA");
        }
    }

    /** Hands every peer chain to the {@link PeerVerifier}; the system's trusted roots play no part. */
    private final class PeerTrustManager extends X509ExtendedTrustManager {

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            verifier.verify(List.of(chain), PeerVerifier.PeerSide.CLIENT, null);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            String expected = engine == null ? null : expectations.get(engine);
            if (expected == null) {
                // Fail closed: every client engine is made by newClientHandler, which records an expectation.
                throw new CertificateException("TLS client engine not made by NodeTls.newClientHandler");
            }
            verifier.verify(List.of(chain), PeerVerifier.PeerSide.SERVER, expected.equals(ANY_NAME) ? null : expected);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            verifier.verify(List.of(chain), PeerVerifier.PeerSide.CLIENT, null);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkServerTrusted(chain, authType, (SSLEngine) null);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            verifier.verify(List.of(chain), PeerVerifier.PeerSide.CLIENT, null);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            checkServerTrusted(chain, authType, (SSLEngine) null);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return verifier.trustAnchors().toArray(new X509Certificate[0]);
        }
    }
}
