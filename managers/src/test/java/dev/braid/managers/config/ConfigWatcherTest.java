package dev.braid.managers.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigWatcherTest {

    private static final ConfigWatcher.Settings FAST = ConfigWatcher.Settings.DEFAULT
            .withFilePollInterval(Duration.ofMillis(20));

    /** Replaces the file in one step, as careful editors and deployment tools do. */
    private static void replace(Path file, String text) throws IOException {
        Path temp = file.resolveSibling(file.getFileName() + ".new");
        Files.writeString(temp, text);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void aFileIsDeliveredAtOnceAndEachNewContentOnce(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("braid.yaml");
        replace(file, TestConfigs.exampleYaml());
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        try (ConfigWatcher w = ConfigWatcher.file(file, seen::add, FAST)) {
            assertEquals(1, seen.size());
            assertEquals(TestConfigs.example(), seen.get(0).config());
            assertSame(seen.get(0), w.current());
            assertSame(seen.get(0), w.firstApplied().getNow(null));

            // Same content in another notation is not a change.
            replace(file, TestConfigs.exampleYaml() + "\n# a comment\n");
            Thread.sleep(100);
            assertEquals(1, seen.size());

            replace(file, ConfigLoader.toYaml(TestConfigs.exampleWithGoldWeight(16)));
            await(() -> seen.size() == 2, "version 2");
            assertEquals(2, seen.get(1).version());
            assertEquals(16, seen.get(1).config().clientClass("gold").weight());
            assertEquals(2, w.current().version());
        }
    }

    @Test
    void anInvalidFileIsNotAppliedAndTheWatcherGoesOn(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("braid.yaml");
        replace(file, TestConfigs.exampleYaml());
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        try (ConfigWatcher w = ConfigWatcher.file(file, seen::add, FAST)) {
            replace(file, TestConfigs.exampleYaml().replace("weight: 8", "weight: 0"));
            Thread.sleep(150);
            replace(file, TestConfigs.exampleYaml().replace("listen:", "lisen:"));
            Thread.sleep(150);
            assertEquals(1, seen.size());
            assertEquals(1, w.current().version());

            replace(file, ConfigLoader.toYaml(TestConfigs.exampleWithGoldWeight(3)));
            await(() -> seen.size() == 2, "the corrected file");
            assertEquals(3, w.current().config().clientClass("gold").weight());
        }
    }

    @Test
    void aListenerThatThrowsKeepsTheCurrentVersion(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("braid.json");
        replace(file, ConfigLoader.toJson(TestConfigs.example()));
        AtomicBoolean refuse = new AtomicBoolean();
        List<VersionedConfig> applied = new CopyOnWriteArrayList<>();
        List<Long> offered = new CopyOnWriteArrayList<>();
        try (ConfigWatcher w = ConfigWatcher.file(file, v -> {
            offered.add(v.version());
            if (refuse.get()) {
                throw new IllegalStateException("cannot bind the new listen address");
            }
            applied.add(v);
        }, FAST)) {
            refuse.set(true);
            replace(file, ConfigLoader.toJson(TestConfigs.exampleWithGoldWeight(5)));
            await(() -> offered.size() == 2, "the refused version");
            assertEquals(1, w.current().version());
            assertEquals(1, applied.size());

            refuse.set(false);
            replace(file, ConfigLoader.toJson(TestConfigs.exampleWithGoldWeight(6)));
            await(() -> applied.size() == 2, "the accepted version");
            assertEquals(2, w.current().version());
            assertEquals(6, w.current().config().clientClass("gold").weight());
        }
    }

    @Test
    void anInvalidFileFailsTheStart(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("braid.yaml");
        replace(file, TestConfigs.exampleYaml().replace("publicAddress: 127.0.0.1", "publicAddress: fe-1"));
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigWatcher.file(file, seen::add, FAST));
        assertTrue(e.getMessage().startsWith(file + ": frontEnds[0].publicAddress: fe-1"), e.getMessage());
        assertEquals(List.of(), seen);
    }

    @Test
    void aFixedConfigurationIsDeliveredOnce() {
        VersionedConfig v = new VersionedConfig(1, TestConfigs.example(), Instant.now(), null, "cli");
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        try (ConfigWatcher w = ConfigWatcher.fixed(v, seen::add)) {
            assertEquals(List.of(v), seen);
            assertSame(v, w.current());
        }
    }
}
