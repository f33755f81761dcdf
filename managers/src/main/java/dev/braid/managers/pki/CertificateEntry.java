package dev.braid.managers.pki;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Objects;

/**
 * One node certificate the CA has issued, as its index records it.
 *
 * @param serial    the certificate's serial number (random, 128 bits)
 * @param role      the node's role
 * @param name      the node's name, as in the configuration
 * @param authority id of the CA that signed it
 * @param revokedAt when it was revoked, or null
 * @param reason    the revocation reason (an RFC 5280 reason name), or null
 */
public record CertificateEntry(BigInteger serial, NodeRole role, String name, int authority, Instant notBefore,
                               Instant notAfter, Instant revokedAt, String reason) {

    public CertificateEntry {
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
    }

    /** The serial number as lower-case hex, the form commands and the configuration use. */
    public String serialHex() {
        return serial.toString(16);
    }

    public boolean isRevoked() {
        return revokedAt != null;
    }

    /** Whether the certificate is neither revoked nor expired at {@code now}. */
    public boolean isValidAt(Instant now) {
        return revokedAt == null && !now.isBefore(notBefore) && now.isBefore(notAfter);
    }

    /** {@code valid}, {@code revoked}, {@code expired} or {@code not yet valid}, at {@code now}. */
    public String status(Instant now) {
        if (revokedAt != null) {
            return "revoked";
        }
        if (!now.isBefore(notAfter)) {
            return "expired";
        }
        return now.isBefore(notBefore) ? "not yet valid" : "valid";
    }

    CertificateEntry revoked(Instant at, String why) {
        return new CertificateEntry(serial, role, name, authority, notBefore, notAfter, at, why);
    }
}
