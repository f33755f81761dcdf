package dev.braid.redirector;

import dev.braid.managers.config.BraidConfig;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the RFC 2136 updater pushes and when, in virtual time; the UPDATE messages it builds. */
class ExternalSyncTest {

    private static final long S = TimeUnit.SECONDS.toNanos(1);
    /** Re-assert every 60 s; retries after 1 s, doubling to 30 s. */
    private final ExternalSync sync = new ExternalSync(60 * S, S, 30 * S);

    private static ExternalSync.Records records(String zone, String... v4) {
        return new ExternalSync.Records(zone, 20, Set.of(v4), Set.of());
    }

    private static Map<String, ExternalSync.Records> wanted(Object... nameAndRecords) {
        Map<String, ExternalSync.Records> m = new LinkedHashMap<>();
        for (int i = 0; i < nameAndRecords.length; i += 2) {
            m.put((String) nameAndRecords[i], (ExternalSync.Records) nameAndRecords[i + 1]);
        }
        return m;
    }

    private static List<String> names(ExternalSync.Push p) {
        List<String> out = new ArrayList<>();
        for (ExternalSync.Change c : p.changes()) {
            out.add(c.name() + (c.records() == null ? " delete" : " " + c.records().ipv4()));
        }
        return out;
    }

    @Test
    void pushesEveryNameFirstThenOnlyChanges() {
        Map<String, ExternalSync.Records> w = wanted("www.shop.example", records("shop.example", "192.0.2.1"),
                "shop.example", records("shop.example", "192.0.2.1"),
                "blog.example.org", records("example.org", "192.0.2.2"));
        List<ExternalSync.Push> first = sync.due(w, 0);
        assertEquals(2, first.size(), "one push per zone");
        assertEquals("example.org", first.get(0).zone());
        assertEquals(List.of("shop.example [192.0.2.1]", "www.shop.example [192.0.2.1]"), names(first.get(1)));
        first.forEach(p -> sync.succeeded(p, 0));
        assertEquals(0, sync.pending(w));
        assertTrue(sync.due(w, S).isEmpty(), "nothing changed, nothing to push");

        Map<String, ExternalSync.Records> moved = new LinkedHashMap<>(w);
        moved.put("www.shop.example", records("shop.example", "192.0.2.9"));
        assertEquals(1, sync.pending(moved));
        List<ExternalSync.Push> change = sync.due(moved, 2 * S);
        assertEquals(1, change.size());
        assertFalse(change.get(0).reassert());
        assertEquals(List.of("www.shop.example [192.0.2.9]"), names(change.get(0)));
    }

    @Test
    void reassertsEachZoneWholeAfterThePeriod() {
        Map<String, ExternalSync.Records> w = wanted("a.shop.example", records("shop.example", "192.0.2.1"),
                "b.shop.example", records("shop.example", "192.0.2.2"));
        sync.due(w, 0).forEach(p -> sync.succeeded(p, 0));
        assertEquals(60 * S, sync.nextDueNanos(S));
        assertTrue(sync.due(w, 59 * S).isEmpty());
        List<ExternalSync.Push> again = sync.due(w, 60 * S);
        assertEquals(1, again.size());
        assertTrue(again.get(0).reassert());
        assertEquals(2, again.get(0).changes().size());
    }

    @Test
    void failedPushesBackOffDoublingAndCarryTheNewestDecision() {
        Map<String, ExternalSync.Records> w = wanted("www.shop.example", records("shop.example", "192.0.2.1"));
        long now = 0;
        List<Long> waits = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            List<ExternalSync.Push> due = sync.due(w, now);
            assertEquals(1, due.size(), "try " + i);
            long wait = sync.failed(due.get(0), now);
            waits.add(wait / S);
            assertTrue(sync.due(w, now + wait - 1).isEmpty(), "the zone waits out its backoff");
            assertEquals(now + wait, sync.nextDueNanos(now));
            now += wait;
        }
        assertEquals(List.of(1L, 2L, 4L, 8L, 16L, 30L, 30L), waits);
        assertEquals(1, sync.pending(w));

