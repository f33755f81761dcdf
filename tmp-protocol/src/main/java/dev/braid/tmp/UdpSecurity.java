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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.LongAdder;

/**
 * The security of a node's UDP carrier (docs/security.md, "The UDP carrier: Noise IK"): its X25519
 * static key and the certificate that certifies it, the {@link PeerVerifier} that judges peers, the
 * key-update limits, and counters of what was dropped. Given to the carrier through
 * {@link DatagramSettings#security()}; without it the carrier speaks plain text.
 *
 * <p>An initiator (a front-end) also needs the responder's static key in advance: {@link #towards}
 * takes it from the responder's certificate, checked like any peer's (CA, validity, revocation,
 * role back-end, the expected name) when the link is configured, and again whenever the copy
 * changes.
 *
 * <p>Renewal without restart: {@link #reloadIfChanged} (periodically through {@link #checkEvery})
 * reads the node's certificate and X25519 key again, and the responders' certificate copies; new
 * handshakes use what was read, established links keep their session keys. A responder keeps
 * answering handshakes made to its previous static key until that key's certificate expires, so
 * front-ends holding the old copy of its certificate still connect. The same re-check judges every
 * established link's peer again after new CRLs, a new trust bundle, or the passing of time.
 * Thread-safe; the instances derived from one node's ({@link #towards}, {@link #withKeyUpdate})
 * share its keys and counters.
 */
public final class UdpSecurity implements AutoCloseable {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(UdpSecurity.class);

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

    /** This node's key and certificate (current and the one before), shared by every instance derived from one node's. */
    private final NodeKeys keys;
    private final PeerVerifier verifier;
    private final String peerName;
    /** The responder's static key, from a copy of its certificate; null for a responder's security. */
    private final PeerKey peer;
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
    /** Stateless resets sent (answers to packets of unknown links) and received (links closed by one). */
    private final LongAdder resetsSent;
    private final LongAdder resetsReceived;

    private UdpSecurity(NodeKeys keys, PeerVerifier verifier, String peerName, PeerKey peer, long keyUpdatePackets,
                        Duration keyUpdateInterval, SecureRandom random, Map<Drop, LongAdder> drops,
                        Map<PeerRejectedException.Reason, LongAdder> refusals, Map<String, Long> latestInitiation,
                        Clock clock, LongAdder keyUpdates, LongAdder resetsSent, LongAdder resetsReceived) {
        this.keys = keys;
        this.verifier = verifier;
        this.peerName = peerName;
        this.peer = peer;
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
        this.resetsSent = resetsSent;
        this.resetsReceived = resetsReceived;
    }

    /** A copy with another responder or other key-update limits; everything else is shared. */
    private UdpSecurity with(String peerName, PeerKey peer, long packets, Duration interval) {
        return new UdpSecurity(keys, verifier, peerName, peer, packets, interval, random, drops, refusals,
                latestInitiation, clock, keyUpdates, resetsSent, resetsReceived);
    }

    /**
     * A node's X25519 static key with the certificate that certifies it: what one handshake uses,
     * taken whole so that a renewal in the middle cannot pair a key with another key's certificate.
     */
    static final class Credentials {
        final X25519Keys staticKey;
        final X509Certificate certificate;
        final byte[] certificateDer;
        final StatelessReset statelessReset;

        Credentials(X25519Keys staticKey, X509Certificate certificate) {
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
            try {
                this.certificateDer = certificate.getEncoded();
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalArgumentException("certificate: cannot be encoded", e);
            }
            if (certificateDer.length > MAX_CERTIFICATE_BYTES) {
                throw new IllegalArgumentException("certificate: " + certificateDer.length + " bytes (expected: <= "
                        + MAX_CERTIFICATE_BYTES + ")");
            }
            this.staticKey = staticKey;
            this.certificate = certificate;
            this.statelessReset = StatelessReset.fromStaticKey(staticKey);
        }

        String serial() {
            return certificate.getSerialNumber().toString(16);
        }
    }

