package dev.braid.managers.pki;

import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.PkiSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.Signature;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CertificateAuthorityTest {

    private static final Instant NOW = Instant.parse("2030-03-01T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    @TempDir
    Path tmp;

    private CertificateAuthority init() throws IOException {
        return CertificateAuthority.init(tmp.resolve("ca"), null, CertificateAuthority.DEFAULT_CA_VALIDITY, CLOCK);
    }

    @Test
    void initWritesAKeyOnlyTheOwnerCanReadAndASelfSignedCaLimitedToNodeCertificates() throws Exception {
        try (CertificateAuthority ca = init()) {
            Path dir = ca.directory();
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca-1.key"))));
            X509Certificate cert = ca.authorityCertificate(1);
            cert.verify(cert.getPublicKey());
            assertEquals(0, cert.getBasicConstraints(), "a CA that signs node certificates only");
            assertEquals("EC", cert.getPublicKey().getAlgorithm());
            assertEquals("SHA256withECDSA", cert.getSigAlgName());
            assertEquals("CN=Braid CA 1,O=Braid", cert.getSubjectX500Principal().getName());
            assertEquals(List.of(cert), Pem.certificates(Files.readAllBytes(ca.trustBundle())));
            assertEquals(1, ca.crls().size());
            assertNull(crl(ca.crls().get(0)).getRevokedCertificates());
        }
        IOException again = assertThrows(IOException.class, this::init);
        assertTrue(again.getMessage().contains("a CA already exists there"), again.getMessage());
    }

    @Test
    void issuedCertificateCarriesRoleAndNameAndChainsToTheCa() throws Exception {
        try (CertificateAuthority ca = init()) {
            IssuedFiles files = ca.issue(NodeRole.FRONT_END, "fe-1", CertificateAuthority.DEFAULT_NODE_VALIDITY,
                    tmp.resolve("out"));
            List<X509Certificate> chain = Pem.certificates(Files.readAllBytes(files.certificate()));
            assertEquals(2, chain.size(), "node certificate, then the CA's");
            X509Certificate leaf = chain.get(0);
            leaf.verify(ca.authorityCertificate(1).getPublicKey());
            assertEquals("CN=fe-1,OU=front-end,O=Braid", leaf.getSubjectX500Principal().getName());
            assertEquals(List.of(List.of(6, "urn:braid:front-end:fe-1")), List.copyOf(leaf.getSubjectAlternativeNames())
                    .stream().map(List::copyOf).toList());
            assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), leaf.getExtendedKeyUsage());
            assertEquals(-1, leaf.getBasicConstraints());
            assertTrue(leaf.getKeyUsage()[0], "digitalSignature");
            assertEquals(NOW.minus(CertificateAuthority.BACKDATE), leaf.getNotBefore().toInstant());
            assertEquals(NOW.plus(Duration.ofDays(90)), leaf.getNotAfter().toInstant());
            assertEquals(files.entry().serial(), leaf.getSerialNumber());

            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.key())));
            var key = Pem.privateKey(Files.readAllBytes(files.key()), "EC");
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key);
            s.update(new byte[] {1, 2, 3});
            byte[] sig = s.sign();
            s.initVerify(leaf.getPublicKey());
            s.update(new byte[] {1, 2, 3});
            assertTrue(s.verify(sig), "the key file holds the certificate's key");
            assertEquals(Files.readString(ca.trustBundle()), Files.readString(files.trustBundle()));
            assertTrue(Files.exists(ca.directory().resolve("issued").resolve(files.entry().serialHex() + ".crt")));
        }
    }

    @Test
    void serialNumbersAreRandomAndAboutOneHundredTwentyEightBits() throws Exception {
        try (CertificateAuthority ca = init()) {
            Set<BigInteger> serials = new HashSet<>();
            int longest = 0;
            for (int i = 0; i < 16; i++) {
                BigInteger serial = ca.issue(NodeRole.BACK_END, "be-" + i, Duration.ofDays(1), tmp.resolve("out")).entry().serial();
                assertTrue(serial.signum() > 0 && serial.bitLength() <= 128, serial.toString(16));
                longest = Math.max(longest, serial.bitLength());
                serials.add(serial);
            }
            assertEquals(16, serials.size());
            assertTrue(longest > 120, "16 random 128-bit serials all shorter than 121 bits: " + longest);
        }
    }

    @Test
    void validityIsConfigurableAndBoundedByTheCa() throws Exception {
        try (CertificateAuthority ca = CertificateAuthority.init(tmp.resolve("ca"), "Test CA", Duration.ofDays(30), CLOCK)) {
            assertEquals(NOW.plus(Duration.ofDays(7)), ca.issue(NodeRole.MANAGER, "m-1", Duration.ofDays(7),
                    tmp.resolve("out")).entry().notAfter());
            IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                    () -> ca.issue(NodeRole.MANAGER, "m-1", Duration.ofDays(90), tmp.resolve("out")));
            assertTrue(tooLong.getMessage().startsWith("validity: 90 days (expected: ending before the current CA expires"),
                    tooLong.getMessage());
            IllegalArgumentException badName = assertThrows(IllegalArgumentException.class,
                    () -> ca.issue(NodeRole.MANAGER, "../etc", Duration.ofDays(1), tmp.resolve("out")));
            assertEquals("name: ../etc (expected: " + ConfigValidator.NAME_EXPECTED + ")", badName.getMessage());
        }
    }

    @Test
    void revokingByNameOrSerialPutsTheSerialInTheSignedCrl() throws Exception {
        try (CertificateAuthority ca = init()) {
            CertificateEntry fe1 = ca.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), tmp.resolve("out")).entry();
            CertificateEntry fe1b = ca.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(90), tmp.resolve("out")).entry();
            CertificateEntry be1 = ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), tmp.resolve("out")).entry();
            X509CRL before = crl(ca.crls().get(0));

            List<CertificateEntry> revoked = ca.revoke("fe-1", "keyCompromise");
            assertEquals(List.of(fe1.serial(), fe1b.serial()), revoked.stream().map(CertificateEntry::serial).toList());
            X509CRL after = crl(ca.crls().get(0));
            after.verify(ca.authorityCertificate(1).getPublicKey());
            assertNotNull(after.getRevokedCertificate(fe1.serial()));
            assertNotNull(after.getRevokedCertificate(fe1b.serial()));
            assertNull(after.getRevokedCertificate(be1.serial()));
            assertTrue(crlNumber(after).compareTo(crlNumber(before)) > 0, "CRL numbers increase");
            assertEquals(NOW.plus(CertificateAuthority.DEFAULT_CRL_VALIDITY), after.getNextUpdate().toInstant());

            assertEquals(List.of(), ca.revoke("fe-1", null), "nothing left to revoke");
            assertEquals(1, ca.revoke(be1.serialHex().toUpperCase(), null).size(), "serials are case-insensitive");
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> ca.revoke("fe-9", null));
            assertTrue(unknown.getMessage().startsWith("id: fe-9 (expected: the name of a node or the serial number"));
            assertThrows(IllegalArgumentException.class, () -> ca.revoke("be-1", "because"));
        }
        try (CertificateAuthority reopened = CertificateAuthority.open(tmp.resolve("ca"), CLOCK)) {
            assertEquals(3, reopened.certificates().stream().filter(CertificateEntry::isRevoked).count());
            assertEquals("keyCompromise", reopened.certificates().get(0).reason());
            assertTrue(ConfigValidator.validate(dev.braid.managers.config.BraidConfig.EMPTY
                    .withPki(PkiSettings.DEFAULT.withCrls(reopened.crls()))).isEmpty(), "the CRLs fit pki.crls");
        }
    }

    @Test
    void rotationTrustsBothCasUntilTheOldOneIsRetired() throws Exception {
        try (CertificateAuthority ca = init()) {
            CertificateEntry old = ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), tmp.resolve("out")).entry();
            AuthorityEntry second = ca.rotate(null, Duration.ofDays(3650));
            assertEquals(2, second.id());
            assertEquals(2, Pem.certificates(Files.readAllBytes(ca.trustBundle())).size());
            assertEquals(2, ca.crls().size());
            IssuedFiles renewed = ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(90), tmp.resolve("out"));
            assertEquals(2, renewed.entry().authority());
            Pem.certificates(Files.readAllBytes(renewed.certificate())).get(0).verify(ca.authorityCertificate(2).getPublicKey());

            IllegalArgumentException busy = assertThrows(IllegalArgumentException.class, () -> ca.retire(null, false));
            assertEquals("ca: 1 still has valid certificates [back-end be-1] (expected: none; issue them anew from "
                    + "the current CA, or retire with --force)", busy.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ca.retire(2, false), "the current CA stays");
            ca.revoke(old.serialHex(), "superseded");
            assertEquals(List.of(1), ca.retire(null, false).stream().map(AuthorityEntry::id).toList());
            List<X509Certificate> trust = Pem.certificates(Files.readAllBytes(ca.trustBundle()));
            assertEquals(List.of(ca.authorityCertificate(2)), trust);
            assertFalse(Files.exists(ca.directory().resolve("ca-1.key")), "a retired CA's key is deleted");
            assertEquals(1, ca.crls().size());
        }
    }

    @Test
    void aSecondCommandOnTheSameDirectoryIsRefused() throws Exception {
        try (CertificateAuthority ca = init()) {
            IOException busy = assertThrows(IOException.class, () -> CertificateAuthority.open(ca.directory(), CLOCK));
            assertTrue(busy.getMessage().endsWith("the CA directory is in use by another command (lock held)"));
        }
        IOException none = assertThrows(IOException.class, () -> CertificateAuthority.open(tmp.resolve("nothing"), CLOCK));
        assertTrue(none.getMessage().endsWith("no CA there (expected: a directory made by braid keys init)"));
    }

    private static X509CRL crl(String pem) throws Exception {
        return (X509CRL) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCRL(new java.io.ByteArrayInputStream(pem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }

    private static BigInteger crlNumber(X509CRL crl) throws IOException {
        byte[] ext = crl.getExtensionValue("2.5.29.20");
        return org.bouncycastle.asn1.ASN1Integer.getInstance(
                org.bouncycastle.asn1.ASN1OctetString.getInstance(ext).getOctets()).getValue();
    }
}
