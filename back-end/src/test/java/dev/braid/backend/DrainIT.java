package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.testing.PooledMemoryBaseline;
import dev.braid.tmp.ResetCode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static dev.braid.backend.TestFrontEnd.await;
import static dev.braid.backend.TestFrontEnd.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shutting down: new streams are refused, requests in flight finish within the deadline. */
@ExtendWith(PooledMemoryBaseline.class)
class DrainIT {

    @Test
    void inFlightRequestsFinishAndNewStreamsAreRefused() throws Exception {
        try (Rig rig = new Rig()) {
            TestOrigin origin = rig.origin("primary");
            origin.hold = true;
            rig.start(Rig.config(List.of(new Origin("primary", origin.url(), null, null, null)), null));
            CompletableFuture<TestFrontEnd.Reply> inFlight = rig.frontEnd.send(get("/slow"), 2);
            await(() -> origin.heldCount() == 1, Duration.ofSeconds(5), "the request at the origin");
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> rig.backEnd.drain(Duration.ofSeconds(5)));
            await(() -> {
                try {
                    rig.frontEnd.call(get("/new"), 2);
                    return false;
                } catch (ExecutionException e) {
                    return e.getCause() instanceof TestFrontEnd.StreamReset r && r.code == ResetCode.REFUSED
                            && r.getMessage().contains("be-1 is draining");
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, Duration.ofSeconds(5), "a new stream to be refused");
            assertFalse(drained.isDone());
            origin.releaseAll();
            assertEquals(200, inFlight.get().status());
            assertTrue(drained.get(), "drained within the deadline");
        }
    }

    @Test
    void pastTheDeadlineTheLinksCloseAndOpenStreamsAreReset() throws Exception {
        try (Rig rig = new Rig()) {
            TestOrigin origin = rig.origin("primary");
            origin.hold = true;
            rig.start(Rig.config(List.of(new Origin("primary", origin.url(), null, null, null)), null));
            CompletableFuture<TestFrontEnd.Reply> stuck = rig.frontEnd.send(get("/stuck"), 2);
            await(() -> origin.heldCount() == 1, Duration.ofSeconds(5), "the request at the origin");
            assertFalse(rig.backEnd.drain(Duration.ofMillis(200)));
            ExecutionException e = assertThrows(ExecutionException.class, stuck::get);
            assertInstanceOf(TestFrontEnd.StreamReset.class, e.getCause());
            await(() -> rig.backEnd.activeExchanges() == 0, Duration.ofSeconds(5), "the exchange to end");
        }
    }
}