    /**
     * The node's own credentials, replaced whole when its files are renewed. The previous ones stay
     * usable by a responder until their certificate expires: an initiator still holding the old copy
     * of this node's certificate (and so its old static key) gets a link instead of a refusal while
     * the new certificate reaches it.
     */
    private static final class NodeKeys {
        /** Null when built from keys in memory ({@link #of}): nothing to reload. */
        final NodeIdentity identity;
        final Path staticKeyFile;
        volatile Credentials current;
        volatile Credentials previous;
        /** Why the files on disk are not in use, or null. */
        volatile String reloadError;
        /** The responders' certificate copies an initiator reads its peers' static keys from, by file. */
        final Map<Path, PeerKey> peers = new java.util.concurrent.ConcurrentHashMap<>();
        /** Called after CRLs, the trust bundle or the clock may have changed a peer's verdict: the carriers re-check their links. */
        final Set<Runnable> recheckHooks = new java.util.concurrent.CopyOnWriteArraySet<>();
        ScheduledExecutorService checks;

        NodeKeys(NodeIdentity identity, Path staticKeyFile, Credentials current) {
            this.identity = identity;
            this.staticKeyFile = staticKeyFile;
            this.current = current;
        }
    }

    /**
     * A responder's static key as an initiator knows it: from the certificate copy at {@code file}
     * (re-read when it changes), or fixed when given in memory.
     */
    private static final class PeerKey {
        final String name;
        final Path file;
        volatile byte[] staticKey;
        volatile String serial;
        byte[] seenDigest;
        volatile String reloadError;

        PeerKey(String name, Path file) {
            this.name = name;
            this.file = file;
        }
    }

    /**
     * A node's UDP security from keys in memory; {@link #reloadIfChanged} has no files to read.
     *
     * @param staticKey   this node's X25519 static key
     * @param certificate this node's certificate, which must certify {@code staticKey}
     * @param verifier    judges peers: trust bundle, CRLs, accepted roles
     */
    public static UdpSecurity of(X25519Keys staticKey, X509Certificate certificate, PeerVerifier verifier) {
        return create(new NodeKeys(null, null, new Credentials(staticKey, certificate)), verifier);
    }

    private static UdpSecurity create(NodeKeys keys, PeerVerifier verifier) {
        Map<Drop, LongAdder> drops = new EnumMap<>(Drop.class);
        for (Drop d : Drop.values()) {
            drops.put(d, new LongAdder());
        }
        Map<PeerRejectedException.Reason, LongAdder> refusals = new EnumMap<>(PeerRejectedException.Reason.class);
        for (PeerRejectedException.Reason r : PeerRejectedException.Reason.values()) {
            refusals.put(r, new LongAdder());
        }
        return new UdpSecurity(keys, verifier, null, null, DEFAULT_KEY_UPDATE_PACKETS,
                DEFAULT_KEY_UPDATE_INTERVAL, new SecureRandom(), drops, refusals,
                new java.util.concurrent.ConcurrentHashMap<>(), Clock.systemUTC(), new LongAdder(), new LongAdder(),
                new LongAdder());
    }

