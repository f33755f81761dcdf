package dev.braid.tmp.security;

import java.math.BigInteger;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who a Braid node certificate names: the role and name in its subject alternative name
 * {@code urn:braid:<role>:<name>} (what the managers' CA writes), with the serial number and
 * expiry for logs and re-checks.
 */
public record PeerIdentity(String role, String name, BigInteger serial, Instant notAfter, String issuer) {

    /** Roles a Braid certificate may carry. */
    public static final String FRONT_END = "front-end";
    public static final String BACK_END = "back-end";
    public static final String REDIRECTOR = "redirector";
    public static final String MANAGER = "manager";

    private static final int URI_NAME = 6;
    private static final Pattern NODE_URI = Pattern.compile(
            "urn:braid:(front-end|back-end|redirector|manager):([A-Za-z0-9][A-Za-z0-9._-]{0,62})");

    public PeerIdentity {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(name, "name");
    }

    /** {@code role name}, as logs show a peer. */
    @Override
    public String toString() {
        return role + " " + name;
    }

    /**
     * Reads the identity a certificate carries.
     *
     * @throws java.security.cert.CertificateException when it carries none, or more than one
     */
    public static PeerIdentity of(X509Certificate cert) throws PeerRejectedException {
        List<Matcher> found = new ArrayList<>();
        try {
            Collection<List<?>> names = cert.getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> n : names) {
                    if (n.size() >= 2 && Integer.valueOf(URI_NAME).equals(n.get(0)) && n.get(1) instanceof String uri
                            && uri.startsWith("urn:braid:")) {
                        found.add(NODE_URI.matcher(uri));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE,
                    "certificate " + cert.getSerialNumber().toString(16) + ": unreadable subject alternative names", e);
        }
        if (found.size() != 1 || !found.get(0).matches()) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE, "certificate "
                    + cert.getSerialNumber().toString(16) + " of " + cert.getSubjectX500Principal().getName()
                    + " names no Braid node (expected: one subject alternative name urn:braid:<role>:<name>)");
        }
        Matcher m = found.get(0);
        return new PeerIdentity(m.group(1), m.group(2), cert.getSerialNumber(), cert.getNotAfter().toInstant(),
                cert.getIssuerX500Principal().getName());
    }
}
