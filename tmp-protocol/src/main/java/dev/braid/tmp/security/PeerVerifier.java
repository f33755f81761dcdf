package dev.braid.tmp.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.security.auth.x500.X500Principal;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Decides whether a peer's certificate chain belongs to a Braid node this node may talk to:
 *
 * <ol>
 *   <li>it chains to a CA of the trust bundle (the Braid CA, pinned: the system's trusted
 *       roots play no part), checked by PKIX path validation at the current time;</li>
 *   <li>the peer certificate is within its validity period;</li>
 *   <li>no certificate of the chain is on the CRL of its issuer;</li>
 *   <li>it is a Braid node certificate for the peer's side of the connection (TLS client or server
 *       use) and names exactly one node, {@code urn:braid:<role>:<name>};</li>
 *   <li>the role is one this side accepts (a back-end accepts front-ends only), and the name is
 *       the expected one when a caller expects one.</li>
 * </ol>
 *
 * <p>The trust bundle is a local file, re-read when it changes ({@link #reloadIfChanged}): during
 * a CA rotation it holds the old and the new CA. CRLs arrive with the configuration
 * ({@code pki.crls}, {@link #updateCrls}); one is used only when a CA of the trust bundle signed
 * it, and a CRL older (by CRL number) than the one already held from the same CA is refused, so
 * a replayed old configuration cannot take a revocation back. Thread-safe: the state is
 * replaced whole, and {@link #verify} reads one consistent state.
 */
public final class PeerVerifier {

    private static final Logger log = LoggerFactory.getLogger(PeerVerifier.class);

    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String CRL_NUMBER = "2.5.29.20";

    /** Which end of the TLS connection the peer is; it decides the key usage its certificate needs. */
    public enum PeerSide {
        /** The peer connected to us: its certificate must allow TLS client authentication. */
        CLIENT,
        /** We connected to the peer: its certificate must allow TLS server authentication. */
        SERVER
    }

    private record Trust(List<X509Certificate> certificates, Set<TrustAnchor> anchors) {
    }

    private record Crl(X509CRL crl, BigInteger number) {
    }

    private final WatchedFiles trustFile;
    private final Set<String> acceptedRoles;
    private final Clock clock;
    private volatile Trust trust;
    private volatile Map<X500Principal, Crl> crls = Map.of();

    private PeerVerifier(WatchedFiles trustFile, List<X509Certificate> anchors, Set<String> acceptedRoles, Clock clock) {
        this.trustFile = trustFile;
        this.acceptedRoles = Set.copyOf(acceptedRoles);
        this.clock = Objects.requireNonNull(clock, "clock");
        if (this.acceptedRoles.isEmpty()) {
            throw new IllegalArgumentException("acceptedRoles: [] (expected: at least one role)");
        }
        this.trust = trustOf(anchors);
    }

    /**
     * A verifier trusting the CA certificates in {@code trustBundle} (PEM), re-read on {@link #reloadIfChanged}.
     *
     * @param acceptedRoles roles of the peers this node talks to, such as {@code Set.of("front-end")}
     * @throws IOException when the bundle cannot be read or holds no CA certificate
     */
    public static PeerVerifier load(Path trustBundle, Set<String> acceptedRoles, Clock clock) throws IOException {
        WatchedFiles file = new WatchedFiles(trustBundle);
        byte[][] contents = file.readAll();
        PeerVerifier v = new PeerVerifier(file, anchors(contents[0], trustBundle.toString()), acceptedRoles, clock);
        file.seen(contents);
        return v;
    }

    /** A verifier trusting {@code anchors}; it has no file to reload. */
    public static PeerVerifier of(List<X509Certificate> anchors, Set<String> acceptedRoles, Clock clock) {
        return new PeerVerifier(null, anchors, acceptedRoles, clock);
    }

    public Set<String> acceptedRoles() {
        return acceptedRoles;
    }

    /** The CA certificates trusted now. */
    public List<X509Certificate> trustAnchors() {
        return trust.certificates();
    }

    /**
     * Checks a peer's chain, leaf first.
     *
     * @param expectedName the node the caller meant to reach, or null for any node of an accepted role
     * @return who the peer is
     * @throws PeerRejectedException with the reason and a message naming the peer
     */
    public PeerIdentity verify(List<X509Certificate> chain, PeerSide side, String expectedName)
            throws PeerRejectedException {
        if (chain == null || chain.isEmpty()) {
            throw new PeerRejectedException(PeerRejectedException.Reason.UNKNOWN_CA, "the peer sent no certificate");
        }
        X509Certificate leaf = chain.get(0);
        PeerIdentity identity = null;
        PeerRejectedException notANode = null;
        try {
            identity = PeerIdentity.of(leaf);
        } catch (PeerRejectedException e) {
            notANode = e;
        }
        String who = "peer " + (identity != null ? identity + " " : "") + "(certificate "
                + leaf.getSerialNumber().toString(16) + " from " + leaf.getIssuerX500Principal().getName() + ")";
        Instant now = clock.instant();
        Trust t = trust;
        List<X509Certificate> path = validatePath(chain, t, now, who);
        if (now.isBefore(leaf.getNotBefore().toInstant())) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_YET_VALID,
                    who + ": not valid before " + leaf.getNotBefore().toInstant());
        }
        if (!now.isBefore(leaf.getNotAfter().toInstant())) {
            throw new PeerRejectedException(PeerRejectedException.Reason.EXPIRED,
                    who + ": expired at " + leaf.getNotAfter().toInstant());
        }
        Map<X500Principal, Crl> c = crls;
        for (X509Certificate cert : path) {
            Crl crl = c.get(cert.getIssuerX500Principal());
            X509CRLEntry entry = crl == null ? null : crl.crl().getRevokedCertificate(cert.getSerialNumber());
            if (entry != null) {
                throw new PeerRejectedException(PeerRejectedException.Reason.REVOKED, who + ": certificate "
                        + cert.getSerialNumber().toString(16) + " revoked at " + entry.getRevocationDate().toInstant()
                        + " (CRL number " + crl.number() + ")");
            }
        }
        if (notANode != null) {
            throw new PeerRejectedException(notANode.reason(), who + ": " + notANode.getMessage());
        }
        String usage = side == PeerSide.CLIENT ? CLIENT_AUTH : SERVER_AUTH;
        List<String> eku;
        try {
            eku = leaf.getExtendedKeyUsage();
        } catch (java.security.cert.CertificateParsingException e) {
            eku = null;
        }
        if (eku == null || !eku.contains(usage)) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE, who + ": not for TLS "
                    + (side == PeerSide.CLIENT ? "client" : "server") + " authentication (extended key usage "
                    + eku + ", expected: " + usage + ")");
        }
        if (!acceptedRoles.contains(identity.role())) {
            throw new PeerRejectedException(PeerRejectedException.Reason.WRONG_ROLE, who + ": role "
                    + identity.role() + " (expected: " + String.join(" or ", acceptedRoles.stream().sorted().toList()) + ")");
        }
        if (expectedName != null && !expectedName.equals(identity.name())) {
            throw new PeerRejectedException(PeerRejectedException.Reason.WRONG_NAME, who + ": name " + identity.name()
                    + " (expected: " + expectedName + ")");
        }
        return identity;
    }

    /**
     * {@link #verify} for the UDP carrier: the chain arrived inside a Noise handshake, and its leaf
     * must certify exactly {@code staticKey}, the X25519 key the handshake authenticated.
     */
    public PeerIdentity verifyStaticKey(List<X509Certificate> chain, PeerSide side, String expectedName,
                                        byte[] staticKey) throws PeerRejectedException {
        PeerIdentity id = verify(chain, side, expectedName);
        byte[] certified = TmpStaticKeys.certifiedKey(chain.get(0));
        if (!java.security.MessageDigest.isEqual(certified, staticKey)) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE, "peer " + id + " (certificate "
                    + chain.get(0).getSerialNumber().toString(16) + "): certifies X25519 key "
                    + java.util.HexFormat.of().formatHex(certified) + ", but the handshake used "
                    + java.util.HexFormat.of().formatHex(staticKey));
        }
        return id;
    }

    /** PKIX validation against the trust bundle; returns the path validated (the chain without its anchors). */
    private static List<X509Certificate> validatePath(List<X509Certificate> chain, Trust t, Instant now, String who)
            throws PeerRejectedException {
        List<X509Certificate> path = new ArrayList<>(chain);
        // A peer may send its CA certificate along; the path handed to PKIX ends below the anchor.
        while (path.size() > 1 && t.certificates().contains(path.get(path.size() - 1))) {
            path.remove(path.size() - 1);
        }
        try {
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXParameters params = new PKIXParameters(t.anchors());
            // Revocation is checked against the CRLs of the configuration, below, not fetched by PKIX.
            params.setRevocationEnabled(false);
            params.setDate(Date.from(now));
            CertPathValidator.getInstance("PKIX").validate(certPath, params);
            return path;
        } catch (CertPathValidatorException e) {
            X509Certificate at = e.getIndex() >= 0 && e.getIndex() < path.size() ? path.get(e.getIndex()) : chain.get(0);
            String which = "certificate " + at.getSerialNumber().toString(16) + " of " + at.getSubjectX500Principal().getName();
            if (e.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
                throw new PeerRejectedException(PeerRejectedException.Reason.EXPIRED,
                        who + ": " + which + " expired at " + at.getNotAfter().toInstant(), e);
            }
            if (e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                throw new PeerRejectedException(PeerRejectedException.Reason.NOT_YET_VALID,
                        who + ": " + which + " not valid before " + at.getNotBefore().toInstant(), e);
            }
            throw new PeerRejectedException(PeerRejectedException.Reason.UNKNOWN_CA, who
                    + ": not issued by a CA of the trust bundle (" + e.getMessage() + ")", e);
        } catch (GeneralSecurityException e) {
            throw new PeerRejectedException(PeerRejectedException.Reason.UNKNOWN_CA, who + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code cert} is on the CRL held for its issuer. */
    public boolean isRevoked(X509Certificate cert) {
        Crl crl = crls.get(cert.getIssuerX500Principal());
        return crl != null && crl.crl().getRevokedCertificate(cert.getSerialNumber()) != null;
    }

    /**
     * Takes the CRLs of a new configuration ({@code pki.crls}). Each is used only if a CA of the
     * trust bundle signed it and it is not older than the CRL already held from that CA; a CA whose
     * CRL is missing from {@code pems} keeps its last one (revocations are never taken back).
     *
     * @return what was refused, one line each; empty when every CRL was taken
     */
    public synchronized List<String> updateCrls(List<String> pems) {
        List<String> problems = new ArrayList<>();
        Map<X500Principal, Crl> next = new HashMap<>(crls);
        Set<X500Principal> seen = new HashSet<>();
        Trust t = trust;
        for (int i = 0; i < pems.size(); i++) {
            String at = "pki.crls[" + i + "]";
            X509CRL crl;
            try {
                crl = PemFiles.crl(pems.get(i));
            } catch (IOException e) {
                problems.add(at + ": " + e.getMessage());
                continue;
            }
            X500Principal issuer = crl.getIssuerX500Principal();
            if (!seen.add(issuer)) {
                problems.add(at + ": a second CRL of " + issuer.getName() + " (ignored)");
                continue;
            }
            if (!signedByAnchor(crl, t)) {
                problems.add(at + ": not signed by a CA of the trust bundle: " + issuer.getName() + " (ignored)");
                continue;
            }
            BigInteger number = crlNumber(crl);
            Crl held = next.get(issuer);
            if (held != null && number.compareTo(held.number()) < 0) {
                problems.add(at + ": CRL number " + number + " of " + issuer.getName() + " is older than the CRL "
                        + "number " + held.number() + " in use (kept the newer)");
                continue;
            }
            next.put(issuer, new Crl(crl, number));
        }
        crls = Map.copyOf(next);
        for (String p : problems) {
            log.warn("revocation lists: {}", p);
        }
        return problems;
    }

    /**
     * Reads the trust bundle again and uses it when its content changed and holds at least one CA
     * certificate. Reads a file: call it off the event loops.
     *
     * @return whether a new bundle is now in use
     */
    public synchronized boolean reloadIfChanged() {
        if (trustFile == null) {
            return false;
        }
        Path file = trustFile.files().get(0);
        try {
            byte[][] contents = trustFile.readIfChanged();
            if (contents == null) {
                return false;
            }
            trustFile.seen(contents);
            trust = trustOf(anchors(contents[0], file.toString()));
            log.info("trust bundle {}: now trusting {}", file,
                    trust.certificates().stream().map(c -> c.getSubjectX500Principal().getName()).toList());
            return true;
        } catch (IOException | IllegalArgumentException e) {
            log.warn("trust bundle {}: keeping the CAs in use: {}", file, e.getMessage());
            return false;
        }
    }

    private static boolean signedByAnchor(X509CRL crl, Trust t) {
        for (X509Certificate ca : t.certificates()) {
            if (ca.getSubjectX500Principal().equals(crl.getIssuerX500Principal())) {
                try {
                    crl.verify(ca.getPublicKey());
                    return true;
                } catch (GeneralSecurityException wrongKey) {
                    // Two CAs may share a name across a rotation; try the next.
                }
            }
        }
        return false;
    }

    private static List<X509Certificate> anchors(byte[] pem, String what) throws IOException {
        List<X509Certificate> certs = PemFiles.certificates(pem, what);
        for (X509Certificate c : certs) {
            if (c.getBasicConstraints() < 0) {
                throw new IOException(what + ": " + c.getSubjectX500Principal().getName()
                        + " is not a CA certificate (expected: only CA certificates in a trust bundle)");
            }
        }
        return certs;
    }

    private static Trust trustOf(List<X509Certificate> certificates) {
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException("trust anchors: [] (expected: at least one CA certificate)");
        }
        Set<TrustAnchor> anchors = new HashSet<>();
        for (X509Certificate c : certificates) {
            anchors.add(new TrustAnchor(c, null));
        }
        return new Trust(List.copyOf(certificates), Set.copyOf(anchors));
    }

    /** The CRL number extension (RFC 5280 §5.2.3), 0 when absent: DER OCTET STRING around an INTEGER. */
    static BigInteger crlNumber(X509CRL crl) {
        byte[] ext = crl.getExtensionValue(CRL_NUMBER);
        if (ext == null) {
            return BigInteger.ZERO;
        }
        try {
            int[] at = {0};
            byte[] inner = derValue(ext, at, 0x04);
            at[0] = 0;
            return new BigInteger(derValue(inner, at, 0x02));
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            return BigInteger.ZERO;
        }
    }

    private static byte[] derValue(byte[] der, int[] at, int tag) {
        if ((der[at[0]++] & 0xff) != tag) {
            throw new IllegalArgumentException("tag");
        }
        int len = der[at[0]++] & 0xff;
        if (len > 0x80) {
            int n = len & 0x7f;
            if (n > 3) {
                throw new IllegalArgumentException("length");
            }
            len = 0;
            for (int i = 0; i < n; i++) {
                len = (len << 8) | (der[at[0]++] & 0xff);
            }
        }
        if (len == 0 || at[0] + len > der.length) {
            throw new IllegalArgumentException("length");
        }
        byte[] value = java.util.Arrays.copyOfRange(der, at[0], at[0] + len);
        at[0] += len;
        return value;
    }
}
