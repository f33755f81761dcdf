package dev.braid.tmp.security;

import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import dev.braid.tmp.noise.X25519Keys;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Date;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The X25519 static keys the CA issues beside the node keys, and what a node says about missing or wrong ones. */
class TmpStaticKeysTest {

    @TempDir
    static Path dir;
    static Path nodes;

    @BeforeAll
    static void issue() throws Exception {
        nodes = dir.resolve("nodes");
        try (CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), null, Duration.ofDays(365),
                Clock.systemUTC())) {
            ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(30), nodes);
            ca.issue(NodeRole.BACK_END, "be-2", Duration.ofDays(30), nodes);
        }
    }

    @Test
    void theCaWritesTheKeyBesideTheNodeKeyAndCertifiesItsPublicHalf() throws Exception {
        Path keyFile = nodes.resolve("be-1.x25519.key");
        assertEquals(keyFile, TmpStaticKeys.keyFileBeside(nodes.resolve("be-1.key")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile)));
        NodeIdentity identity = NodeIdentity.load(nodes.resolve("be-1.crt"), nodes.resolve("be-1.key"));
        X25519Keys keys = identity.loadTmpStaticKey();
        assertArrayEquals(keys.publicKey(), TmpStaticKeys.certifiedKey(identity.current().certificate()));
        // The JDK reads the file as an ordinary X25519 key: it is standard PKCS#8 (RFC 8410).
        String pem = Files.readString(keyFile);
        byte[] der = java.util.Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        assertEquals("XDH", java.security.KeyFactory.getInstance("X25519")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der)).getAlgorithm());
    }

    @Test
    void aMissingKeyFileSaysToReissue() throws Exception {
        Path copy = dir.resolve("old");
        Files.createDirectories(copy);
        Files.copy(nodes.resolve("be-1.crt"), copy.resolve("be-1.crt"));
        Files.copy(nodes.resolve("be-1.key"), copy.resolve("be-1.key"));
        NodeIdentity identity = NodeIdentity.load(copy.resolve("be-1.crt"), copy.resolve("be-1.key"));
        IOException e = assertThrows(IOException.class, identity::loadTmpStaticKey);
        assertTrue(e.getMessage().contains("reissue them with braid keys issue"), e.getMessage());
    }

    @Test
    void aKeyOfAnotherNodeIsRefused() throws Exception {
        Path mixed = dir.resolve("mixed");
        Files.createDirectories(mixed);
        Files.copy(nodes.resolve("be-1.crt"), mixed.resolve("be-1.crt"));
        Files.copy(nodes.resolve("be-1.key"), mixed.resolve("be-1.key"));
        Files.copy(nodes.resolve("be-2.x25519.key"), mixed.resolve("be-1.x25519.key"));
        NodeIdentity identity = NodeIdentity.load(mixed.resolve("be-1.crt"), mixed.resolve("be-1.key"));
        IOException e = assertThrows(IOException.class, identity::loadTmpStaticKey);
        assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    }

    @Test
    void aCertificateWithoutTheExtensionIsNotANodeForUdp() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        var keys = g.generateKeyPair();
        X500Name name = new X500Name("CN=old, O=Braid");
        X509Certificate old = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name,
                BigInteger.TEN, new Date(), new Date(System.currentTimeMillis() + 86_400_000L), name, keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        PeerRejectedException e = assertThrows(PeerRejectedException.class, () -> TmpStaticKeys.certifiedKey(old));
        assertEquals(PeerRejectedException.Reason.NOT_A_NODE, e.reason());
        assertTrue(e.getMessage().contains("reissue"), e.getMessage());
    }
}
