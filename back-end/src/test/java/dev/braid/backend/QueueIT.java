package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.managers.config.QueueSettings;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static dev.braid.backend.TestFrontEnd.await;
import static dev.braid.backend.TestFrontEnd.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The site's wait queue over real sockets: release order, deadline, bound, steady load per origin. */
@ExtendWith(PooledMemoryBaseline.class)
class QueueIT {

    private static Rig threeFullOrigins(QueueSettings queue) throws Exception {
        Rig rig = new Rig();
        List<Origin> config = new ArrayList<>();
        int rank = 0;
        for (String name : List.of("primary", "lagging", "slow")) {
            TestOrigin o = rig.origin(name);
            o.hold = true;
            config.add(new Origin(name, o.url(), rank == 0 ? "primary" : "mirror", rank, 1));
            rank++;
        }
        rig.start(Rig.config(config, queue));
        return rig;
    }

    private static List<CompletableFuture<TestFrontEnd.Reply>> fill(Rig rig) throws Exception {
        List<CompletableFuture<TestFrontEnd.Reply>> busy = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            busy.add(rig.frontEnd.send(get("/busy" + i), 2));
        }
        await(() -> rig.origins.stream().allMatch(o -> o.heldCount() == 1), Duration.ofSeconds(5), "every origin busy");
        return busy;
    }

    @Test
    void waitingRequestsGoByPriorityThenArrivalAndInFlightStaysAtTheMark() throws Exception {
        try (Rig rig = threeFullOrigins(new QueueSettings(100, 10_000, 5))) {
            List<CompletableFuture<TestFrontEnd.Reply>> all = new ArrayList<>(fill(rig));
            int[] rings = {3, 0, 2, 0, 4};
            for (int i = 0; i < rings.length; i++) {
                all.add(rig.frontEnd.send(get("/wait-" + i + "-ring" + rings[i]), rings[i]));
                int depth = i + 1;
                await(() -> rig.stats("primary").queueDepth() == depth, Duration.ofSeconds(5), "queue depth " + depth);
            }
            assertTrue(rig.metrics.scrape().contains("braid_backend_queue_depth{site=\"shop\"} 5"));
            // Free one slot at a time: each frees exactly one waiting request.
            List<String> order = new ArrayList<>();
            for (int i = 0; i < rings.length; i++) {
                TestOrigin busy = rig.origins.get(i % 3);
                int before = busy.arrivals.size();
                assertTrue(busy.releaseOne());
                await(() -> busy.arrivals.size() == before + 1, Duration.ofSeconds(5), "the next waiting request");
                order.add(busy.arrivals().get(before).substring(4));
                for (OriginStats s : rig.backEnd.originStats()) {
                    assertTrue(s.inFlight() <= 1, s.toString());
                }
            }
            assertEquals(List.of("/wait-1-ring0", "/wait-3-ring0", "/wait-2-ring2", "/wait-0-ring3", "/wait-4-ring4"), order);
            rig.origins.forEach(TestOrigin::releaseAll);
            for (CompletableFuture<TestFrontEnd.Reply> r : all) {
                assertEquals(200, r.get().status());
            }
            for (TestOrigin o : rig.origins) {
                assertEquals(1, o.maxInFlight.get(), o.name + " never had more than its mark");
            }
        }
    }

    @Test
    void aRequestPastItsDeadlineGets503WithRetryAfter() throws Exception {
        try (Rig rig = threeFullOrigins(new QueueSettings(100, 300, 7))) {
            List<CompletableFuture<TestFrontEnd.Reply>> busy = fill(rig);
            long start = System.nanoTime();
            TestFrontEnd.Reply late = rig.frontEnd.call(get("/late"), 1);
            long waitedMillis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(503, late.status());
            assertEquals("7", late.headers().get("Retry-After"));
            assertEquals("waited 300 ms for an origin of site shop: every origin that serves page requests is at its "
                    + "high water mark", late.error());
            assertTrue(waitedMillis >= 250, "waited " + waitedMillis + " ms");
            assertEquals(0, rig.stats("primary").queueDepth());
            rig.origins.forEach(TestOrigin::releaseAll);
            for (CompletableFuture<TestFrontEnd.Reply> r : busy) {
                assertEquals(200, r.get().status());
            }
            assertTrue(rig.metrics.scrape().contains("braid_backend_queue_refused_total{site=\"shop\",reason=\"timeout\"} 1"));
        }
    }

    @Test
    void aFullQueueRefusesTheLowestPriority() throws Exception {
        try (Rig rig = threeFullOrigins(new QueueSettings(1, 10_000, 3))) {
            List<CompletableFuture<TestFrontEnd.Reply>> busy = fill(rig);
            CompletableFuture<TestFrontEnd.Reply> waiting = rig.frontEnd.send(get("/low"), 3);
            await(() -> rig.stats("primary").queueDepth() == 1, Duration.ofSeconds(5), "one waiting");
            TestFrontEnd.Reply same = rig.frontEnd.call(get("/same"), 3);
            assertEquals(503, same.status());
            assertEquals("3", same.headers().get("Retry-After"));
            CompletableFuture<TestFrontEnd.Reply> high = rig.frontEnd.send(get("/high"), 0);
            TestFrontEnd.Reply displaced = waiting.get();
            assertEquals(503, displaced.status(), "a higher-priority arrival takes the last place");
            assertTrue(displaced.error().contains("requests of higher or equal priority are waiting"), displaced.error());
            rig.origins.forEach(TestOrigin::releaseAll);
            assertEquals(200, high.get().status());
            for (CompletableFuture<TestFrontEnd.Reply> r : busy) {
                assertEquals(200, r.get().status());
            }
        }
    }
}
