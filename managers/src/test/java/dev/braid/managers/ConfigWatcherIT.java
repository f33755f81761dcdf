package dev.braid.managers;

import dev.braid.managers.config.ConfigWatcher;
import dev.braid.managers.config.TestConfigs;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;

@ExtendWith(PooledMemoryBaseline.class)
class ConfigWatcherIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final ConfigWatcher.Settings SETTINGS = ConfigWatcher.Settings.DEFAULT
            .withPollTimeout(Duration.ofSeconds(5))
            .withBackoff(Duration.ofMillis(20), Duration.ofMillis(300))
            .withClientName("watcher-it");

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    private ManagersServer managers(int port, Path stateDir) throws IOException {
        ManagersServer server = ManagersServer.start(ManagersServer.Options.builder()
                .config(TestConfigs.example())
                .stateDir(stateDir)
                .listen(new InetSocketAddress("127.0.0.1", port))
                .build());
        resources.add(server);
        return server;
    }

    private ConfigWatcher watch(ManagersServer server, java.util.function.Consumer<VersionedConfig> onChange) {
        ConfigWatcher w = ConfigWatcher.start(URI.create("http://127.0.0.1:" + server.localAddress().getPort() + "/"),
                onChange, SETTINGS);
        resources.add(w);
        return w;
    }

    private static List<Long> versions(List<VersionedConfig> list) {
        return list.stream().map(VersionedConfig::version).toList();
    }

    @Test
    void theWatcherDeliversEachNewVersionOnceInOrder() throws Exception {
        ManagersServer server = managers(0, null);
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        ConfigWatcher w = watch(server, seen::add);
        assertEquals(1, w.firstApplied().get(WAIT.toSeconds(), TimeUnit.SECONDS).version());

        for (int weight = 2; weight <= 4; weight++) {
            long version = server.store().apply(TestConfigs.exampleWithGoldWeight(weight), "it").version();
            Eventually.await(WAIT, "version " + version, () -> w.current().version() == version);
        }
        assertEquals(List.of(1L, 2L, 3L, 4L), versions(seen));
        assertEquals(server.store().current(), w.current());
        assertEquals(4, w.current().config().clientClass("gold").weight());
    }

    @Test
    void aRefusedVersionIsKeptOutAndLaterOnesStillArrive() throws Exception {
        ManagersServer server = managers(0, null);
        AtomicBoolean refuse = new AtomicBoolean();
        List<Long> offered = new CopyOnWriteArrayList<>();
        ConfigWatcher w = watch(server, v -> {
            offered.add(v.version());
            if (refuse.get()) {
                throw new IllegalStateException("port in use");
            }
        });
        w.firstApplied().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        refuse.set(true);
        server.store().apply(TestConfigs.exampleWithGoldWeight(2), "it");
        Eventually.await(WAIT, "version 2 to be offered", () -> offered.contains(2L));
        assertEquals(1, w.current().version());

        refuse.set(false);
        server.store().apply(TestConfigs.exampleWithGoldWeight(3), "it");
        Eventually.await(WAIT, "version 3", () -> w.current().version() == 3);
        assertEquals(List.of(1L, 2L, 3L), offered);
    }

    @Test
    void theWatcherKeepsItsConfigurationWhileTheManagersAreDownAndResumesAfterARestart(@TempDir Path state)
            throws Exception {
        ManagersServer first = managers(0, state);
        int port = first.localAddress().getPort();
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        ConfigWatcher w = watch(first, seen::add);
        w.firstApplied().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        first.store().apply(TestConfigs.exampleWithGoldWeight(2), "it");
        Eventually.await(WAIT, "version 2", () -> w.current().version() == 2);

        first.close();
        Thread.sleep(300);
        assertEquals(2, w.current().version(), "the last configuration is kept while the managers are down");

        ManagersServer second = managers(port, state);
        assertEquals(2, second.store().current().version(), "the managers resume at the same version");
        second.store().apply(TestConfigs.exampleWithGoldWeight(3), "it");
        Eventually.await(WAIT, "version 3 from the restarted managers", () -> w.current().version() == 3);
        assertEquals(List.of(1L, 2L, 3L), versions(seen));
    }

    @Test
    void theWatcherFollowsManagersThatLostTheirState() throws Exception {
        ManagersServer first = managers(0, null);
        int port = first.localAddress().getPort();
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        ConfigWatcher w = watch(first, seen::add);
        w.firstApplied().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        first.store().apply(TestConfigs.exampleWithGoldWeight(2), "it");
        first.store().apply(TestConfigs.exampleWithGoldWeight(3), "it");
        Eventually.await(WAIT, "version 3", () -> w.current().version() == 3);
        first.close();

        // Back in memory only: version 1 again, the example's content (different from version 3's).
        ManagersServer second = managers(port, null);
        Eventually.await(WAIT, "the watcher to follow the managers back to version 1", () -> w.current().version() == 1);
        assertEquals(second.store().current(), w.current());
        assertEquals(8, w.current().config().clientClass("gold").weight());
    }

    @Test
    void version0IsNotDeliveredTheFirstConfigurationIs() throws Exception {
        ManagersServer server = ManagersServer.start(ManagersServer.Options.builder()
                .listen(new InetSocketAddress("127.0.0.1", 0)).build());
        resources.add(server);
        assertEquals(0, server.store().current().version());
        List<VersionedConfig> seen = new CopyOnWriteArrayList<>();
        ConfigWatcher w = watch(server, seen::add);
        Eventually.await(WAIT, "the watcher's long poll", () -> server.store().waiting() == 1);
        assertEquals(List.of(), seen);
        assertEquals(null, w.current());

        server.store().apply(TestConfigs.example(), "it");
        assertEquals(1, w.firstApplied().get(WAIT.toSeconds(), TimeUnit.SECONDS).version());
        assertEquals(List.of(1L), versions(seen));
    }
}
