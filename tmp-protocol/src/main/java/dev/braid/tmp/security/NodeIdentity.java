package dev.braid.tmp.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * This node's TLS identity: its private key and certificate chain, read from the PEM files the
 * managers' CA wrote ({@code braid keys issue}), and read again when they change, so a renewed
 * certificate takes effect without a restart. Handshakes that started before a reload finish
 * with the identity they began with; new ones use the new one.
 *
 * <p>A pair of files is accepted only whole: the key must match the first certificate, and that
 * certificate must name a Braid node ({@code urn:braid:<role>:<name>}). A pair that fails (say,
 * the key was replaced but not yet the certificate) is refused with a logged reason, the previous
 * identity stays in use, and the next change is tried again.
 *
 * <p>{@link #reloadIfChanged()} does the check; call it periodically ({@link NodeTls#reloadEvery}
 * does). It reads files, so call it off the event loops.
 */
public final class NodeIdentity {

    private static final Logger log = LoggerFactory.getLogger(NodeIdentity.class);

    /**
     * One loaded identity. {@code generation} counts the identities loaded, from 1, so that a
     * handshake can ask for the key of exactly the certificate it chose.
     */
    public record Snapshot(long generation, PrivateKey key, List<X509Certificate> chain, PeerIdentity self) {
        public Snapshot {
            chain = List.copyOf(chain);
        }

        public X509Certificate certificate() {
            return chain.get(0);
        }
    }

    private final WatchedFiles files;
    private final List<Consumer<Snapshot>> listeners = new CopyOnWriteArrayList<>();
    private volatile Snapshot current;
    private volatile Snapshot previous;
    private volatile String lastError;

    private NodeIdentity(Path certificateChain, Path privateKey) {
        this.files = new WatchedFiles(certificateChain, privateKey);
    }

    /**
     * Loads the identity in {@code certificateChain} (the node certificate first, then its CA) and
     * {@code privateKey} (PKCS#8 PEM).
     *
     * @throws IOException naming the file and what is wrong with it
     */
    public static NodeIdentity load(Path certificateChain, Path privateKey) throws IOException {
        NodeIdentity identity = new NodeIdentity(certificateChain, privateKey);
        byte[][] contents = identity.files.readAll();
        identity.current = identity.parse(contents, 1);
        identity.files.seen(contents);
        return identity;
    }

    /** The identity in use. */
    public Snapshot current() {
        return current;
    }

    /** The identity of generation {@code generation} if it is the current or the one before, else the current. */
    Snapshot generation(long generation) {
        Snapshot p = previous;
        return p != null && p.generation() == generation ? p : current;
    }

    /**
     * Loads the X25519 static key of the UDP carrier ({@code <name>.x25519.key} beside the key file)
     * and checks that the current certificate certifies it ({@link TmpStaticKeys}). Reads a file.
     *
     * @throws IOException with what to do when the node's keys predate UDP encryption (reissue them)
     */
    public dev.braid.tmp.noise.X25519Keys loadTmpStaticKey() throws IOException {
        return TmpStaticKeys.load(tmpStaticKeyFile(), current.certificate());
    }

    /** Where the UDP carrier's X25519 static key lives: {@code <name>.x25519.key} beside the key file. */
    public Path tmpStaticKeyFile() {
        return TmpStaticKeys.keyFileBeside(files.files().get(1));
    }

    /** Who this node is, by its own certificate. */
    public PeerIdentity self() {
        return current.self();
    }

    /** Why the last changed files were refused, or null when the last change was accepted. */
    public String lastReloadError() {
        return lastError;
    }

    /** Called with each new identity after it is in use, on the thread that reloaded it. */
    public void addListener(Consumer<Snapshot> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Reads the files again and switches to them when their content changed and they form a valid
     * identity.
     *
     * @return whether a new identity is now in use
     */
    public synchronized boolean reloadIfChanged() {
        byte[][] contents;
        try {
            contents = files.readIfChanged();
        } catch (IOException e) {
            refuse("cannot read: " + e.getMessage());
            return false;
        }
        if (contents == null) {
            return false;
        }
        files.seen(contents);
        Snapshot next;
        try {
            next = parse(contents, current.generation() + 1);
        } catch (IOException e) {
            refuse(e.getMessage());
            return false;
        }
        previous = current;
        current = next;
        lastError = null;
        log.info("node identity {}: now certificate {} (expires {}), from {}", next.self(),
                next.self().serial().toString(16), next.self().notAfter(), files.files().get(0));
        for (Consumer<Snapshot> l : listeners) {
            l.accept(next);
        }
        return true;
    }

    private void refuse(String reason) {
        if (!reason.equals(lastError)) {
            log.warn("node identity {}: keeping certificate {}: {}", current.self(),
                    current.self().serial().toString(16), reason);
        }
        lastError = reason;
    }

    private Snapshot parse(byte[][] contents, long generation) throws IOException {
        Path certFile = files.files().get(0);
        Path keyFile = files.files().get(1);
        List<X509Certificate> chain = PemFiles.certificates(contents[0], certFile.toString());
        PrivateKey key = PemFiles.privateKey(contents[1], keyFile.toString());
        if (!keyMatches(key, chain.get(0).getPublicKey())) {
            throw new IOException(keyFile + ": the key does not match the certificate in " + certFile
                    + " (serial " + chain.get(0).getSerialNumber().toString(16) + ")");
        }
        PeerIdentity self;
        try {
            self = PeerIdentity.of(chain.get(0));
        } catch (PeerRejectedException e) {
            throw new IOException(certFile + ": " + e.getMessage(), e);
        }
        return new Snapshot(generation, key, chain, self);
    }

    /**
     * Whether {@code key} is the private half of {@code publicKey}: it signs what the public key
     * verifies, the one test that works for every algorithm.
     */
    public static boolean keyMatches(PrivateKey key, PublicKey publicKey) {
        if (!key.getAlgorithm().equals(publicKey.getAlgorithm())) {
            return false;
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> key.getAlgorithm();
        };
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(challenge);
            byte[] signature = s.sign();
            s.initVerify(publicKey);
            s.update(challenge);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
