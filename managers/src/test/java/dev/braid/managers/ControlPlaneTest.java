package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.AssignmentSettings;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ManagersNode;
import dev.braid.managers.state.AssignmentPolicyTest;
import dev.braid.managers.state.NodeReport;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Liveness by heartbeat, the assignment loop and the state snapshot, on a virtual clock. */
class ControlPlaneTest {

    private static final int INTERVAL = 2000;

    private final AtomicLong clock = new AtomicLong(1_000_000);
    private final ConfigStore store = ConfigStore.inMemory();
    private final ControlPlane control = new ControlPlane(store, SharedState.alone("m1"), clock::get);

    ControlPlaneTest() {
        BraidConfig c = AssignmentPolicyTest.config();
        store.apply(new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), c.clientClasses(), c.redirectors(),
                new ManagersNode(null, INTERVAL, new AssignmentSettings(0.8, 0.5, 10), null), c.tmp()), "test");
    }

    private static NodeReport report(String role, double load) {
        return new NodeReport(role, 1, null, "ok", load, Map.of("connections", load * 100), List.of(), List.of(),
                List.of(), null);
    }

    private JsonNode node(String group, String name) {
        for (JsonNode n : control.snapshot().get(group)) {
            if (n.get("name").asText().equals(name)) {
                return n;
            }
        }
        throw new AssertionError(name);
    }

    @Test
    void aNodeMissingThreeReportsIsDown() {
        control.tick();
        assertEquals("unknown", node("frontEnds", "fe-shop").get("status").asText(), "never reported");
        control.accept("fe-shop", report(NodeReport.FRONT_END, 0.2));
        control.tick();
        assertEquals("up", node("frontEnds", "fe-shop").get("status").asText());
        clock.addAndGet(3L * INTERVAL);
        control.tick();
        assertEquals("up", node("frontEnds", "fe-shop").get("status").asText(), "two reports missed, the third is due");
        clock.addAndGet(1);
        control.tick();
        assertEquals("down", node("frontEnds", "fe-shop").get("status").asText(), "three reports missed");
        assertEquals(Map.of("front-end/fe-shop", "down"), Map.of("front-end/fe-shop",
                control.statuses().get("front-end/fe-shop")));
        control.accept("fe-shop", report(NodeReport.FRONT_END, 0.2));
        assertEquals("up", node("frontEnds", "fe-shop").get("status").asText(), "back with its next report");
    }

    @Test
    void reportsFromUnknownNodesOrTheWrongRoleAreRefused() {
        NoSuchElementException e = assertThrows(NoSuchElementException.class,
                () -> control.accept("fe-nowhere", report(NodeReport.FRONT_END, 0)));
        assertEquals("name: fe-nowhere (expected: a front-end of configuration version 1)", e.getMessage());
        assertThrows(NoSuchElementException.class, () -> control.accept("fe-shop", report(NodeReport.BACK_END, 0)));
    }

    @Test
    void everyVisibleChangeGivesANewStateVersionThatWakesLongPolls() throws Exception {
        long v = control.stateVersion();
        CompletableFuture<Long> poll = control.nextAfter(v);
        assertFalse(poll.isDone());
        control.accept("be-shop", report(NodeReport.BACK_END, 0.1));
        assertTrue(poll.isDone());
        assertTrue(poll.get() > v);
        control.tick();
        long settled = control.stateVersion();
        control.tick();
        assertEquals(settled, control.stateVersion(), "a tick that changes nothing keeps the version");
        clock.addAndGet(3L * INTERVAL + 1);
        control.tick();
        assertEquals(settled + 1, control.stateVersion(), "be-shop going down is a change");
    }

    @Test
    void theLeaderLendsASpareToABusySiteAndTheSnapshotShowsIt() {
        for (String fe : List.of("fe-shop", "fe-news", "fe-spare-1", "fe-spare-2")) {
            control.accept(fe, report(NodeReport.FRONT_END, fe.equals("fe-shop") ? 0.95 : 0.1));
        }
        control.tick();
        clock.addAndGet(10_000);
        for (String fe : List.of("fe-shop", "fe-news", "fe-spare-1", "fe-spare-2")) {
            control.accept(fe, report(NodeReport.FRONT_END, fe.equals("fe-shop") ? 0.95 : 0.1));
        }
        control.tick();
        ObjectNode state = control.snapshot();
        assertEquals("fe-spare-1", state.get("assignments").get(0).get("node").asText());
        JsonNode shop = state.get("sites").get(0);
        assertEquals("[\"fe-shop\",\"fe-spare-1\"]", shop.get("frontEnds").toString());
        assertEquals("[\"shop\"]", node("frontEnds", "fe-spare-1").get("lentSites").toString());
        assertEquals(0.525, shop.get("load").get("frontEnds").asDouble(), 1e-9);
        assertEquals("m1", state.get("leader").asText());
    }
}
