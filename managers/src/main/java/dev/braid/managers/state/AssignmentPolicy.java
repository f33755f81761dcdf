package dev.braid.managers.state;

import dev.braid.managers.config.AssignmentSettings;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.Site;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The assignment policy: lends spare front-ends and back-ends (nodes whose configuration lists no
 * {@code sites}) to sites whose load crosses {@code managers.assignment.highLoad}, and takes them
 * back when it falls below {@code lowLoad}. Pure: time and node loads come in as arguments, so it
 * is tested in virtual time.
 *
 * <p>A site's load, for each role, is the mean load of the healthy nodes of that role serving it
 * (statically or lent). A site whose nodes of a role are all down has load +infinity, so a spare
 * replaces them; a site that has no node of a role in its configuration is left alone for that
 * role.
 *
 * <p>Hysteresis, so that nodes do not flap between sites: a crossing must last
 * {@code holdSeconds} before anything moves; one node moves per site and role per hold period
 * (the next one waits until the last move has had time to take load); a lent node stays at least
 * {@code holdSeconds}; and the two thresholds leave a band in which nothing moves. A lent node
 * that goes down, stops being a spare, or whose site disappears is released at once.
 *
 * <p>Not thread-safe: one leader runs it, one step at a time.
 */
public final class AssignmentPolicy {

    /** A node as the policy sees it. */
    public record NodeLoad(boolean up, double load) {
    }

    private record Key(String role, String site) {
    }

    private final Map<Key, Long> aboveSince = new HashMap<>();
    private final Map<Key, Long> belowSince = new HashMap<>();

    /**
     * One step of the policy at {@code nowMillis}.
     *
     * @param frontEnds loads of front-ends by name (a node missing here is down)
     * @param backEnds  loads of back-ends by name
     * @param current   the assignments in force
     * @return the assignments to put in force (equal to {@code current} when nothing moves)
     */
    public List<Assignment> step(long nowMillis, BraidConfig config, Map<String, NodeLoad> frontEnds,
                                 Map<String, NodeLoad> backEnds, List<Assignment> current) {
        AssignmentSettings s = config.managers().assignment();
        long holdMillis = s.holdSeconds() * 1000L;
        List<Assignment> next = new ArrayList<>();
        for (Assignment a : current) {
            if (stillValid(config, a, NodeReport.FRONT_END.equals(a.role()) ? frontEnds : backEnds)) {
                next.add(a);
            }
        }
        Set<Key> seen = new HashSet<>();
        for (Site site : config.sites()) {
            for (String role : List.of(NodeReport.FRONT_END, NodeReport.BACK_END)) {
                Key key = new Key(role, site.name());
                seen.add(key);
                Map<String, NodeLoad> loads = NodeReport.FRONT_END.equals(role) ? frontEnds : backEnds;
                List<String> statics = staticNodes(config, role, site.name());
                if (statics.isEmpty()) {
                    aboveSince.remove(key);
                    belowSince.remove(key);
                    continue;
                }
                double load = siteLoad(statics, lent(next, key), loads);
                if (load > s.highLoad()) {
                    belowSince.remove(key);
                    long since = aboveSince.computeIfAbsent(key, k -> nowMillis);
                    if (nowMillis - since >= holdMillis) {
                        String spare = freeSpare(config, role, loads, next);
                        if (spare != null) {
                            next.add(new Assignment(role, spare, site.name(), nowMillis));
                            aboveSince.put(key, nowMillis);
                        }
                    }
                } else if (load < s.lowLoad()) {
                    aboveSince.remove(key);
                    long since = belowSince.computeIfAbsent(key, k -> nowMillis);
                    Assignment newest = newestLent(next, key);
                    if (newest != null && nowMillis - since >= holdMillis
                            && nowMillis - newest.sinceMillis() >= holdMillis) {
                        next.remove(newest);
                        belowSince.put(key, nowMillis);
                    }
                } else {
                    aboveSince.remove(key);
                    belowSince.remove(key);
                }
            }
        }
        aboveSince.keySet().retainAll(seen);
        belowSince.keySet().retainAll(seen);
        return next.equals(current) ? current : List.copyOf(next);
    }

    private static boolean stillValid(BraidConfig config, Assignment a, Map<String, NodeLoad> loads) {
        if (config.site(a.site()) == null || !isSpare(config, a.role(), a.node())) {
            return false;
        }
        NodeLoad l = loads.get(a.node());
        return l != null && l.up();
    }

    /** Whether the configuration lists the node with no sites of its own. */
    public static boolean isSpare(BraidConfig config, String role, String node) {
        if (NodeReport.FRONT_END.equals(role)) {
            FrontEndNode fe = config.frontEnd(node);
            return fe != null && fe.sites().isEmpty();
        }
        BackEndNode be = config.backEnd(node);
        return be != null && be.sites().isEmpty();
    }

    private static List<String> staticNodes(BraidConfig config, String role, String site) {
        if (NodeReport.FRONT_END.equals(role)) {
            return config.frontEnds().stream().filter(n -> n.sites().contains(site)).map(FrontEndNode::name).toList();
        }
        return config.backEnds().stream().filter(n -> n.sites().contains(site)).map(BackEndNode::name).toList();
    }

    private static List<String> lent(List<Assignment> assignments, Key key) {
        return assignments.stream().filter(a -> a.role().equals(key.role()) && a.site().equals(key.site()))
                .map(Assignment::node).toList();
    }

    private static double siteLoad(List<String> statics, List<String> lent, Map<String, NodeLoad> loads) {
        double sum = 0;
        int up = 0;
        for (List<String> group : List.of(statics, lent)) {
            for (String n : group) {
                NodeLoad l = loads.get(n);
                if (l != null && l.up()) {
                    sum += l.load();
                    up++;
                }
            }
        }
        return up == 0 ? Double.POSITIVE_INFINITY : sum / up;
    }

    private static String freeSpare(BraidConfig config, String role, Map<String, NodeLoad> loads,
                                    List<Assignment> assignments) {
        Set<String> busy = new HashSet<>();
        for (Assignment a : assignments) {
            if (a.role().equals(role)) {
                busy.add(a.node());
            }
        }
        List<String> names = NodeReport.FRONT_END.equals(role)
                ? config.frontEnds().stream().map(FrontEndNode::name).toList()
                : config.backEnds().stream().map(BackEndNode::name).toList();
        return names.stream()
                .filter(n -> isSpare(config, role, n) && !busy.contains(n))
                .filter(n -> loads.get(n) != null && loads.get(n).up())
                .min(Comparator.comparingDouble((String n) -> loads.get(n).load()).thenComparing(n -> n))
                .orElse(null);
    }

    private static Assignment newestLent(List<Assignment> assignments, Key key) {
        Assignment newest = null;
        for (Assignment a : assignments) {
            if (a.role().equals(key.role()) && a.site().equals(key.site())
                    && (newest == null || a.sinceMillis() >= newest.sinceMillis())) {
                newest = a;
            }
        }
        return newest;
    }
}
