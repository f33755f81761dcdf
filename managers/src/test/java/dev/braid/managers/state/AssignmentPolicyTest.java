package dev.braid.managers.state;

import dev.braid.managers.config.AssignmentSettings;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.ManagersNode;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.managers.state.AssignmentPolicy.NodeLoad;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The assignment policy in virtual time: thresholds, hold periods, hysteresis, failures. */
public class AssignmentPolicyTest {

    private static final long HOLD = 30_000;

    /** Two sites, one front-end and one back-end each, two spare front-ends and one spare back-end. */
    public static BraidConfig config() {
        List<Site> sites = List.of(
                new Site("shop", List.of("www.shop.example"), null, List.of(new Origin(null, "http://10.0.0.1:80", null, null, 100))),
                new Site("news", List.of("www.news.example"), null, List.of(new Origin(null, "http://10.0.0.2:80", null, null, 100))));
        List<FrontEndNode> fes = List.of(
                new FrontEndNode("fe-shop", null, "192.0.2.1", "0.0.0.0:8081", null, 100, List.of("shop"), List.of("be-shop")),
                new FrontEndNode("fe-news", null, "192.0.2.2", "0.0.0.0:8081", null, 100, List.of("news"), List.of("be-news")),
                new FrontEndNode("fe-spare-1", null, "192.0.2.3", "0.0.0.0:8081", null, 100, List.of(), List.of()),
                new FrontEndNode("fe-spare-2", null, "192.0.2.4", "0.0.0.0:8081", null, 100, List.of(), List.of()));
        List<BackEndNode> bes = List.of(
                new BackEndNode("be-shop", null, null, List.of("shop")),
                new BackEndNode("be-news", null, null, List.of("news")),
                new BackEndNode("be-spare", null, null, List.of()));
        return new BraidConfig(sites, fes, bes, null, null,
                new ManagersNode(null, null, new AssignmentSettings(0.8, 0.5, (int) (HOLD / 1000)), null), null);
    }

    private final BraidConfig config = config();
    private final AssignmentPolicy policy = new AssignmentPolicy();
    private final Map<String, NodeLoad> fe = new HashMap<>();
    private final Map<String, NodeLoad> be = new HashMap<>();
    private List<Assignment> current = List.of();

    AssignmentPolicyTest() {
        assertEquals(List.of(), ConfigValidator.validate(config));
        for (String n : List.of("fe-shop", "fe-news", "fe-spare-1", "fe-spare-2")) {
            fe.put(n, new NodeLoad(true, 0.1));
        }
        for (String n : List.of("be-shop", "be-news", "be-spare")) {
            be.put(n, new NodeLoad(true, 0.1));
        }
    }

    private List<Assignment> step(long now) {
        current = policy.step(now, config, fe, be, current);
        List<String> errors = ConfigValidator.validate(Assignments.effective(config, current));
        assertEquals(List.of(), errors, "the effective configuration stays valid");
        return current;
    }

    private void load(String node, double load) {
        fe.put(node, new NodeLoad(true, load));
    }

    private List<String> lentTo(String site) {
        return current.stream().filter(a -> a.site().equals(site)).map(Assignment::node).sorted().toList();
    }

    @Test
    void nothingMovesWhileEverySiteIsBetweenTheThresholds() {
        load("fe-shop", 0.7);
        for (long t = 0; t <= 10 * HOLD; t += 1000) {
            assertEquals(List.of(), step(t));
        }
    }

    @Test
    void aSpareIsLentOnlyAfterTheLoadStaysHighForTheHoldPeriod() {
        load("fe-shop", 0.95);
        step(0);
        step(HOLD - 1);
        assertEquals(List.of(), current, "not before the hold period");
        step(HOLD);
        assertEquals(List.of("fe-spare-1"), lentTo("shop"));
        assertEquals(HOLD, current.get(0).sinceMillis());
        assertEquals("front-end", current.get(0).role());
    }

    @Test
    void aShortSpikeMovesNothing() {
        load("fe-shop", 0.95);
        step(0);
        step(HOLD / 2);
        load("fe-shop", 0.6);
        step(HOLD / 2 + 1000);
        load("fe-shop", 0.95);
        step(HOLD / 2 + 2000);
        step(HOLD + 1000);
        assertEquals(List.of(), current, "the timer restarted when the load fell back into the band");
        step(HOLD / 2 + 2000 + HOLD);
        assertEquals(List.of("fe-spare-1"), lentTo("shop"));
    }

    @Test
    void oneMorePerHoldPeriodWhileTheSiteStaysBusyThenNoMoreSpares() {
        load("fe-shop", 0.95);
        step(0);
        step(HOLD);
        load("fe-spare-1", 0.95);
        step(HOLD + 1000);
        assertEquals(List.of("fe-spare-1"), lentTo("shop"), "the second waits for another hold period");
        step(2 * HOLD);
        assertEquals(List.of("fe-spare-1", "fe-spare-2"), lentTo("shop"));
        load("fe-spare-2", 0.95);
        step(3 * HOLD);
        step(4 * HOLD);
        assertEquals(2, current.size(), "no spare left to lend");
    }

