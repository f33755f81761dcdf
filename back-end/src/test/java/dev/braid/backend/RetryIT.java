package dev.braid.backend;

import dev.braid.managers.config.HealthCheck;
import dev.braid.managers.config.Origin;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.braid.backend.TestFrontEnd.get;
import static dev.braid.backend.TestFrontEnd.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Origins killed under load: idempotent requests are retried once elsewhere, POSTs are never sent twice. */
@ExtendWith(PooledMemoryBaseline.class)
class RetryIT {

    @Test
    void noPostIsDuplicatedWhileOriginsAreKilledUnderLoad() throws Exception {
        try (Rig rig = new Rig()) {
            TestOrigin primary = rig.origin("primary");
            TestOrigin lagging = rig.origin("lagging");
            TestOrigin slow = rig.origin("slow");
            for (TestOrigin o : rig.origins) {
                o.delayMillis = 30;
            }
            slow.delayMillis = 60;
            HealthCheck passive = new HealthCheck(null, null, null, null, 3, null, null, 60_000);
            rig.start(Rig.config(List.of(
                    new Origin("primary", primary.url(), "primary", 0, 8, null, null, null, null, null, null, passive),
                    new Origin("lagging", lagging.url(), "mirror", 1, 8, null, null, null, null, null, null, passive),
                    new Origin("slow", slow.url(), "mirror", 2, 8, null, null, null, null, null, null, passive)), null));

            int total = 300;
            int window = 24;
            Map<String, CompletableFuture<TestFrontEnd.Reply>> posts = new HashMap<>();
            Map<String, CompletableFuture<TestFrontEnd.Reply>> gets = new HashMap<>();
            List<CompletableFuture<TestFrontEnd.Reply>> outstanding = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (int i = 0; i < total && System.nanoTime() < deadline; i++) {
                if (i == total / 3) {
                    primary.kill();
                }
                if (i == 2 * total / 3) {
                    lagging.kill();
                }
                String id = "r" + i;
                boolean post = i % 2 == 0;
                FullHttpRequest req = post ? request(HttpMethod.POST, "/order/" + id, "item=" + i) : get("/page/" + id);
                req.headers().set("X-Request-Id", id);
                CompletableFuture<TestFrontEnd.Reply> f = rig.frontEnd.send(req, i % 5);
                (post ? posts : gets).put(id, f);
                outstanding.add(f);
                if (outstanding.size() >= window) {
                    outstanding.remove(0).get(20, TimeUnit.SECONDS);
                }
            }
            for (CompletableFuture<TestFrontEnd.Reply> f : outstanding) {
                f.get(20, TimeUnit.SECONDS);
            }

            Map<String, Integer> seen = new HashMap<>();
            for (TestOrigin o : rig.origins) {
                for (String id : o.requestIds) {
                    seen.merge(id, 1, Integer::sum);
                }
            }
            int ok = 0;
            int notReplayed = 0;
            for (Map.Entry<String, CompletableFuture<TestFrontEnd.Reply>> e : posts.entrySet()) {
                int times = seen.getOrDefault(e.getKey(), 0);
                assertTrue(times <= 1, e.getKey() + " reached origins " + times + " times");
                TestFrontEnd.Reply r = e.getValue().get();
                if (r.status() == 200) {
                    ok++;
                    assertEquals(1, times, e.getKey() + " answered 200 but never reached an origin");
                } else if (r.status() == 502 && r.error().contains("POST is not idempotent, so it was not replayed")) {
                    notReplayed++;
                } else {
                    fail(e.getKey() + ": " + r.status() + " " + r.error());
                }
            }
            for (Map.Entry<String, CompletableFuture<TestFrontEnd.Reply>> e : gets.entrySet()) {
                TestFrontEnd.Reply r = e.getValue().get();
                assertEquals(200, r.status(), e.getKey() + ": " + r.error());
                assertTrue(seen.getOrDefault(e.getKey(), 0) <= 2, "a GET is retried at most once");
            }
            assertEquals(total / 2, ok + notReplayed);
            assertTrue(ok > total / 4, ok + " POSTs answered");
            assertTrue(rig.metrics.scrape().contains("braid_backend_origin_errors_total{site=\"shop\",origin=\"primary\""),
                    "the kills were seen");
            System.out.printf("POSTs: %d answered, %d not replayed (502); retries: %s%n", ok, notReplayed,
                    rig.metrics.scrape().lines().filter(l -> l.startsWith("braid_backend_retries_total")).toList());
        }
    }

    /**
     * A lone origin that closes kept-alive connections as requests arrive on them (its idle timeout
     * racing the pool's): each GET is sent again on another connection and answered, the origin is
     * not ejected for it, and a POST caught the same way is refused, never sent twice.
     */
    @Test
    void aKeptAliveConnectionClosedUnderARequestIsRetriedOnAnotherConnection() throws Exception {
        try (Rig rig = new Rig()) {
            TestOrigin only = rig.origin("only");
            only.closeAtSecondRequest = true;
            HealthCheck passive = new HealthCheck(null, null, null, null, 2, null, null, 60_000);
            rig.start(Rig.config(List.of(
                    new Origin("only", only.url(), "primary", 0, 8, null, null, null, null, null, null, passive)), null));
            for (int i = 0; i < 6; i++) {
                TestFrontEnd.Reply r = rig.frontEnd.send(get("/page/" + i), 1).get(10, TimeUnit.SECONDS);
                assertEquals(200, r.status(), "GET " + i + ": " + r.error());
            }
            assertTrue(only.dropped.get() >= 4, "the origin closed " + only.dropped.get() + " connections under a request");
            String scrape = rig.metrics.scrape();
            double staleRetries = scrape.lines()
                    .filter(l -> l.startsWith("braid_backend_retries_total{site=\"shop\",reason=\"stale_connection\"}"))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
            assertEquals(only.dropped.get(), (int) staleRetries, scrape);
            assertTrue(scrape.contains("braid_backend_origin_healthy{site=\"shop\",origin=\"only\"} 1"), scrape);

            FullHttpRequest post = request(HttpMethod.POST, "/order/p1", "item=1");
            post.headers().set("X-Request-Id", "p1");
            TestFrontEnd.Reply r = rig.frontEnd.send(post, 1).get(10, TimeUnit.SECONDS);
            assertEquals(502, r.status(), r.error());
            assertTrue(r.error().contains("POST is not idempotent"), r.error());
            assertTrue(only.requestIds.stream().filter("p1"::equals).count() <= 1, "never sent twice");
        }
    }
}
