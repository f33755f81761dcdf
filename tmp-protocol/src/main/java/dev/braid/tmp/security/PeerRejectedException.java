package dev.braid.tmp.security;

import java.security.cert.CertificateException;

/**
 * A peer's certificate chain was refused. The TLS handshake fails with it (the peer gets an alert,
 * this side an {@code SSLHandshakeException} whose cause is this), and {@link #reason()} says why in
 * a form fit for a metric label.
 */
public final class PeerRejectedException extends CertificateException {

    private static final long serialVersionUID = 1L;

    /** Why a peer was refused. */
    public enum Reason {
        /** No certificate, or a chain that does not lead to a CA in the trust bundle. */
        UNKNOWN_CA,
        EXPIRED,
        NOT_YET_VALID,
        REVOKED,
        /** A Braid certificate, but of a role this side does not accept (a back-end accepts only front-ends). */
        WRONG_ROLE,
        /** The right role, but not the node this side meant to reach. */
        WRONG_NAME,
        /** Not a Braid node certificate: no {@code urn:braid:} name, or not for TLS client or server use. */
        NOT_A_NODE
    }

    private final Reason reason;

    public PeerRejectedException(Reason reason, String message) {
        this(reason, message, null);
    }

    public PeerRejectedException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
