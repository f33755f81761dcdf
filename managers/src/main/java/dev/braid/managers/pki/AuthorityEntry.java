package dev.braid.managers.pki;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Objects;

/**
 * One CA key and certificate of the Braid PKI. Several exist during a rotation: the current one
 * issues, the others are still trusted until they are retired.
 *
 * @param id        1 for the first CA, one more for each rotation; names its files ({@code ca-<id>.crt})
 * @param subject   the CA certificate's subject, RFC 2253
 * @param serial    the CA certificate's serial number
 * @param retiredAt when it stopped being trusted, or null while it is
 */
public record AuthorityEntry(int id, String subject, BigInteger serial, Instant notBefore, Instant notAfter,
                             Instant retiredAt) {

    public AuthorityEntry {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
    }

    public boolean isRetired() {
        return retiredAt != null;
    }

    AuthorityEntry retired(Instant at) {
        return new AuthorityEntry(id, subject, serial, notBefore, notAfter, at);
    }
}