    /**
     * Loads this node's X25519 key beside its key files ({@link NodeIdentity#loadTmpStaticKey});
     * {@link #reloadIfChanged} reads {@code identity}'s files and that key again.
     *
     * @throws IOException naming the file and what to do (reissue keys made before UDP encryption)
     */
    public static UdpSecurity load(NodeIdentity identity, PeerVerifier verifier) throws IOException {
        Credentials c;
        try {
            c = new Credentials(identity.loadTmpStaticKey(), identity.current().certificate());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        return create(new NodeKeys(identity, identity.tmpStaticKeyFile(), c), verifier);
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
        /**
         * Encrypted where the node has its identity files, plain text (logged loudly) where it has
         * neither them nor the trust bundle; the trust bundle without the node's certificate is an error.
         */
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
            if (mode == Mode.AUTO && Files.exists(trustBundle)) {
                // The PKI is deployed on this node but its own certificate is missing: a mistake, not
                // a choice; plain text would let any node that reaches this one open a link.
                throw new IOException(certificate + ": no certificate of " + role + " " + name + ", although the trust "
                        + "bundle " + trustBundle + " is present (expected: the node's certificate and keys from braid "
                        + "keys issue --role " + role + " --name " + name + ", or tmp.security: plaintext to run links in "
                        + "plain text on purpose)");
            }
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
        Credentials c = keys.current;
        try {
            byte[] prologue = new byte[1];
            dev.braid.tmp.noise.NoiseIK i = dev.braid.tmp.noise.NoiseIK.initiator(prologue, c.staticKey,
                    X25519Keys.generate(random), c.staticKey.publicKey());
            dev.braid.tmp.noise.NoiseIK r = dev.braid.tmp.noise.NoiseIK.responder(prologue, c.staticKey,
                    X25519Keys.generate(random));
            r.readMessage(i.writeMessage(c.certificateDer));
            i.readMessage(r.writeMessage(c.certificateDer));
            verifier.verify(List.of(c.certificate), PeerVerifier.PeerSide.CLIENT, null);
        } catch (dev.braid.tmp.noise.NoiseException | PeerRejectedException expected) {
            // Its own role is not one it accepts: the check ran all the same.
        }
    }

    /**
     * The security of links to responder {@code responderName}, whose static key is the one its
     * certificate at {@code certificateFile} (PEM) certifies. The file is read now and again by
     * {@link #reloadIfChanged} whenever its content changes, so a responder's renewed certificate
     * reaches new handshakes without a restart; one copy per file is shared by every call.
     *
     * @throws IOException when the file is missing, unreadable or refused by the verifier, naming it
     */
    public UdpSecurity towards(String responderName, Path certificateFile) throws IOException {
        PeerKey p = keys.peers.computeIfAbsent(certificateFile.toAbsolutePath().normalize(),
                f -> new PeerKey(responderName, f));
        if (!p.name.equals(responderName)) {
            throw new IOException(certificateFile + ": the certificate copy of " + p.name + " (expected: a file of "
                    + responderName + "'s own)");
        }
        synchronized (p) {
            readPeer(p, true);
        }
        return with(responderName, p, keyUpdatePackets, keyUpdateInterval);
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
        PeerKey p = new PeerKey(responderName, null);
        p.staticKey = TmpStaticKeys.certifiedKey(responderCertificate);
        p.serial = responderCertificate.getSerialNumber().toString(16);
        return with(responderName, p, keyUpdatePackets, keyUpdateInterval);
    }

    /**
     * Reads responder certificate copy {@code p.file} when its content changed, and takes its key
     * when the verifier accepts it. With {@code mustHaveKey}, a copy that yields no key at all
     * throws; otherwise a bad copy keeps the key in use and is logged once.
     */
    private void readPeer(PeerKey p, boolean mustHaveKey) throws IOException {
        try {
            if (!Files.exists(p.file)) {
                throw new IOException(p.file + ": no certificate of back-end " + p.name + " (expected: a copy of its "
                        + p.name + ".crt, whose X25519 key the front-end needs for the UDP handshake)");
            }
            byte[] bytes = Files.readAllBytes(p.file);
            byte[] digest;
            try {
                digest = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 unavailable", e);
            }
            if (p.staticKey != null && java.security.MessageDigest.isEqual(digest, p.seenDigest)) {
                return;
            }
            X509Certificate cert;
            try {
                cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(bytes));
            } catch (CertificateException | ClassCastException e) {
                throw new IOException(p.file + ": unreadable certificate: " + e.getMessage(), e);
            }
            try {
                verifier.verify(List.of(cert), PeerVerifier.PeerSide.SERVER, p.name);
                byte[] key = TmpStaticKeys.certifiedKey(cert);
                String serial = cert.getSerialNumber().toString(16);
                if (p.serial != null && !p.serial.equals(serial)) {
                    log.info("UDP carrier: back-end {} now known by certificate {} (was {}), from {}", p.name, serial,
                            p.serial, p.file);
                }
                p.staticKey = key;
                p.serial = serial;
                p.seenDigest = digest;
                p.reloadError = null;
            } catch (PeerRejectedException e) {
                throw new IOException(p.file + ": " + e.getMessage(), e);
            }
        } catch (IOException e) {
            if (mustHaveKey || p.staticKey == null) {
                throw e;
            }
            if (!e.getMessage().equals(p.reloadError)) {
                log.warn("UDP carrier: keeping certificate {} of back-end {}: {}", p.serial, p.name, e.getMessage());
            }
            p.reloadError = e.getMessage();
        }
    }

