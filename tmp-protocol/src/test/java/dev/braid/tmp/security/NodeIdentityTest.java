package dev.braid.tmp.security;

import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.IssuedFiles;
import dev.braid.managers.pki.NodeRole;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeIdentityTest {

    @TempDir
    Path dir;

    private IssuedFiles issue(String name, Path out) throws IOException {
        Path ca = dir.resolve("ca");
        try (CertificateAuthority authority = Files.exists(ca) ? CertificateAuthority.open(ca, Clock.systemUTC())
                : CertificateAuthority.init(ca, null, Duration.ofDays(3650), Clock.systemUTC())) {
            return authority.issue(NodeRole.BACK_END, name, Duration.ofDays(90), out);
        }
    }

    @Test
    void loadsKeyAndChainAndKnowsWhoItIs() throws Exception {
        IssuedFiles files = issue("be-1", dir.resolve("node"));
        NodeIdentity id = NodeIdentity.load(files.certificate(), files.key());
        assertEquals("back-end be-1", id.self().toString());
        assertEquals(2, id.current().chain().size());
        assertEquals(1, id.current().generation());
        assertFalse(id.reloadIfChanged(), "nothing changed");
    }

    @Test
    void reloadsChangedFilesAndTellsItsListeners() throws Exception {
        IssuedFiles first = issue("be-1", dir.resolve("node"));
        NodeIdentity id = NodeIdentity.load(first.certificate(), first.key());
        List<NodeIdentity.Snapshot> seen = new ArrayList<>();
        id.addListener(seen::add);
        NodeIdentity.Snapshot before = id.current();

        IssuedFiles renewed = issue("be-1", dir.resolve("node"));
        assertTrue(id.reloadIfChanged());
        assertEquals(renewed.entry().serial(), id.self().serial());
        assertEquals(2, id.current().generation());
        assertEquals(List.of(id.current()), seen);
        assertSame(before, id.generation(1), "a handshake that chose the old certificate still gets its key");
        assertNull(id.lastReloadError());
    }

    @Test
    void aKeyThatDoesNotMatchTheCertificateIsRefusedAndTheOldIdentityKept() throws Exception {
        IssuedFiles first = issue("be-1", dir.resolve("node"));
        NodeIdentity id = NodeIdentity.load(first.certificate(), first.key());
        IssuedFiles other = issue("be-2", dir.resolve("elsewhere"));
        Files.copy(other.key(), first.key(), StandardCopyOption.REPLACE_EXISTING);

        assertFalse(id.reloadIfChanged());
        assertEquals(first.entry().serial(), id.self().serial());
        assertTrue(id.lastReloadError().endsWith("the key does not match the certificate in " + first.certificate()
                + " (serial " + first.entry().serialHex() + ")"), id.lastReloadError());
        assertFalse(id.reloadIfChanged(), "the same refused content is not tried again");

        Files.copy(other.certificate(), first.certificate(), StandardCopyOption.REPLACE_EXISTING);
        assertTrue(id.reloadIfChanged(), "the pair is whole again");
        assertEquals("back-end be-2", id.self().toString());
        assertNull(id.lastReloadError());
    }

    @Test
    void unreadableFilesAreReportedPrecisely() throws Exception {
        IssuedFiles files = issue("be-1", dir.resolve("node"));
        Path notAKey = Files.writeString(dir.resolve("bad.key"), "hello");
        IOException e = assertThrows(IOException.class, () -> NodeIdentity.load(files.certificate(), notAKey));
        assertEquals(notAKey + ": no -----BEGIN PRIVATE KEY----- block (expected: an unencrypted PKCS#8 key)",
                e.getMessage());
        IOException missing = assertThrows(IOException.class,
                () -> NodeIdentity.load(dir.resolve("missing.crt"), files.key()));
        assertTrue(missing.getMessage().contains("missing.crt"), missing.getMessage());
    }
}
