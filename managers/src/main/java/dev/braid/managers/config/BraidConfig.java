package dev.braid.managers.config;

import java.util.List;

/**
 * The whole configuration of a Braid system: one immutable value, validated whole by
 * {@link ConfigValidator} before anything uses it. Field names are the YAML/JSON keys;
 * {@code docs/config.md} is the reference.
 */
public record BraidConfig(
        List<Site> sites,
        List<FrontEndNode> frontEnds,
        List<BackEndNode> backEnds,
        List<ClientClass> clientClasses,
        List<RedirectorNode> redirectors,
        ManagersNode managers,
        TmpSettings tmp,
        DnsSettings dns,
        List<Region> regions) {

    /** No sites, no nodes, default settings: what the managers hold before the first configuration. */
    public static final BraidConfig EMPTY = new BraidConfig(null, null, null, null, null, null, null, null, null);

    /** A configuration with default {@code dns} settings and no regions (no prefix table). */
    public BraidConfig(List<Site> sites, List<FrontEndNode> frontEnds, List<BackEndNode> backEnds,
                       List<ClientClass> clientClasses, List<RedirectorNode> redirectors, ManagersNode managers,
                       TmpSettings tmp) {
        this(sites, frontEnds, backEnds, clientClasses, redirectors, managers, tmp, null, null);
    }

    public BraidConfig {
        sites = sites == null ? List.of() : List.copyOf(sites);
        frontEnds = frontEnds == null ? List.of() : List.copyOf(frontEnds);
        backEnds = backEnds == null ? List.of() : List.copyOf(backEnds);
        clientClasses = clientClasses == null ? List.of() : List.copyOf(clientClasses);
        redirectors = redirectors == null ? List.of() : List.copyOf(redirectors);
        managers = managers == null ? ManagersNode.DEFAULT : managers;
        tmp = tmp == null ? TmpSettings.DEFAULT : tmp;
        dns = dns == null ? DnsSettings.DEFAULT : dns;
        regions = regions == null ? List.of() : List.copyOf(regions);
    }

    /** A configuration with default {@code dns} settings. */
    public BraidConfig(List<Site> sites, List<FrontEndNode> frontEnds, List<BackEndNode> backEnds,
                       List<ClientClass> clientClasses, List<RedirectorNode> redirectors, ManagersNode managers,
                       TmpSettings tmp, List<Region> regions) {
        this(sites, frontEnds, backEnds, clientClasses, redirectors, managers, tmp, null, regions);
    }

    /** A configuration without regions (no prefix table). */
    public BraidConfig(List<Site> sites, List<FrontEndNode> frontEnds, List<BackEndNode> backEnds,
                       List<ClientClass> clientClasses, List<RedirectorNode> redirectors, ManagersNode managers,
                       TmpSettings tmp, DnsSettings dns) {
        this(sites, frontEnds, backEnds, clientClasses, redirectors, managers, tmp, dns, null);
    }

    /** This configuration with other {@code dns} settings. */
    public BraidConfig withDns(DnsSettings dns) {
        return new BraidConfig(sites, frontEnds, backEnds, clientClasses, redirectors, managers, tmp, dns, regions);
    }

    /**
     * The weight the blender gives each ring: the weight of the client classes on it, else the
     * ring's default from {@code tmp.ringWeights}. One list entry per ring, ring 0 first.
     */
    public java.util.List<Integer> ringWeights() {
        java.util.List<Integer> weights = new java.util.ArrayList<>(tmp.ringWeights());
        boolean[] set = new boolean[weights.size()];
        for (ClientClass c : clientClasses) {
            if (c.ring() >= 0 && c.ring() < weights.size() && !set[c.ring()]) {
                weights.set(c.ring(), c.weight());
                set[c.ring()] = true;
            }
        }
        return java.util.List.copyOf(weights);
    }

    public Site site(String name) {
        return sites.stream().filter(s -> name != null && name.equals(s.name())).findFirst().orElse(null);
    }

    public FrontEndNode frontEnd(String name) {
        return frontEnds.stream().filter(n -> name != null && name.equals(n.name())).findFirst().orElse(null);
    }

    public BackEndNode backEnd(String name) {
        return backEnds.stream().filter(n -> name != null && name.equals(n.name())).findFirst().orElse(null);
    }

    public ClientClass clientClass(String name) {
        return clientClasses.stream().filter(c -> name != null && name.equals(c.name())).findFirst().orElse(null);
    }

    public Region region(String name) {
        return regions.stream().filter(r -> name != null && name.equals(r.name())).findFirst().orElse(null);
    }

    /** A copy of this configuration with {@code classes} as its client classes. */
    public BraidConfig withClientClasses(List<ClientClass> classes) {
        return new BraidConfig(sites, frontEnds, backEnds, classes, redirectors, managers, tmp, regions);
    }

    /** A copy of this configuration with these nodes (the assignment layer's effective view). */
    public BraidConfig withNodes(List<FrontEndNode> frontEnds, List<BackEndNode> backEnds) {
        return new BraidConfig(sites, frontEnds, backEnds, clientClasses, redirectors, managers, tmp, regions);
    }

    public RedirectorNode redirector(String name) {
        return redirectors.stream().filter(n -> name != null && name.equals(n.name())).findFirst().orElse(null);
    }

    /** The site serving {@code host} (a Host header or DNS name, case-insensitive, port ignored), or null. */
    public Site siteForHost(String host) {
        if (host == null) {
            return null;
        }
        String h = HostPort.stripPort(host).toLowerCase(java.util.Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        for (Site s : sites) {
            for (String name : s.hostnames()) {
                if (name.equalsIgnoreCase(h)) {
                    return s;
                }
            }
        }
        return null;
    }
}
