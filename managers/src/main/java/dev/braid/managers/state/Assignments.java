package dev.braid.managers.state;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.FrontEndNode;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The effective configuration: the configuration's static assignments with the assignment
 * policy's lendings on top. Every node applies the effective configuration, so a lent front-end
 * serves its site over links to the site's back-ends, and the front-ends of a site link to a
 * back-end lent to it. Lendings that no longer fit the configuration (node or site gone, node no
 * longer a spare) are ignored.
 */
public final class Assignments {

    private Assignments() {
    }

    /** {@code config} with {@code lent} applied; {@code config} itself when nothing applies. */
    public static BraidConfig effective(BraidConfig config, List<Assignment> lent) {
        List<Assignment> valid = lent.stream()
                .filter(a -> config.site(a.site()) != null && AssignmentPolicy.isSpare(config, a.role(), a.node()))
                .toList();
        if (valid.isEmpty()) {
            return config;
        }
        List<BackEndNode> backEnds = new ArrayList<>();
        for (BackEndNode be : config.backEnds()) {
            Set<String> sites = new LinkedHashSet<>(be.sites());
            for (Assignment a : valid) {
                if (NodeReport.BACK_END.equals(a.role()) && a.node().equals(be.name())) {
                    sites.add(a.site());
                }
            }
            backEnds.add(sites.size() == be.sites().size() ? be
                    : new BackEndNode(be.name(), be.listen(), be.admin(), List.copyOf(sites)));
        }
        List<FrontEndNode> frontEnds = new ArrayList<>();
        for (FrontEndNode fe : config.frontEnds()) {
            Set<String> sites = new LinkedHashSet<>(fe.sites());
            for (Assignment a : valid) {
                if (NodeReport.FRONT_END.equals(a.role()) && a.node().equals(fe.name())) {
                    sites.add(a.site());
                }
            }
            Set<String> links = new LinkedHashSet<>(fe.backEnds());
            for (BackEndNode be : backEnds) {
                boolean lentBackEnd = config.backEnd(be.name()).sites().size() != be.sites().size();
                boolean lentFrontEnd = sites.size() != fe.sites().size();
                if ((lentBackEnd || lentFrontEnd) && be.sites().stream().anyMatch(sites::contains)) {
                    links.add(be.name());
                }
            }
            frontEnds.add(sites.size() == fe.sites().size() && links.size() == fe.backEnds().size() ? fe
                    : new FrontEndNode(fe.name(), fe.listen(), fe.publicAddress(), fe.admin(), fe.region(),
                    fe.capacity(), List.copyOf(sites), List.copyOf(links)));
        }
        return config.withNodes(frontEnds, backEnds);
    }

    /** The names of the front-ends and back-ends effectively serving {@code site}. */
    public static List<String> frontEndsOf(BraidConfig effective, String site) {
        return effective.frontEnds().stream().filter(n -> n.sites().contains(site)).map(FrontEndNode::name).toList();
    }

    public static List<String> backEndsOf(BraidConfig effective, String site) {
        return effective.backEnds().stream().filter(n -> n.sites().contains(site)).map(BackEndNode::name).toList();
    }
}
