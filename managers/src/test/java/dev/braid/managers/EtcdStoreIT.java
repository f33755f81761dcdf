package dev.braid.managers;

import dev.braid.managers.config.TestConfigs;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.managers.etcd.EtcdClient;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** Two stores sharing one etcd prefix: one history, versions by compare-and-swap, each sees the other's. */
@ExtendWith(PooledMemoryBaseline.class)
class EtcdStoreIT {

    @Test
    void twoStoresShareOneHistory(@TempDir Path dir) throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start(dir);
             EtcdClient client = EtcdClient.create(List.of(etcd.client()));
             ConfigStore a = ConfigStore.etcd(client, "/t", 5);
             ConfigStore b = ConfigStore.etcd(client, "/t", 5)) {
            VersionedConfig v1 = a.apply(TestConfigs.example(), "a");
            assertEquals(1, v1.version());
            Eventually.await(Duration.ofSeconds(10), "b sees version 1", () -> b.current().version() == 1);
            assertEquals(v1.sha256(), b.current().sha256());

            // Both write at once: compare-and-swap gives every change its own version.
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<?>> futures = new ArrayList<>();
            for (ConfigStore s : List.of(a, b)) {
                int base = s == a ? 100 : 200;
                futures.add(pool.submit(() -> {
                    for (int i = 1; i <= 5; i++) {
                        int w = base + 50 + i;
                        s.update("class.weight", "writer", c -> ManagersServer.withClassWeight(c, "gold", w));
                        s.apply(TestConfigs.exampleWithGoldWeight(base + i), "writer");
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            Eventually.await(Duration.ofSeconds(10), "both at the newest version", () -> a.current().version() == b.current().version());
            VersionedConfig newest = a.current();
            assertEquals(newest.sha256(), b.current().sha256());
            assertEquals(5, a.history().size(), "history bounded to 5");
            for (long v = newest.version() - 4; v <= newest.version(); v++) {
                assertNotNull(b.version(v), "version " + v + " kept");
            }
            assertEquals(1 + (newest.version() - 1), a.auditLog(1000).size(), "one audit entry per version");
            VersionedConfig rolled = b.rollback(newest.version() - 2, "ops");
            assertEquals(b.version(newest.version() - 2).sha256(), rolled.sha256());
            Eventually.await(Duration.ofSeconds(10), "a follows b's rollback", () -> a.current().version() == rolled.version());
        }
    }
}
