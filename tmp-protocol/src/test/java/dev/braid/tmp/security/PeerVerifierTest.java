package dev.braid.tmp.security;

import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checks of {@link PeerVerifier} without sockets: chains, clocks, CRLs and the identity of certificates. */
class PeerVerifierTest {

    @TempDir
    static Path dir;
    private static Path ca;
    private static Path out;

    @BeforeAll
    static void issue() throws Exception {
        ca = dir.resolve("ca");
        out = dir.resolve("out");
        try (CertificateAuthority authority = CertificateAuthority.init(ca, null, Duration.ofDays(3650), Clock.systemUTC())) {
            authority.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), out);
            authority.issue(NodeRole.FRONT_END, "fe-2", Duration.ofDays(90), out);
        }
        try (CertificateAuthority other = CertificateAuthority.init(dir.resolve("other"), null, Duration.ofDays(3650),
                Clock.systemUTC())) {
            other.issue(NodeRole.FRONT_END, "fe-2", Duration.ofDays(90), dir.resolve("other-out"));
        }
    }

    private static List<X509Certificate> chain(Path d, String name) throws Exception {
        return PemFiles.certificates(Files.readAllBytes(d.resolve(name + ".crt")), name);
    }

    private static PeerVerifier verifier(Clock clock) throws Exception {
        return PeerVerifier.load(ca.resolve("trust.pem"), Set.of(PeerIdentity.FRONT_END), clock);
    }

    @Test
    void aValidChainNamesItsNodeWithOrWithoutTheCaCertificate() throws Exception {
        PeerVerifier v = verifier(Clock.systemUTC());
        List<X509Certificate> chain = chain(out, "fe-1");
        PeerIdentity id = v.verify(chain, PeerVerifier.PeerSide.CLIENT, "fe-1");
        assertEquals("front-end fe-1", id.toString());
        assertEquals(chain.get(0).getSerialNumber(), id.serial());
        assertEquals(id, v.verify(chain.subList(0, 1), PeerVerifier.PeerSide.SERVER, null));
        assertEquals(PeerRejectedException.Reason.UNKNOWN_CA,
                assertThrows(PeerRejectedException.class, () -> v.verify(List.of(), PeerVerifier.PeerSide.CLIENT, null)).reason());
    }

    @Test
    void theClockDecidesExpiry() throws Exception {
        List<X509Certificate> chain = chain(out, "fe-1");
        Instant after = chain.get(0).getNotAfter().toInstant().plusSeconds(1);
        PeerRejectedException late = assertThrows(PeerRejectedException.class, () -> verifier(Clock.fixed(after, ZoneOffset.UTC))
                .verify(chain, PeerVerifier.PeerSide.CLIENT, null));
        assertEquals(PeerRejectedException.Reason.EXPIRED, late.reason());
        Instant before = chain.get(0).getNotBefore().toInstant().minusSeconds(1);
        PeerRejectedException early = assertThrows(PeerRejectedException.class, () -> verifier(Clock.fixed(before, ZoneOffset.UTC))
                .verify(chain, PeerVerifier.PeerSide.CLIENT, null));
        assertEquals(PeerRejectedException.Reason.NOT_YET_VALID, early.reason(), early.getMessage());
    }

    @Test
    void aCrlCountsOnlyWhenATrustedCaSignedItAndNeverGoesBack() throws Exception {
        PeerVerifier v = verifier(Clock.systemUTC());
        List<String> before;
        List<String> after;
        List<String> foreign;
        try (CertificateAuthority authority = CertificateAuthority.open(ca, Clock.systemUTC())) {
            before = authority.crls();
            authority.revoke("fe-2", null);
            after = authority.crls();
        }
        try (CertificateAuthority other = CertificateAuthority.open(dir.resolve("other"), Clock.systemUTC())) {
            other.revoke("fe-2", null);
            foreign = other.crls();
        }
        List<String> refused = v.updateCrls(foreign);
        assertEquals(1, refused.size());
        assertTrue(refused.get(0).startsWith("pki.crls[0]: not signed by a CA of the trust bundle"), refused.get(0));
        assertFalse(v.isRevoked(chain(out, "fe-2").get(0)), "a CRL from an untrusted CA revokes nothing");

        assertEquals(List.of(), v.updateCrls(after));
        assertTrue(v.isRevoked(chain(out, "fe-2").get(0)));
        PeerRejectedException revoked = assertThrows(PeerRejectedException.class,
                () -> v.verify(chain(out, "fe-2"), PeerVerifier.PeerSide.CLIENT, null));
        assertEquals(PeerRejectedException.Reason.REVOKED, revoked.reason());

        List<String> replayed = v.updateCrls(before);
        assertEquals(1, replayed.size());
        assertTrue(replayed.get(0).contains("is older than the CRL number"), replayed.get(0));
        assertTrue(v.isRevoked(chain(out, "fe-2").get(0)), "an older CRL does not take the revocation back");
        assertEquals(List.of(), v.updateCrls(List.of()));
        assertTrue(v.isRevoked(chain(out, "fe-2").get(0)), "nor does a configuration without CRLs");
        assertEquals(List.of("pki.crls[0]: not a PEM X.509 CRL (Empty input)"), v.updateCrls(List.of("")).stream()
                .map(s -> s.replaceAll("\\(.*\\)", "(Empty input)")).toList());
    }

    @Test
    void aCertificateWithoutABraidNameIsNotANode() throws Exception {
        // The CA certificate itself chains to the trust bundle but names no node.
        X509Certificate caCert = PemFiles.certificates(Files.readAllBytes(ca.resolve("ca-1.crt")), "ca").get(0);
        PeerRejectedException e = assertThrows(PeerRejectedException.class, () -> PeerIdentity.of(caCert));
        assertEquals(PeerRejectedException.Reason.NOT_A_NODE, e.reason());
        assertTrue(e.getMessage().endsWith("names no Braid node (expected: one subject alternative name "
                + "urn:braid:<role>:<name>)"), e.getMessage());
    }

    @Test
    void aTrustBundleMustHoldCaCertificates() throws Exception {
        Path bundle = Files.writeString(dir.resolve("leaf-as-ca.pem"), Files.readString(out.resolve("fe-1.crt")));
        Exception e = assertThrows(java.io.IOException.class,
                () -> PeerVerifier.load(bundle, Set.of(PeerIdentity.FRONT_END), Clock.systemUTC()));
        assertTrue(e.getMessage().endsWith("is not a CA certificate (expected: only CA certificates in a trust bundle)"),
                e.getMessage());
    }
}
