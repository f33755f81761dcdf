package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.managers.config.RequestType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Each selection rule on its own, with three origins: a primary, a lagging mirror and a slow mirror. */
class OriginSelectorTest {

    private static final RequestType STATIC = RequestType.DEFAULTS.get(1);
    private static final RequestType PAGE = RequestType.DEFAULTS.get(3);
    private static final RequestType QUERY = RequestType.DEFAULTS.get(2);
    private static final RequestType MEDIA = RequestType.DEFAULTS.get(0);
    private static final long NOW = 1_000_000_000L;

    private static Origin origin(String name, String role, int rank, int hwm, int weight, List<String> types) {
        return new Origin(name, "http://10.0.0.1:80", role, rank, hwm, weight, types, null, null, null, null, null);
    }

    private final OriginState primary = new OriginState(origin("primary", "primary", 0, 2, 1, null));
    private final OriginState lagging = new OriginState(origin("lagging", "mirror", 1, 4, 1, null));
    private final OriginState slow = new OriginState(origin("slow", "mirror", 2, 4, 1, null));
    private final List<OriginState> three = List.of(slow, lagging, primary);

    private String choose(List<OriginState> origins, RequestType type) {
        return choose(origins, type, Set.of());
    }

    private String choose(List<OriginState> origins, RequestType type, Set<String> excluded) {
        OriginSelector.Choice c = OriginSelector.choose(origins, type, excluded, NOW);
        return c.origin() == null ? c.verdict().name() : c.origin().name();
    }

    private static void load(OriginState o, RequestType type, int n) {
        for (int i = 0; i < n; i++) {
            o.started(type);
        }
    }

    @Test
    void theFreshestTakesRequestsUntilItsHighWaterMark() {
        assertEquals("primary", choose(three, PAGE));
        load(primary, PAGE, 1);
        assertEquals("primary", choose(three, PAGE));
        load(primary, PAGE, 1);
        assertEquals("lagging", choose(three, PAGE), "at its mark the primary takes no more");
        primary.finished(PAGE);
        assertEquals("primary", choose(three, PAGE), "below its mark again it takes the next one");
    }

    @Test
    void aPrimaryWinsOverAMirrorOfEqualRank() {
        OriginState mirror0 = new OriginState(origin("mirror0", "mirror", 0, 2, 1, null));
        OriginState primary0 = new OriginState(origin("primary0", "primary", 0, 2, 1, null));
        assertEquals("primary0", choose(List.of(mirror0, primary0), PAGE));
    }

    @Test
    void pastTheFreshestTheLeastCostWeightedLoadWins() {
        load(primary, PAGE, 2);
        load(lagging, QUERY, 1);     // cost 8
        load(slow, STATIC, 3);       // cost 3
        assertEquals("slow", choose(three, PAGE), "3 + 4 < 8 + 4");
        load(slow, PAGE, 2);         // slow: 11
        assertEquals("lagging", choose(three, PAGE), "8 + 4 < 11 + 4");
    }

    @Test
    void weightDividesTheLoad() {
        OriginState big = new OriginState(origin("big", "mirror", 2, 100, 4, null));
        load(primary, PAGE, 2);
        load(lagging, PAGE, 1);      // (4 + 4) / 1 = 8
        load(big, PAGE, 4);          // (16 + 4) / 4 = 5
        assertEquals("big", choose(List.of(primary, lagging, big), PAGE));
    }

    @Test
    void tiesGoToTheFresherMirror() {
        load(primary, PAGE, 2);
        assertEquals("lagging", choose(three, PAGE));
        load(lagging, STATIC, 1);
        assertEquals("slow", choose(three, STATIC), "equal cost is a tie only when the load is equal");
    }

    @Test
    void aMediaRequestPrefersAnOriginWithNoMediaInFlight() {
        load(primary, MEDIA, 1);
        assertEquals("lagging", choose(three, MEDIA), "the primary has room but a media request in flight");
        load(lagging, MEDIA, 1);
        assertEquals("slow", choose(three, MEDIA));
        load(slow, MEDIA, 1);
        assertEquals("primary", choose(three, MEDIA), "every origin has media in flight: the usual rules apply");
        assertEquals("primary", choose(three, PAGE), "other types ignore media in flight");
    }

    @Test
    void onlyCapableOriginsTakePart() {
        OriginState pagesOnly = new OriginState(origin("pages", "primary", 0, 2, 1, List.of("page", "static")));
        OriginState mediaMirror = new OriginState(origin("media", "mirror", 3, 2, 1, List.of("media")));
        List<OriginState> origins = List.of(pagesOnly, mediaMirror);
        assertEquals("pages", choose(origins, PAGE));
        assertEquals("media", choose(origins, MEDIA), "the freshest capable origin, even with a high rank");
        assertEquals("NO_ORIGIN", choose(origins, QUERY));
    }

    @Test
    void unhealthyOriginsAreSkippedAndTheNextFreshestLeads() {
        for (int i = 0; i < 3; i++) {
            primary.health().failed("connection refused", NOW);
        }
        assertEquals("lagging", choose(three, PAGE));
        load(lagging, PAGE, 4);
        assertEquals("slow", choose(three, PAGE));
        for (OriginState o : List.of(lagging, slow)) {
            for (int i = 0; i < 3; i++) {
                o.health().failed("connection refused", NOW);
            }
        }
        assertEquals("NONE_HEALTHY", choose(three, PAGE));
        // Without probes an ejected origin is back after ejectMillis (10 s by default): time is an input.
        assertEquals("primary", OriginSelector.choose(three, PAGE, Set.of(), NOW + 10_000_000_000L).origin().name());
    }

    @Test
    void everyOriginAtItsMarkMeansWait() {
        load(primary, PAGE, 2);
        load(lagging, PAGE, 4);
        load(slow, PAGE, 4);
        assertEquals("ALL_BUSY", choose(three, PAGE));
        slow.finished(PAGE);
        assertEquals("slow", choose(three, PAGE));
    }

    @Test
    void aRetryAvoidsTheOriginThatFailed() {
        assertEquals("lagging", choose(three, PAGE, Set.of("primary")));
        assertEquals("NO_ORIGIN", choose(three, PAGE, Set.of("primary", "lagging", "slow")));
    }

    @Test
    void maxConnectionsCapsTheHighWaterMark() {
        OriginState few = new OriginState(new Origin("few", "http://10.0.0.1:80", null, null, 10, null, null, 1,
                null, null, null, null));
        assertEquals(1, few.highWaterMark());
        load(few, PAGE, 1);
        assertEquals("ALL_BUSY", choose(List.of(few), PAGE));
    }

    @Test
    void nothingChosenHasNoOrigin() {
        assertNull(OriginSelector.choose(List.of(), PAGE, Set.of(), NOW).origin());
    }
}
