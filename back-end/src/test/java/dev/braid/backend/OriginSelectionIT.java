package dev.braid.backend;

import dev.braid.managers.config.Origin;
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

/**
 * Each selection rule over real sockets, with a primary (high water mark 2), a lagging mirror and
 * a slow mirror (marks 4): requests are held at the origins, so what is in flight is known.
 */
@ExtendWith(PooledMemoryBaseline.class)
class OriginSelectionIT {

    @Test
    void freshestFirstThenLeastCostWeightedLoadAndMediaSpreads() throws Exception {
        try (Rig rig = new Rig()) {
            TestOrigin primary = rig.origin("primary");
            TestOrigin lagging = rig.origin("lagging");
            TestOrigin slow = rig.origin("slow");
            slow.delayMillis = 200;
            for (TestOrigin o : rig.origins) {
                o.hold = true;
            }
            rig.start(Rig.config(List.of(
                    new Origin("primary", primary.url(), "primary", 0, 2),
                    new Origin("lagging", lagging.url(), "mirror", 1, 4),
                    new Origin("slow", slow.url(), "mirror", 2, 4)), null));
            List<CompletableFuture<TestFrontEnd.Reply>> replies = new ArrayList<>();
            // Each step waits until the request is held at an origin, so the next choice sees it in flight.
            String[][] steps = {
                    {"/p1", "primary", "the freshest takes requests"},
                    {"/p2", "primary", "up to its high water mark of 2"},
                    {"/p3", "lagging", "then the least loaded mirror; a tie goes to the fresher"},
                    {"/api/q", "slow", "query (cost 8): slow (0 + 8) beats lagging (4 + 8)"},
                    {"/v/a.mp4", "lagging", "media (16): lagging (4 + 16) beats slow (8 + 16)"},
                    {"/v/b.mp4", "slow", "a second media request avoids the origin with media in flight"},
            };
            for (String[] step : steps) {
                int before = heldAt(rig, step[1]);
                replies.add(rig.frontEnd.send(get(step[0]), 2));
                await(() -> heldAt(rig, step[1]) == before + 1, Duration.ofSeconds(5), step[0] + " at " + step[1] + ": " + step[2]);
            }
            assertEquals(2, rig.stats("primary").inFlight());
            assertEquals(2, rig.stats("lagging").inFlight());
            assertEquals(4 + 16, rig.stats("lagging").inFlightCost());
            assertEquals(2, rig.stats("slow").inFlight());
            assertTrue(rig.metrics.scrape().contains("braid_backend_origin_in_flight{site=\"shop\",origin=\"primary\"} 2"),
                    rig.metrics.scrape());

            // Below its mark again, the primary takes the next request.
            primary.releaseOne();
            assertEquals("primary", replies.get(0).get().origin());
            await(() -> rig.stats("primary").inFlight() == 1, Duration.ofSeconds(5), "primary to finish one");
            replies.add(rig.frontEnd.send(get("/p4"), 2));
            await(() -> primary.heldCount() == 2, Duration.ofSeconds(5), "/p4 at the primary");

            for (TestOrigin o : rig.origins) {
                o.releaseAll();
            }
            List<String> servedBy = new ArrayList<>();
            for (CompletableFuture<TestFrontEnd.Reply> r : replies) {
                TestFrontEnd.Reply reply = r.get();
                assertEquals(200, reply.status(), reply.body());
                servedBy.add(reply.origin());
            }
            assertEquals(List.of("primary", "primary", "lagging", "slow", "lagging", "slow", "primary"), servedBy);
            await(() -> rig.backEnd.originStats().stream().allMatch(s -> s.inFlight() == 0), Duration.ofSeconds(5),
                    "nothing in flight");
            assertEquals(3, rig.stats("primary").requests());
        }
    }

    private static int heldAt(Rig rig, String origin) {
        return rig.origins.stream().filter(o -> o.name.equals(origin)).findFirst().orElseThrow().heldCount();
    }
}