    /** Takes the CRLs of a new configuration ({@link PeerVerifier#updateCrls}), then re-checks the links; returns what was refused. */
    public List<String> updateCrls(List<String> crls) {
        List<String> problems = verifier.updateCrls(crls);
        recheckLinks();
        return problems;
    }

    /** The same with other key-update limits (defaults: 2^20 packets, 120 s). */
    public UdpSecurity withKeyUpdate(long packets, Duration interval) {
        return with(peerName, peer, packets, interval);
    }

    /**
     * Reads this node's certificate, keys and trust bundle, and the responders' certificate copies,
     * again where their content changed, and takes what forms a valid whole: new handshakes use it,
     * links made before keep their session keys. Files caught half-written (a certificate whose
     * X25519 key is not yet beside it) are refused with the reason and tried again at the next
     * call. Then every link's peer is judged again. Reads files: call it off the event loops.
     *
     * @return whether this node's own credentials changed
     */
    public boolean reloadIfChanged() {
        boolean renewed;
        synchronized (keys) {
            renewed = reloadOwn();
            for (PeerKey p : keys.peers.values()) {
                synchronized (p) {
                    try {
                        readPeer(p, false);
                    } catch (IOException e) {
                        // Only without any key, which towards() refused at the start: nothing to keep.
                    }
                }
            }
        }
        verifier.reloadIfChanged();
        recheckLinks();
        return renewed;
    }

    private boolean reloadOwn() {
        NodeIdentity identity = keys.identity;
        if (identity == null) {
            return false;
        }
        identity.reloadIfChanged();
        X509Certificate cert = identity.current().certificate();
        Credentials now = keys.current;
        if (cert.equals(now.certificate)) {
            keys.reloadError = null;
            return false;
        }
        Credentials next;
        try {
            next = new Credentials(TmpStaticKeys.load(keys.staticKeyFile, cert), cert);
        } catch (IOException | IllegalArgumentException e) {
            if (!e.getMessage().equals(keys.reloadError)) {
                log.warn("UDP carrier {}: keeping certificate {}: {}", identity.self(), now.serial(), e.getMessage());
            }
            keys.reloadError = e.getMessage();
            return false;
        }
        keys.previous = now;
        keys.current = next;
        keys.reloadError = null;
        log.info("UDP carrier {}: now certificate {} (expires {}); certificate {} still answers handshakes until {}",
                identity.self(), next.serial(), next.certificate.getNotAfter().toInstant(), now.serial(),
                now.certificate.getNotAfter().toInstant());
        return true;
    }