        Map<String, ExternalSync.Records> newer = wanted("www.shop.example", records("shop.example", "192.0.2.7"));
        ExternalSync.Push retry = sync.due(newer, now).get(0);
        assertEquals(List.of("www.shop.example [192.0.2.7]"), names(retry));
        sync.succeeded(retry, now);
        assertEquals(0, sync.pending(newer));
        List<ExternalSync.Push> after = sync.due(wanted("www.shop.example", records("shop.example", "192.0.2.8")),
                now + 1);
        assertEquals(1, after.size(), "a success ends the backoff");
    }

    @Test
    void namesThatGoAwayOrMoveZoneAreDeletedWhereTheyWere() {
        Map<String, ExternalSync.Records> w = wanted("www.shop.example", records("shop.example", "192.0.2.1"),
                "x.eu.shop.example", records("shop.example", "192.0.2.3"));
        sync.due(w, 0).forEach(p -> sync.succeeded(p, 0));
        // The site lost www, and x moved into a zone of its own.
        Map<String, ExternalSync.Records> next = wanted("x.eu.shop.example", records("eu.shop.example", "192.0.2.3"));
        assertEquals(3, sync.pending(next), "x to add in eu.shop.example; www and x to delete in shop.example");
        List<ExternalSync.Push> due = sync.due(next, S);
        assertEquals(2, due.size());
        assertEquals("eu.shop.example", due.get(0).zone());
        assertEquals(List.of("x.eu.shop.example [192.0.2.3]"), names(due.get(0)));
        assertEquals("shop.example", due.get(1).zone());
        assertEquals(List.of("www.shop.example delete", "x.eu.shop.example delete"), names(due.get(1)));
        due.forEach(p -> sync.succeeded(p, S));
        assertEquals(0, sync.pending(next));
        assertTrue(sync.due(next, 2 * S).isEmpty());
    }

    @Test
    void theUpdateReplacesBothAddressFamiliesOfEachName() throws Exception {
        ExternalSync.Push push = new ExternalSync.Push("shop.example", List.of(
                new ExternalSync.Change("www.shop.example", new ExternalSync.Records("shop.example", 20,
                        Set.of("192.0.2.1", "192.0.2.2"), Set.of("2001:db8::3"))),
                new ExternalSync.Change("old.shop.example", null)), false);
        Message u = new Message(ExternalUpdater.update(push).toWire());
        assertEquals("shop.example.", u.getSection(Section.ZONE).get(0).getName().toString());
        assertEquals(Type.SOA, u.getSection(Section.ZONE).get(0).getType());
        List<String> updates = new ArrayList<>();
        for (Record r : u.getSection(Section.UPDATE)) {
            updates.add(r.getName() + " " + org.xbill.DNS.DClass.string(r.getDClass()) + " " + Type.string(r.getType())
                    + " " + r.getTTL() + (r.rdataToString().isEmpty() ? "" : " " + r.rdataToString()));
        }
        assertEquals(List.of(
                "www.shop.example. ANY A 0", "www.shop.example. ANY AAAA 0",
                "www.shop.example. IN A 20 192.0.2.1", "www.shop.example. IN A 20 192.0.2.2",
                "www.shop.example. IN AAAA 20 2001:db8:0:0:0:0:0:3",
                "old.shop.example. ANY A 0", "old.shop.example. ANY AAAA 0"), updates);
    }

    @Test
    void theDecisionIsTheBestRankedFrontEndsOfEachSiteName() {
        BraidConfig config = TestConfigs.shop();
        ZoneView view = ZoneView.compile(config, 1, "r1");
        Map<String, ExternalSync.Records> w = ExternalUpdater.wanted(view);
        assertEquals(Set.of("www.shop.example", "shop.example", "blog.example.org"), w.keySet());
        ExternalSync.Records www = w.get("www.shop.example");
        assertEquals("shop.example", www.zone());
        assertEquals(20, www.ttl());
        assertEquals(Set.of("192.0.2.1", "192.0.2.2"), www.ipv4(), "answerCount 2 of r1");
        assertEquals(Set.of("2001:db8::3"), www.ipv6());

        ZoneView failed = view.withLiveState(new NodeState(Map.of("fe1",
                new NodeState.FrontEnd(false, 0, 0, List.of()))), Map.of());
        assertEquals(Set.of("192.0.2.2"), ExternalUpdater.wanted(failed).get("www.shop.example").ipv4());
        ZoneView none = view.withLiveState(NodeState.NONE, Map.of("fe1", new ProbeResult(false, Double.NaN),
                "fe2", new ProbeResult(false, Double.NaN), "fe3", new ProbeResult(false, Double.NaN)));
        ExternalSync.Records empty = ExternalUpdater.wanted(none).get("www.shop.example");
        assertTrue(empty.ipv4().isEmpty() && empty.ipv6().isEmpty(), "no eligible front-end: no addresses");
        assertNull(ExternalUpdater.wanted(none).get("nope.shop.example"));
    }
}
