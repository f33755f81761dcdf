package dev.braid.managers;

import dev.braid.managers.config.TestConfigs;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A managers process killed at any point of a durable write — after the temporary file is
 * written, after it is fsynced, after the rename, after the directory fsync, after the audit
 * append — loses no acknowledged version and leaves no half version: reopened, the store holds
 * every acknowledged version, the interrupted one either whole or not at all, and an audit entry
 * for every version it holds.
 */
@ExtendWith(PooledMemoryBaseline.class)
class StoreCrashIT {

    private static final int ACKED = 3;

    @ParameterizedTest(name = "killed at {0}")
    @ValueSource(strings = {CrashPoints.TEMP_WRITTEN, CrashPoints.TEMP_SYNCED, CrashPoints.RENAMED,
            CrashPoints.DIR_SYNCED, CrashPoints.AUDIT_APPENDED})
    void aProcessKilledInsideAWriteLosesNothing(String point, @TempDir Path dir) throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                StoreCrashChild.class.getName(), dir.toString(), point, Integer.toString(ACKED))
                .redirectErrorStream(true)
                .start();
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child ended");
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(StoreCrashChild.HALT_STATUS, child.exitValue(), "halted at " + point + ": " + output);
        for (int v = 1; v <= ACKED; v++) {
            assertTrue(output.contains("ACK " + v + "\n"), output);
        }

        boolean renamed = !point.equals(CrashPoints.TEMP_WRITTEN) && !point.equals(CrashPoints.TEMP_SYNCED);
        try (ConfigStore store = ConfigStore.open(dir)) {
            long expected = renamed ? ACKED + 1 : ACKED;
            assertEquals(expected, store.current().version(), "after a crash at " + point);
            List<VersionedConfig> history = store.history();
            assertEquals(expected, history.size());
            for (VersionedConfig v : history) {
                assertEquals(TestConfigs.exampleWithGoldWeight((int) v.version()), v.config(),
                        "version " + v.version() + " is whole");
            }
            assertEquals(List.of(), tempFiles(dir), "no remains of the interrupted write");
            List<AuditEntry> audit = store.auditLog(100);
            assertEquals(history.stream().map(VersionedConfig::version).toList(),
                    audit.stream().map(AuditEntry::toVersion).toList(), "one audit entry per version: " + audit);
            assertEquals(expected + 1, store.apply(TestConfigs.exampleWithGoldWeight(50), "after").version());
        }
    }

    private static List<String> tempFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("versions"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(AtomicFile.TEMP_SUFFIX)).toList();
        }
    }
}