    @Test
    void theLeastLoadedSpareIsLentFirst() {
        load("fe-spare-1", 0.3);
        load("fe-spare-2", 0.05);
        load("fe-shop", 0.95);
        step(0);
        step(HOLD);
        assertEquals(List.of("fe-spare-2"), lentTo("shop"));
    }

    @Test
    void theSpareGoesBackAfterTheLoadStaysLowForTheHoldPeriodAndNoSooner() {
        load("fe-shop", 0.95);
        step(0);
        step(HOLD);
        assertEquals(1, current.size());
        // The spare takes half the load: the mean falls into the band, nothing moves.
        load("fe-shop", 0.6);
        load("fe-spare-1", 0.6);
        for (long t = HOLD; t <= 4 * HOLD; t += 5000) {
            step(t);
        }
        assertEquals(List.of("fe-spare-1"), lentTo("shop"), "inside the band the spare stays");
        load("fe-shop", 0.2);
        load("fe-spare-1", 0.2);
        step(4 * HOLD + 1000);
        step(5 * HOLD);
        assertEquals(1, current.size(), "not before the load has been low for the hold period");
        step(5 * HOLD + 1000);
        assertEquals(List.of(), current);
    }

    @Test
    void aLentSpareStaysAtLeastTheHoldPeriodEvenIfTheLoadDropsAtOnce() {
        load("fe-shop", 0.95);
        step(0);
        step(HOLD);
        load("fe-shop", 0.1);
        load("fe-spare-1", 0.1);
        step(HOLD + 1000);
        step(2 * HOLD);
        assertEquals(1, current.size(), "low for less than the hold period since " + (HOLD + 1000));
        step(2 * HOLD + 1000);
        assertEquals(List.of(), current);
    }

    @Test
    void aSiteWhoseNodesAreAllDownGetsASpareAndADownSpareIsReleasedAtOnce() {
        fe.put("fe-news", new NodeLoad(false, 0));
        step(0);
        step(HOLD);
        assertEquals(List.of("fe-spare-1"), lentTo("news"));
        fe.put("fe-spare-1", new NodeLoad(false, 0));
        step(HOLD + 1000);
        assertEquals(List.of(), lentTo("news"), "a down spare is of no use");
        step(2 * HOLD + 1000);
        assertEquals(List.of("fe-spare-2"), lentTo("news"));
    }

    @Test
    void backEndsAreLentTooAndFrontEndsOfTheSiteLinkToThem() {
        be.put("be-shop", new NodeLoad(true, 0.99));
        step(0);
        step(HOLD);
        assertEquals(List.of(new Assignment("back-end", "be-spare", "shop", HOLD)), current);
        BraidConfig effective = Assignments.effective(config, current);
        assertEquals(List.of("shop"), effective.backEnd("be-spare").sites());
        assertEquals(List.of("be-shop", "be-spare"), effective.frontEnd("fe-shop").backEnds());
        assertEquals(List.of("be-news"), effective.frontEnd("fe-news").backEnds(), "other sites are untouched");
    }

    @Test
    void aLentFrontEndServesTheSiteOverLinksToItsBackEnds() {
        load("fe-shop", 0.95);
        step(0);
        step(HOLD);
        BraidConfig effective = Assignments.effective(config, current);
        assertEquals(List.of("shop"), effective.frontEnd("fe-spare-1").sites());
        assertEquals(List.of("be-shop"), effective.frontEnd("fe-spare-1").backEnds());
        assertEquals(List.of("fe-shop", "fe-spare-1"), Assignments.frontEndsOf(effective, "shop"));
    }

    @Test
    void assignmentsThatNoLongerFitTheConfigurationAreDropped() {
        load("fe-shop", 0.95);
        step(0);
        step(HOLD);
        assertEquals(1, current.size());
        // fe-spare-1 gets a site of its own in the configuration: it is no longer a spare.
        List<FrontEndNode> fes = config.frontEnds().stream()
                .map(n -> n.name().equals("fe-spare-1") ? new FrontEndNode(n.name(), n.listen(), n.publicAddress(),
                        n.admin(), n.region(), n.capacity(), List.of("news"), List.of("be-news")) : n)
                .toList();
        BraidConfig changed = config.withNodes(fes, config.backEnds());
        assertEquals(List.of(), new AssignmentPolicy().step(HOLD + 1000, changed, fe, be, current));
        assertSame(changed, Assignments.effective(changed, current), "stale assignments change nothing");
    }

    @Test
    void nothingIsLentWhenNoSpareIsUp() {
        be.clear();
        for (long t = 0; t <= 3 * HOLD; t += HOLD) {
            step(t);
        }
        assertTrue(current.stream().noneMatch(a -> a.role().equals("back-end")), current.toString());
    }
}