    /**
     * Every {@code interval} ({@code pki.reloadCheckSeconds}), on a thread of its own:
     * {@link #reloadIfChanged}. Idempotent; {@link #close} stops it.
     */
    public void checkEvery(Duration interval) {
        synchronized (keys) {
            if (keys.checks != null) {
                return;
            }
            keys.checks = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "braid-udp-keys");
                t.setDaemon(true);
                return t;
            });
            long ms = Math.max(1, interval.toMillis());
            keys.checks.scheduleWithFixedDelay(() -> {
                try {
                    reloadIfChanged();
                } catch (RuntimeException e) {
                    log.warn("UDP carrier: checking key and certificate files failed: {}", e.toString());
                }
            }, ms, ms, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /** Stops {@link #checkEvery}; links and keys stay as they are. */
    @Override
    public void close() {
        synchronized (keys) {
            if (keys.checks != null) {
                keys.checks.shutdownNow();
                keys.checks = null;
            }
        }
    }

    /** Why this node's renewed files are not in use, or null when the files on disk are the ones in use. */
    public String lastReloadError() {
        return keys.reloadError;
    }

    /** The certificate this node's new handshakes send. */
    public X509Certificate certificate() {
        return keys.current.certificate;
    }

    /** The serial (hex) of the responder's certificate an initiator's next handshake expects, or null for a responder. */
    public String peerCertificateSerial() {
        return peer == null ? null : peer.serial;
    }

    /** Registers a carrier's re-check of its links; see {@link #recheck}. */
    void addRecheckHook(Runnable hook) {
        keys.recheckHooks.add(hook);
    }

    void removeRecheckHook(Runnable hook) {
        keys.recheckHooks.remove(hook);
    }

    private void recheckLinks() {
        for (Runnable hook : keys.recheckHooks) {
            hook.run();
        }
    }

    /**
     * Judges an established link's peer again, by the certificate it sent in its handshake: a
     * revocation, a CA that left the trust bundle or an expiry since then ends the link.
     */
    void recheck(X509Certificate peerCertificate, boolean peerIsInitiator) throws PeerRejectedException {
        verifier.verify(List.of(peerCertificate), peerIsInitiator ? PeerVerifier.PeerSide.CLIENT
                : PeerVerifier.PeerSide.SERVER, peerIsInitiator ? null : peerName);
    }

    /**
     * The stateless reset tokens of this node's connection ids, derived from its current static key:
     * a restarted node with the same key resets the links its previous run had.
     */
    public StatelessReset statelessReset() {
        return keys.current.statelessReset;
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

    /** The key and certificate a new handshake uses. */
    Credentials credentials() {
        return keys.current;
    }

    /**
     * What a responder may answer a message 1 with: its current credentials, then the previous ones
     * while their certificate is still valid (an initiator may not have the renewed copy yet).
     */
    List<Credentials> responderCredentials() {
        Credentials c = keys.current;
        Credentials p = keys.previous;
        if (p == null || !p.certificate.getNotAfter().toInstant().isAfter(clock.instant())) {
            return List.of(c);
        }
        return List.of(c, p);
    }

    byte[] peerStaticKey() {
        return peer == null ? null : peer.staticKey;
    }

    SecureRandom random() {
        return random;
    }

    /** The responder's handshake payload: its certificate (DER). Peers hold the CA in their trust bundle. */
    static byte[] certificatePayload(Credentials c) {
        return c.certificateDer.clone();
    }

    /**
     * The initiator's handshake payload: the wall-clock time in milliseconds (u64, a value that only
     * grows, as WireGuard's TAI64N timestamp) then its certificate (DER).
     */
    byte[] initiationPayload(Credentials c) {
        byte[] der = c.certificateDer;
        byte[] p = new byte[8 + der.length];
        long t = clock.millis();
        for (int i = 0; i < 8; i++) {
            p[i] = (byte) (t >>> (56 - 8 * i));
        }
        System.arraycopy(der, 0, p, 8, der.length);
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

    /** The certificate a peer sent in its handshake payload (after the initiator's timestamp). */
    static X509Certificate peerCertificate(byte[] payload, boolean peerIsInitiator) throws PeerRejectedException {
        int skip = peerIsInitiator ? 8 : 0;
        if (payload.length <= skip) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE, "handshake payload of "
                    + payload.length + " bytes (expected: a certificate)");
        }
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(payload, skip, payload.length - skip));
        } catch (CertificateException | ClassCastException e) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE,
                    "handshake payload is no certificate: " + e.getMessage(), e);
        }
    }

    /**
     * Checks the certificate a peer sent in its handshake: the verifier's rules, and that it
     * certifies {@code staticKey}, the key the Noise handshake authenticated.
     */
    PeerIdentity verifyPeer(X509Certificate cert, byte[] staticKey, boolean peerIsInitiator) throws PeerRejectedException {
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
     * Registers {@code braid_tmp_packets_dropped_total{reason}},
     * {@code braid_tmp_peers_refused_total{reason}}, {@code braid_tmp_key_updates_total}, and the
     * certificate's expiry and reload state ({@code braid_tmp_udp_certificate_*}).
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
        metrics.gauge("braid_tmp_udp_certificate_expiry_timestamp_seconds",
                "When the certificate this node's new UDP handshakes send expires (Unix time): alert well before it",
                () -> keys.current.certificate.getNotAfter().getTime() / 1000.0);
        metrics.gauge("braid_tmp_udp_certificate_reload_failing",
                "1 while renewed key or certificate files are on disk but refused (the log says why), else 0",
                () -> keys.reloadError == null ? 0 : 1);
    }

    @Override
    public String toString() {
        return "UDP security (Noise IK, certificate " + keys.current.serial() + (peerName != null ? ", towards "
                + peerName : "") + ")";
    }
}
