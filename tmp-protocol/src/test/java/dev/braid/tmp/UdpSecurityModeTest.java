package dev.braid.tmp;

import dev.braid.tmp.security.PeerIdentity;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code tmp.security} as a node applies it: required, plaintext, auto; and the key-update limits. */
class UdpSecurityModeTest {

    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void keys() throws Exception {
        pki = TestPki.create(dir);
    }

    private static UdpSecurity forNode(UdpSecurity.Mode mode, String name) throws IOException {
        return UdpSecurity.forNode(mode, "back-end", name, pki.nodes.resolve(name + ".crt"),
                pki.nodes.resolve(name + ".key"), pki.nodes.resolve("trust.pem"), List.of(), PeerIdentity.FRONT_END,
                4096, Duration.ofSeconds(30));
    }

    @Test
    void requiredWithoutAnIdentityRefusesWithTheFileAndWhatToDo() {
        IOException e = assertThrows(IOException.class, () -> forNode(UdpSecurity.Mode.REQUIRED, "be-9"));
        assertTrue(e.getMessage().startsWith(pki.nodes.resolve("be-9.crt") + ": no certificate of back-end be-9, and "
                + "tmp.security is required (expected: the node's certificate and keys from braid keys issue --role "
                + "back-end --name be-9, or tmp.security: plaintext"), e.getMessage());
    }

    @Test
    void requiredAndAutoWithAnIdentityEncryptWithTheConfiguredKeyUpdates() throws IOException {
        for (UdpSecurity.Mode mode : new UdpSecurity.Mode[] {UdpSecurity.Mode.REQUIRED, UdpSecurity.Mode.AUTO}) {
            UdpSecurity s = forNode(mode, "be");
            assertNotNull(s, mode.name());
            assertEquals(4096, s.keyUpdatePackets());
            assertEquals(Duration.ofSeconds(30), s.keyUpdateInterval());
            // The reset key comes from the static key: the same on every load of the node's files.
            assertArrayEquals(pki.responder("be").statelessReset().token(7), s.statelessReset().token(7));
        }
    }

    @Test
    void plaintextIsPlainTextEvenWithAnIdentityAndAutoWithoutOne() throws IOException {
        assertNull(forNode(UdpSecurity.Mode.PLAINTEXT, "be"));
        // No PKI on the node at all (no trust bundle either): a development set-up, plain text.
        assertNull(UdpSecurity.forNode(UdpSecurity.Mode.AUTO, "back-end", "be-9", dir.resolve("none/be-9.crt"),
                dir.resolve("none/be-9.key"), dir.resolve("none/trust.pem"), List.of(), PeerIdentity.FRONT_END, 4096,
                Duration.ofSeconds(30)));
    }

    @Test
    void autoWithTheTrustBundleButNoCertificateRefusesToStart() {
        IOException e = assertThrows(IOException.class, () -> forNode(UdpSecurity.Mode.AUTO, "be-9"));
        assertTrue(e.getMessage().startsWith(pki.nodes.resolve("be-9.crt") + ": no certificate of back-end be-9, "
                + "although the trust bundle " + pki.nodes.resolve("trust.pem") + " is present"), e.getMessage());
    }

    @Test
    void modesParseByName() {
        assertEquals(UdpSecurity.Mode.REQUIRED, UdpSecurity.Mode.parse("required"));
        assertEquals(UdpSecurity.Mode.PLAINTEXT, UdpSecurity.Mode.parse("plaintext"));
        assertEquals(UdpSecurity.Mode.AUTO, UdpSecurity.Mode.parse("auto"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UdpSecurity.Mode.parse("on"));
        assertEquals("tmp.security: on (expected: auto, required or plaintext)", e.getMessage());
    }
}
