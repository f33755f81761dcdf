package dev.braid.managers;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.TestConfigs;
import dev.braid.managers.config.VersionedConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigStoreTest {

    private static final BraidConfig A = TestConfigs.example();
    private static final BraidConfig B = TestConfigs.exampleWithGoldWeight(16);

    private static BraidConfig invalid() {
        return ConfigLoader.parse(TestConfigs.exampleYaml()
                .replace("publicAddress: 127.0.0.1", "publicAddress: localhost")
                .replace("weight: 8", "weight: 0"));
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("versions"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void startsAtVersionZeroWithTheEmptyConfiguration() {
        ConfigStore store = ConfigStore.inMemory();
        assertEquals(0, store.current().version());
        assertEquals(BraidConfig.EMPTY, store.current().config());
        assertEquals(List.of(), store.history());
        assertEquals(null, store.stateDir());
    }

    @Test
    void eachChangeGetsTheNextVersion() {
        ConfigStore store = ConfigStore.inMemory();
        VersionedConfig v1 = store.apply(A, "alice");
        VersionedConfig v2 = store.apply(B, "bob");
        assertEquals(1, v1.version());
        assertEquals(2, v2.version());
        assertEquals("alice", v1.author());
        assertEquals(B, v2.config());
        assertEquals(VersionedConfig.sha256Of(B), v2.sha256());
        assertFalse(v2.appliedAt().isBefore(v1.appliedAt()));
        assertSame(v2, store.current());
        assertEquals(List.of(v1, v2), store.history());
        assertEquals(3, store.apply(A, "carol").version());
    }

    @Test
    void identicalContentDoesNotBumpTheVersion() {
        ConfigStore store = ConfigStore.inMemory();
        List<Long> seen = new ArrayList<>();
        store.addListener(v -> seen.add(v.version()));
        VersionedConfig v1 = store.apply(A, "alice");
        // Same content from another notation, with defaults spelled out, is the same configuration.
        BraidConfig same = ConfigLoader.parse(TestConfigs.exampleYaml()
                .replace("    hostnames:", "    dnsTtlSeconds: 20\n    hostnames:")
                .replace("- url: http://127.0.0.1:8000", "- {url: 'http://127.0.0.1:8000', role: primary}"));
        assertSame(v1, store.apply(same, "bob"));
        assertSame(v1, store.apply(A, "carol"));
        assertEquals(List.of(1L), seen);
        assertEquals(List.of(v1), store.history());
        assertSame(VersionedConfig.EMPTY, ConfigStore.inMemory().apply(BraidConfig.EMPTY, "x"));
    }

    @Test
    void anInvalidChangeThrowsEveryReasonAndChangesNothing(@TempDir Path dir) throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            List<VersionedConfig> seen = new ArrayList<>();
            VersionedConfig v1 = store.apply(A, "alice");
            store.addListener(seen::add);
            List<String> filesBefore = files(dir);

            ConfigException e = assertThrows(ConfigException.class, () -> store.apply(invalid(), "mallory"));
            assertEquals(2, e.errors().size(), e.errors().toString());
            assertTrue(e.errors().get(0).startsWith("frontEnds[0].publicAddress: localhost"), e.errors().get(0));
            assertEquals("clientClasses[0].weight: 0 (expected: 1..1000)", e.errors().get(1));

            assertSame(v1, store.current());
            assertEquals(List.of(v1), store.history());
            assertEquals(List.of(), seen);
            assertEquals(filesBefore, files(dir));
            assertFalse(store.nextAfter(1).isDone());
        }
    }

    @Test
    void aRestartResumesAtTheSameVersion(@TempDir Path dir) throws IOException {
        VersionedConfig v2;
        try (ConfigStore store = ConfigStore.open(dir)) {
            store.apply(A, "alice");
            v2 = store.apply(B, "bob");
        }
        try (ConfigStore store = ConfigStore.open(dir)) {
            assertEquals(v2, store.current());
            assertEquals(List.of(1L, 2L), store.history().stream().map(VersionedConfig::version).toList());
            assertEquals(A, store.history().get(0).config());
            assertSame(store.current(), store.apply(B, "bob again"));
            assertEquals(3, store.apply(A, "carol").version());
        }
        try (ConfigStore store = ConfigStore.open(dir)) {
            assertEquals(3, store.current().version());
            assertEquals("carol", store.current().author());
        }
    }

    @Test
    void versionsAreWrittenWholeOrNotAtAll(@TempDir Path dir) throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            VersionedConfig v1 = store.apply(A, "alice");
            assertEquals(List.of(ConfigStore.fileName(1)), files(dir));
            assertEquals(v1, VersionedConfig.parseJson(Files.readString(dir.resolve("versions").resolve(ConfigStore.fileName(1)))));

            // The temporary file cannot be created (a non-empty directory is in its way): the write fails.
            Path blocker = dir.resolve("versions").resolve(ConfigStore.fileName(2) + AtomicFile.TEMP_SUFFIX);
            Files.createDirectories(blocker);
            Files.writeString(blocker.resolve("x"), "x");
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> store.apply(B, "bob"));
            assertTrue(e.getMessage().contains("cannot write version 2"), e.getMessage());
            assertSame(v1, store.current());
            assertEquals(List.of(v1), store.history());
            assertFalse(Files.exists(dir.resolve("versions").resolve(ConfigStore.fileName(2))));

            Files.delete(blocker.resolve("x"));
            Files.deleteIfExists(blocker);
            assertEquals(2, store.apply(B, "bob").version());
            assertEquals(List.of(ConfigStore.fileName(1), ConfigStore.fileName(2)), files(dir));
        }
    }

    @Test
    void remainsOfAnInterruptedWriteAreIgnoredOnRestart(@TempDir Path dir) throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            store.apply(A, "alice");
        }
        // A crash after writing half of version 2's temporary file, before the rename.
        Path temp = dir.resolve("versions").resolve(ConfigStore.fileName(2) + AtomicFile.TEMP_SUFFIX);
        Files.writeString(temp, "{\"version\":2,\"sha256\":\"ab");
        try (ConfigStore store = ConfigStore.open(dir)) {
            assertEquals(1, store.current().version());
            assertFalse(Files.exists(temp));
            assertEquals(2, store.apply(B, "bob").version());
        }
    }

    @Test
    void anUnreadableNewestVersionFailsTheOpenInsteadOfRollingBack(@TempDir Path dir) throws IOException {
        try (ConfigStore store = ConfigStore.open(dir)) {
            store.apply(A, "alice");
        }
        Files.writeString(dir.resolve("versions").resolve(ConfigStore.fileName(2)), "{\"version\":2}");
        IOException e = assertThrows(IOException.class, () -> ConfigStore.open(dir));
        assertTrue(e.getMessage().contains(ConfigStore.fileName(2)) && e.getMessage().contains("unreadable"), e.getMessage());
    }

    @Test
    void aStateDirectoryHasOneStoreAtATime(@TempDir Path dir) throws IOException {
        ConfigStore store = ConfigStore.open(dir);
        try {
            IOException e = assertThrows(IOException.class, () -> ConfigStore.open(dir));
            assertTrue(e.getMessage().contains("in use by another managers store"), e.getMessage());
        } finally {
            store.close();
        }
        ConfigStore.open(dir).close();
    }

    @Test
    void historyIsBoundedInMemoryAndOnDisk(@TempDir Path dir) throws IOException {
        try (ConfigStore store = ConfigStore.open(dir, 3)) {
            for (int w = 1; w <= 5; w++) {
                store.apply(TestConfigs.exampleWithGoldWeight(w), "ops");
            }
            assertEquals(List.of(3L, 4L, 5L), store.history().stream().map(VersionedConfig::version).toList());
            assertEquals(List.of(ConfigStore.fileName(3), ConfigStore.fileName(4), ConfigStore.fileName(5)), files(dir));
        }
        try (ConfigStore store = ConfigStore.open(dir, 2)) {
            assertEquals(List.of(4L, 5L), store.history().stream().map(VersionedConfig::version).toList());
            assertEquals(List.of(ConfigStore.fileName(4), ConfigStore.fileName(5)), files(dir));
        }
    }

    @Test
    void nextAfterCompletesOnTheNextChangeAndForgetsCancelledWaiters() throws Exception {
        ConfigStore store = ConfigStore.inMemory();
        CompletableFuture<VersionedConfig> first = store.nextAfter(0);
        CompletableFuture<VersionedConfig> cancelled = store.nextAfter(0);
        CompletableFuture<VersionedConfig> later = store.nextAfter(1);
        assertEquals(3, store.waiting());
        cancelled.cancel(false);
        assertEquals(2, store.waiting());

        VersionedConfig v1 = store.apply(A, "alice");
        assertSame(v1, first.getNow(null));
        assertFalse(later.isDone());
        assertEquals(1, store.waiting());
        assertSame(v1, store.nextAfter(0).getNow(null));

        VersionedConfig v2 = store.apply(B, "bob");
        assertSame(v2, later.get(1, TimeUnit.SECONDS));
        assertEquals(0, store.waiting());
    }

    @Test
    void concurrentChangesGetDistinctConsecutiveVersionsSeenInOrder() throws Exception {
        ConfigStore store = ConfigStore.inMemory();
        List<Long> seen = Collections.synchronizedList(new ArrayList<>());
        store.addListener(v -> seen.add(v.version()));
        store.addListener(v -> {
            throw new IllegalStateException("a failing listener does not stop the change");
        });
        int threads = 4;
        int perThread = 10;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int base = t * perThread;
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 1; i <= perThread; i++) {
                        store.apply(TestConfigs.exampleWithGoldWeight(base + i), "thread");
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(threads * perThread, store.current().version());
        List<Long> expected = new ArrayList<>();
        for (long v = 1; v <= threads * perThread; v++) {
            expected.add(v);
        }
        assertEquals(expected, seen);
    }
}
