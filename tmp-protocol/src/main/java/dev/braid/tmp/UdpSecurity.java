package dev.braid.tmp;

import dev.braid.runtime.Metrics;
import dev.braid.tmp.noise.StatelessReset;
import dev.braid.tmp.noise.X25519Keys;
import dev.braid.tmp.security.NodeIdentity;
import dev.braid.tmp.security.PeerIdentity;
import dev.braid.tmp.security.PeerRejectedException;
import dev.braid.tmp.security.PeerVerifier;
import dev.braid.tmp.security.TmpStaticKeys;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The security of a node's UDP carrier (docs/security.md, "The UDP carrier: Noise IK"): its X25519
 * static key and the certificate that certifies it, the {@link PeerVerifier} that judges peers, the
 * key-update limits, and counters of what was dropped. Given to the carrier through
 * {@link DatagramSettings#security()}; without it the carrier speaks plain text.
 *
 * <p>An initiator (a front-end) also needs the responder's static key in advance: {@link #towards}
 * takes it from the responder's certificate, checked like any peer's (CA, validity, revocation,
 * role back-end, the expected name) when the link is configured. Immutable but for the counters
 * (thread-safe); one instance is shared by every link of a node.
 */
public final class UdpSecurity {

    public static final long DEFAULT_KEY_UPDATE_PACKETS = 1L << 20;
    public static final Duration DEFAULT_KEY_UPDATE_INTERVAL = Duration.ofSeconds(120);
    /** The largest certificate a handshake carries (message payloads stay within one datagram). */
    static final int MAX_CERTIFICATE_BYTES = 2048;

    /** Why a datagram was dropped; the label of {@code braid_tmp_packets_dropped_total}. */
    public enum Drop {
        /** Shorter than its header and tag. */
        TRUNCATED("truncated"),
        /** Failed authentication: tampered, forged, or under a key no longer held. */
        UNDECRYPTABLE("undecryptable"),
        /** Authenticated, but its packet number was seen before or is older than the replay window. */
        REPLAY("replay"),
        /** An INITIAL without a valid address token: answered with a RETRY, nothing kept. */
        NO_TOKEN("no_token"),
        /** A handshake message that failed (bad Noise message, unknown static key). */
        HANDSHAKE("handshake"),
        /** A handshake whose certificate the verifier refused (unknown CA, expired, revoked, wrong role or name). */
        PEER_REFUSED("peer_refused");

        final String label;

        Drop(String label) {
            this.label = label;
        }
    }

    private final X25519Keys staticKey;
    private final X509Certificate certificate;
    private final byte[] certificateDer;
    private final PeerVerifier verifier;
    private final String peerName;
    private final byte[] peerStaticKey;
    private final long keyUpdatePackets;
    private final Duration keyUpdateInterval;
    private final SecureRandom random;
    private final Map<Drop, LongAdder> drops;
    private final Map<PeerRejectedException.Reason, LongAdder> refusals;
    /**
     * The newest initiation timestamp accepted per initiator static key (hex): a message 1 not newer
     * is a replay (WireGuard's defence for IK, whose first message a responder cannot tell from a
     * copy). One entry per front-end that completed a handshake, never per packet or source.
     */
    private final Map<String, Long> latestInitiation;
    private final Clock clock;
    private final LongAdder keyUpdates;
    private final StatelessReset statelessReset;
    /** Stateless resets sent (answers to packets of unknown links) and received (links closed by one). */
    private final LongAdder resetsSent;
    private final LongAdder resetsReceived;

    private UdpSecurity(X25519Keys staticKey, X509Certificate certificate, PeerVerifier verifier, String peerName,
                        byte[] peerStaticKey, long keyUpdatePackets, Duration keyUpdateInterval, SecureRandom random,
                        Map<Drop, LongAdder> drops, Map<PeerRejectedException.Reason, LongAdder> refusals,
                        Map<String, Long> latestInitiation, Clock clock, LongAdder keyUpdates, LongAdder resetsSent,
                        LongAdder resetsReceived) {
        this.staticKey = staticKey;
        this.certificate = certificate;
        try {
            this.certificateDer = certificate.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalArgumentException("certificate: cannot be encoded", e);
        }
        if (certificateDer.length > MAX_CERTIFICATE_BYTES) {
            throw new IllegalArgumentException("certificate: " + certificateDer.length + " bytes (expected: <= "
                    + MAX_CERTIFICATE_BYTES + ")");
        }
        this.verifier = verifier;
        this.peerName = peerName;
        this.peerStaticKey = peerStaticKey;
        if (keyUpdatePackets < 16) {
            throw new IllegalArgumentException("keyUpdatePackets: " + keyUpdatePackets + " (expected: >= 16)");
        }
        if (keyUpdateInterval == null || keyUpdateInterval.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("keyUpdateInterval: " + keyUpdateInterval + " (expected: >= 1 s)");
        }
        this.keyUpdatePackets = keyUpdatePackets;
        this.keyUpdateInterval = keyUpdateInterval;
        this.random = random;
        this.drops = drops;
        this.refusals = refusals;
        this.latestInitiation = latestInitiation;
        this.clock = clock;
        this.keyUpdates = keyUpdates;
        this.statelessReset = StatelessReset.fromStaticKey(staticKey);
        this.resetsSent = resetsSent;
        this.resetsReceived = resetsReceived;
    }

    /**
     * A node's UDP security.
     *
     * @param staticKey   this node's X25519 static key
     * @param certificate this node's certificate, which must certify {@code staticKey}
     * @param verifier    judges peers: trust bundle, CRLs, accepted roles
     */
    public static UdpSecurity of(X25519Keys staticKey, X509Certificate certificate, PeerVerifier verifier) {
        byte[] certified;
        try {
            certified = TmpStaticKeys.certifiedKey(certificate);
        } catch (PeerRejectedException e) {
            throw new IllegalArgumentException("certificate: " + e.getMessage(), e);
        }
        if (!java.util.Arrays.equals(certified, staticKey.publicKey())) {
            throw new IllegalArgumentException("staticKey: " + staticKey + " (expected: the key certificate "
                    + certificate.getSerialNumber().toString(16) + " certifies)");
        }
        Map<Drop, LongAdder> drops = new EnumMap<>(Drop.class);
        for (Drop d : Drop.values()) {
            drops.put(d, new LongAdder());
        }
        Map<PeerRejectedException.Reason, LongAdder> refusals = new EnumMap<>(PeerRejectedException.Reason.class);
        for (PeerRejectedException.Reason r : PeerRejectedException.Reason.values()) {
            refusals.put(r, new LongAdder());
        }
        return new UdpSecurity(staticKey, certificate, verifier, null, null, DEFAULT_KEY_UPDATE_PACKETS,
                DEFAULT_KEY_UPDATE_INTERVAL, new SecureRandom(), drops, refusals,
                new java.util.concurrent.ConcurrentHashMap<>(), Clock.systemUTC(), new LongAdder(), new LongAdder(),
                new LongAdder());
    }

    /**
     * Loads this node's X25519 key beside its key files ({@link NodeIdentity#loadTmpStaticKey}).
     *
     * @throws IOException naming the file and what to do (reissue keys made before UDP encryption)
     */
    public static UdpSecurity load(NodeIdentity identity, PeerVerifier verifier) throws IOException {
        return of(identity.loadTmpStaticKey(), identity.current().certificate(), verifier);
    }

    /**
     * A node's UDP security from its PKI files ({@code pki.certificate}, {@code pki.key},
     * {@code pki.trustBundle}, {@code pki.crls}), or null when the certificate file does not exist:
     * no PKI is set up, and the carrier runs in plain text (and says so loudly).
     *
     * @param acceptedRole the role of the peers this node talks to over TMP
     * @throws IOException when the files exist but cannot be used, naming the file and what to do
     */
    public static UdpSecurity loadNode(Path certificate, Path key, Path trustBundle, List<String> crls,
                                       String acceptedRole) throws IOException {
        if (!Files.exists(certificate)) {
            return null;
        }
        PeerVerifier verifier = PeerVerifier.load(trustBundle, Set.of(acceptedRole), Clock.systemUTC());
        verifier.updateCrls(crls);
        UdpSecurity security = load(NodeIdentity.load(certificate, key), verifier);
        security.warmUp();
        return security;
    }

    /** How a node protects its TMP links ({@code tmp.security}). */
    public enum Mode {
        /** Encrypted where the node has its identity files, plain text (logged loudly) where it has none. */
        AUTO,
        /** Encrypted; a node without its identity refuses to start. */
        REQUIRED,
        /** Plain text on purpose, even where the node has an identity; logged loudly. */
        PLAINTEXT;

        /** {@code auto}, {@code required} or {@code plaintext}. */
        public static Mode parse(String s) {
            for (Mode m : values()) {
                if (m.name().equalsIgnoreCase(s)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("tmp.security: " + s + " (expected: auto, required or plaintext)");
        }
    }

    /**
     * A node's UDP security as {@code tmp.security} asks: {@link #loadNode} with the key-update limits,
     * null for plain text (PLAINTEXT always, AUTO without the certificate file).
     *
     * @throws IOException for REQUIRED without the certificate file, naming it and what to do, and
     *                     whenever {@link #loadNode} throws
     */
    public static UdpSecurity forNode(Mode mode, String role, String name, Path certificate, Path key,
                                      Path trustBundle, List<String> crls, String acceptedRole, long keyUpdatePackets,
                                      Duration keyUpdateInterval) throws IOException {
        if (mode == Mode.PLAINTEXT) {
            org.slf4j.LoggerFactory.getLogger(UdpSecurity.class).warn("{} {}: tmp.security is plaintext: TMP links "
                    + "run in PLAIN TEXT, neither encrypted nor authenticated, by configuration", role, name);
            return null;
        }
        UdpSecurity s = loadNode(certificate, key, trustBundle, crls, acceptedRole);
        if (s == null) {
            if (mode == Mode.REQUIRED) {
                throw new IOException(certificate + ": no certificate of " + role + " " + name + ", and tmp.security is "
                        + "required (expected: the node's certificate and keys from braid keys issue --role " + role
                        + " --name " + name + ", or tmp.security: plaintext to run links in plain text on purpose)");
            }
            return null;
        }
        return s.withKeyUpdate(keyUpdatePackets, keyUpdateInterval);
    }

    /**
     * Runs one handshake with itself and one certificate check, off the event loops: the first
     * handshake of a process otherwise pays for loading and compiling the crypto and PKIX code,
     * which on a busy machine can outlast the UDP handshake timeout.
     */
    void warmUp() {
        try {
            byte[] prologue = new byte[1];
            dev.braid.tmp.noise.NoiseIK i = dev.braid.tmp.noise.NoiseIK.initiator(prologue, staticKey,
                    X25519Keys.generate(random), staticKey.publicKey());
            dev.braid.tmp.noise.NoiseIK r = dev.braid.tmp.noise.NoiseIK.responder(prologue, staticKey,
                    X25519Keys.generate(random));
            r.readMessage(i.writeMessage(certificateDer));
            i.readMessage(r.writeMessage(certificateDer));
            verifier.verify(List.of(certificate), PeerVerifier.PeerSide.CLIENT, null);
        } catch (dev.braid.tmp.noise.NoiseException | PeerRejectedException expected) {
            // Its own role is not one it accepts: the check ran all the same.
        }
    }

    /** {@link #towards(String, X509Certificate)} with the responder's certificate read from {@code certificateFile} (PEM). */
    public UdpSecurity towards(String responderName, Path certificateFile) throws IOException {
        if (!Files.exists(certificateFile)) {
            throw new IOException(certificateFile + ": no certificate of back-end " + responderName + " (expected: a "
                    + "copy of its " + responderName + ".crt, whose X25519 key the front-end needs for the UDP handshake)");
        }
        X509Certificate cert;
        try {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(certificateFile)));
        } catch (CertificateException e) {
            throw new IOException(certificateFile + ": unreadable certificate: " + e.getMessage(), e);
        }
        try {
            return towards(responderName, cert);
        } catch (PeerRejectedException e) {
            throw new IOException(certificateFile + ": " + e.getMessage(), e);
        }
    }

    /** Takes the CRLs of a new configuration ({@link PeerVerifier#updateCrls}); returns what was refused. */
    public List<String> updateCrls(List<String> crls) {
        return verifier.updateCrls(crls);
    }

    /**
     * The security of links to one responder: its static key is the one {@code responderCertificate}
     * certifies, and only that node, by name, is accepted in the handshake.
     *
     * @throws PeerRejectedException when the verifier refuses the certificate (it is checked now, and
     *                               again, as sent by the responder, in every handshake)
     */
    public UdpSecurity towards(String responderName, X509Certificate responderCertificate)
            throws PeerRejectedException {
        verifier.verify(List.of(responderCertificate), PeerVerifier.PeerSide.SERVER, responderName);
        byte[] key = TmpStaticKeys.certifiedKey(responderCertificate);
        return new UdpSecurity(staticKey, certificate, verifier, responderName, key, keyUpdatePackets,
                keyUpdateInterval, random, drops, refusals, latestInitiation, clock, keyUpdates, resetsSent, resetsReceived);
    }

    /** The same with other key-update limits (defaults: 2^20 packets, 120 s). */
    public UdpSecurity withKeyUpdate(long packets, Duration interval) {
        return new UdpSecurity(staticKey, certificate, verifier, peerName, peerStaticKey, packets, interval, random,
                drops, refusals, latestInitiation, clock, keyUpdates, resetsSent, resetsReceived);
    }

    /**
     * The stateless reset tokens of this node's connection ids, derived from its static key: a
     * restarted node with the same key resets the links its previous run had.
     */
    public StatelessReset statelessReset() {
        return statelessReset;
    }

    public long keyUpdatePackets() {
        return keyUpdatePackets;
    }

    public Duration keyUpdateInterval() {
        return keyUpdateInterval;
    }

    /** The responder this security initiates to, or null for a responder's. */
    public String peerName() {
        return peerName;
    }

    X25519Keys staticKey() {
        return staticKey;
    }

    byte[] peerStaticKey() {
        return peerStaticKey;
    }

    SecureRandom random() {
        return random;
    }

    /** The responder's handshake payload: its certificate (DER). Peers hold the CA in their trust bundle. */
    byte[] certificatePayload() {
        return certificateDer.clone();
    }

    /**
     * The initiator's handshake payload: the wall-clock time in milliseconds (u64, a value that only
     * grows, as WireGuard's TAI64N timestamp) then its certificate (DER).
     */
    byte[] initiationPayload() {
        byte[] p = new byte[8 + certificateDer.length];
        long t = clock.millis();
        for (int i = 0; i < 8; i++) {
            p[i] = (byte) (t >>> (56 - 8 * i));
        }
        System.arraycopy(certificateDer, 0, p, 8, certificateDer.length);
        return p;
    }

    /**
     * Responder: whether an authenticated message 1 of the initiator with static key {@code staticKey}
     * is newer than every one accepted before; if so it becomes the newest.
     */
    boolean freshInitiation(byte[] staticKey, byte[] payload) {
        long t = 0;
        for (int i = 0; i < 8; i++) {
            t = (t << 8) | (payload[i] & 0xff);
        }
        long stamp = t;
        boolean[] fresh = {false};
        latestInitiation.compute(java.util.HexFormat.of().formatHex(staticKey), (k, old) -> {
            if (old == null || stamp > old) {
                fresh[0] = true;
                return stamp;
            }
            return old;
        });
        return fresh[0];
    }

    /**
     * Checks the certificate a peer sent in its handshake payload: the verifier's rules, and that it
     * certifies {@code staticKey}, the key the Noise handshake authenticated.
     */
    PeerIdentity verifyPeer(byte[] payload, byte[] staticKey, boolean peerIsInitiator) throws PeerRejectedException {
        X509Certificate cert;
        int skip = peerIsInitiator ? 8 : 0;
        if (payload.length <= skip) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE, "handshake payload of "
                    + payload.length + " bytes (expected: a certificate)");
        }
        try {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(payload, skip, payload.length - skip));
        } catch (CertificateException | ClassCastException e) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE,
                    "handshake payload is no certificate: " + e.getMessage(), e);
        }
        return verifier.verifyStaticKey(List.of(cert), peerIsInitiator ? PeerVerifier.PeerSide.CLIENT
                : PeerVerifier.PeerSide.SERVER, peerIsInitiator ? null : peerName, staticKey);
    }

    void count(Drop drop) {
        drops.get(drop).increment();
    }

    void countRefusal(PeerRejectedException.Reason reason) {
        drops.get(Drop.PEER_REFUSED).increment();
        refusals.get(reason).increment();
    }

    void countReset(boolean sent) {
        (sent ? resetsSent : resetsReceived).increment();
    }

    /** Stateless resets this node sent ({@code sent}) or received, since start. */
    public long statelessResets(boolean sent) {
        return (sent ? resetsSent : resetsReceived).sum();
    }

    void countKeyUpdate() {
        keyUpdates.increment();
    }

    /** Key updates this node's links made in their sending direction, since start. */
    public long keyUpdates() {
        return keyUpdates.sum();
    }

    /** Datagrams dropped for {@code drop} since start, by every link of this node. */
    public long dropped(Drop drop) {
        return drops.get(drop).sum();
    }

    /** Handshakes refused for {@code reason}. */
    public long refused(PeerRejectedException.Reason reason) {
        return refusals.get(reason).sum();
    }

    /**
     * Registers {@code braid_tmp_packets_dropped_total{reason}} and
     * {@code braid_tmp_peers_refused_total{reason}} and {@code braid_tmp_key_updates_total}.
     */
    public void registerMetrics(Metrics metrics) {
        metrics.counters("braid_tmp_packets_dropped_total",
                "UDP datagrams dropped by the TMP security layer, by reason", () -> {
                    Map<List<String>, Double> m = new HashMap<>();
                    drops.forEach((d, n) -> m.put(List.of(d.label), (double) n.sum()));
                    return m;
                }, "reason");
        metrics.counters("braid_tmp_peers_refused_total",
                "UDP handshakes refused for the peer's certificate, by reason", () -> {
                    Map<List<String>, Double> m = new HashMap<>();
                    refusals.forEach((r, n) -> m.put(List.of(r.name().toLowerCase(java.util.Locale.ROOT)),
                            (double) n.sum()));
                    return m;
                }, "reason");
        metrics.counters("braid_tmp_stateless_resets_total",
                "Stateless resets of UDP links: sent for packets of links this node does not know, received from peers"
                        + " that lost a link", () -> Map.of(List.of("sent"), (double) resetsSent.sum(), List.of("received"),
                        (double) resetsReceived.sum()), "direction");
        metrics.counters("braid_tmp_key_updates_total", "Key updates of UDP links in their sending direction",
                () -> Map.of(List.of(), (double) keyUpdates.sum()));
    }

    @Override
    public String toString() {
        return "UDP security (Noise IK, static key " + staticKey + (peerName != null ? ", towards " + peerName : "") + ")";
    }
}
