package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The redirector's answer core: everything it serves, compiled once from a {@link BraidConfig}
 * into an immutable lookup structure, joined with a snapshot of the live state
 * ({@link #withLiveState}), and the pure function from a {@link Query} to an {@link Answer}. No I/O,
 * no clock, no randomness: the client's address and the rotation counter come in as parameters,
 * so every rule is testable directly. Any number of threads may call {@link #answer} at once.
 *
 * <p>What it serves, from the configuration (docs/redirector.md has the whole story):
 * <ul>
 *   <li><b>Zones.</b> Every {@code dns.zones} entry, and for each site host name outside them a
 *       derived zone: the name minus its first label from three labels on, else the name itself.
 *       A name belongs to the deepest zone that contains it.</li>
 *   <li><b>Static records</b> of the explicit zones: A, AAAA, CNAME, and NS below an apex (a
 *       delegation, answered as a referral with its glue).</li>
 *   <li><b>Site names</b> (A, AAAA): the front-ends {@link FrontEndSelector} chooses.</li>
 *   <li><b>Zone apex</b>: a synthesised SOA (serial = configuration version) and one NS per
 *       top-level redirector, {@code ns1.<zone>}, ..., with its address when known.</li>
 *   <li><b>Referrals</b> (with {@code dns.referral}): a top-level redirector answers a site name
 *       asked by a resolver of a region that has point-of-presence redirectors with a CNAME to
 *       {@code <region>.<name>}, a zone delegated to those redirectors; they answer it from their
 *       own measurements.</li>
 *   <li><b>Negative answers</b>: NODATA and NXDOMAIN with the zone's SOA, whose TTL and minimum of
 *       {@value #NEGATIVE_TTL_SECONDS} s is the negative-caching TTL (RFC 2308 §5). REFUSED outside
 *       every zone.</li>
 * </ul>
 * Lookups follow RFC 1034 §4.3.2: a delegation on the way down gives a referral (AA clear, NS in
 * authority, glue in additional); a CNAME is followed within the served zones (at most
 * {@value #MAX_CNAME_CHAIN} links), and the rcode is that of the last name (RFC 6604).
 */
public final class ZoneView {

    /** How long resolvers cache a negative answer (the SOA minimum, RFC 2308 §4), in seconds. */
    public static final long NEGATIVE_TTL_SECONDS = 30;
    /** TTL of the SOA, NS and name-server address records, in seconds. */
    public static final long ZONE_TTL_SECONDS = 3600;
    static final long SOA_REFRESH_SECONDS = 3600;
    static final long SOA_RETRY_SECONDS = 600;
    static final long SOA_EXPIRE_SECONDS = 1_209_600;
    /** CNAME links followed in one answer. */
    static final int MAX_CNAME_CHAIN = 8;
    /** The version of the empty view, before any configuration has been applied. */
    public static final long NO_VERSION = -1;
    /** Addresses per answer when the configuration does not name this redirector. */
    public static final int DEFAULT_ANSWER_COUNT = RedirectorNode.DEFAULT_ANSWER_COUNT;

    private static final ZoneView EMPTY = new ZoneView(NO_VERSION, DEFAULT_ANSWER_COUNT, new int[] {1}, Map.of(),
            Map.of(), new PrefixTable<>(), null, false, Map.of(), Map.of(), NodeState.NONE, Map.of());

    private final long version;
    private final int answerCount;
    private final int[] handoffWeights;
    private final Map<String, Zone> zones;
    /** Every name that exists (holds data or has descendants that do), by key. */
    private final Map<String, Node> nodes;
    private final PrefixTable<String> regions;
    /** This redirector's point-of-presence region, or null for a top-level redirector. */
    private final String popRegion;
    private final boolean referral;
    /** Region to the delegation of its referral zones (top-level redirectors in referral mode). */
    private final Map<String, Referral> referrals;
    private final Map<String, SiteHost> sites;
    private final NodeState nodeState;
    private final Map<String, ProbeResult> probes;

    private ZoneView(long version, int answerCount, int[] handoffWeights, Map<String, Zone> zones,
                     Map<String, Node> nodes, PrefixTable<String> regions, String popRegion, boolean referral,
                     Map<String, Referral> referrals, Map<String, SiteHost> sites, NodeState nodeState,
                     Map<String, ProbeResult> probes) {
        this.version = version;
        this.answerCount = answerCount;
        this.handoffWeights = handoffWeights;
        this.zones = zones;
        this.nodes = nodes;
        this.regions = regions;
        this.popRegion = popRegion;
        this.referral = referral;
        this.referrals = referrals;
        this.sites = sites;
        this.nodeState = nodeState;
        this.probes = probes;
    }

    /** The view that serves nothing (every query is REFUSED), used until a configuration arrives. */
    public static ZoneView empty() {
        return EMPTY;
    }

    /**
     * Compiles what {@code config} says the redirector named {@code redirectorName} should answer,
     * with no live state yet (every front-end healthy and idle).
     *
     * @param version        the configuration's version (the SOA serial is its low 32 bits)
     * @param redirectorName this redirector's name in {@code config.redirectors()}: its
     *                       {@code answerCount} and {@code region} apply (null or absent: defaults)
     * @throws IllegalArgumentException naming the field, the value and what was expected, when the
     *                                  configuration holds something the redirector cannot serve
     */
    public static ZoneView compile(BraidConfig config, long version, String redirectorName) {
        return new Compiler(config, version, redirectorName).compile();
    }

    /** This view answering from another live state; the compiled configuration is shared. */
    public ZoneView withLiveState(NodeState state, Map<String, ProbeResult> probeResults) {
        Map<String, SiteHost> next = new HashMap<>();
        Map<SiteHost, SiteHost> done = new HashMap<>();
        for (Map.Entry<String, SiteHost> e : sites.entrySet()) {
            next.put(e.getKey(), done.computeIfAbsent(e.getValue(), h -> h.withState(state, probeResults,
                    !regions.isEmpty())));
        }
        Map<String, Node> nextNodes = new HashMap<>(nodes.size() * 2);
        for (Map.Entry<String, Node> e : nodes.entrySet()) {
            Node n = e.getValue();
            nextNodes.put(e.getKey(), n.site == null ? n : n.withSite(done.get(n.site)));
        }
        return new ZoneView(version, answerCount, handoffWeights, zones, Collections.unmodifiableMap(nextNodes),
                regions, popRegion, referral, referrals, Collections.unmodifiableMap(next), state,
                Map.copyOf(probeResults));
    }

    public long version() {
        return version;
    }

    public int answerCount() {
        return answerCount;
    }

    /** The apex of every zone served, lowercase and without the trailing dot, sorted. */
    public Set<String> zones() {
        return Collections.unmodifiableSet(new TreeSet<>(zones.keySet()));
    }

    /** The live state this view answers from. */
    public NodeState nodeState() {
        return nodeState;
    }

    /** Site host name keys and the zone each belongs to, for pushing answers elsewhere (RFC 2136). */
    public Map<String, String> siteHostZones() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String host : sites.keySet()) {
            Zone z = enclosingZone(host);
            if (z != null) {
                out.put(host, z.apex);
            }
        }
        return out;
    }

    /** The answer to {@code query} with no client address known (no proximity). */
    public Answer answer(Query query, int rotation) {
        return answer(query, null, rotation);
    }

    /**
     * The answer to {@code query}.
     *
     * @param resolver the address the query came from (4 or 16 octets), or null; used for proximity
     *                 when the query carries no Client Subnet option, and for referrals
     * @param rotation the hand-off position: consecutive values walk through the hand-off weights
     */
    public Answer answer(Query query, byte[] resolver, int rotation) {
        if (query.optRecords() > 1) {
            return Answer.error(query, Dns.RCODE_FORMERR, false); // RFC 6891 §6.1.1
        }
        boolean oneQuestion = query.questions().size() == 1;
        if (query.opcode() != Dns.OPCODE_QUERY) {
            // As NSD does: the header alone, whatever the rest of the message holds.
            return new Answer(query.id(), query.opcode(), Dns.RCODE_NOTIMP, false, false, query.recursionDesired(),
                    false, List.of(), List.of(), List.of(), List.of(), false, null);
        }
        if (query.edns() != null && query.edns().version() > 0) {
            return Answer.error(query, Dns.RCODE_BADVERS, oneQuestion); // RFC 6891 §6.1.3
        }
        if (!oneQuestion) {
            return Answer.error(query, Dns.RCODE_FORMERR, false);
        }
        Query.Question question = query.questions().get(0);
        int type = question.type();
        if (type == Dns.TYPE_OPT) {
            return Answer.error(query, Dns.RCODE_FORMERR, true); // a meta type only valid as a record
        }
        if (question.dnsClass() != Dns.CLASS_IN && question.dnsClass() != Dns.CLASS_ANY) {
            return Answer.error(query, Dns.RCODE_REFUSED, true);
        }
        String key = DomainNames.key(question.name());
        Zone zone = enclosingZone(key);
        if (zone == null || type == Dns.TYPE_AXFR || type == Dns.TYPE_IXFR) {
            return Answer.error(query, Dns.RCODE_REFUSED, true);
        }
        ClientSubnet ecs = query.edns() == null ? null : query.edns().clientSubnet();
        byte[] clientAddress = ecs != null ? (ecs.sourcePrefix() > 0 ? ecs.paddedAddress() : null) : resolver;
        Lookup l = new Lookup();
        String owner = question.name();
        boolean first = true;
        for (int hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
            if (!first) {
                zone = enclosingZone(key);
                if (zone == null) {
                    break; // the chain leaves what we serve: the resolver follows it elsewhere
                }
            }
            String cut = delegationAbove(key, zone, type == Dns.TYPE_DS);
            if (cut != null) {
                Node cutNode = nodes.get(cut);
                if (first) {
                    l.authoritative = false;
                }
                l.authority.addAll(cutNode.records(Dns.TYPE_NS));
                addGlue(cutNode.records(Dns.TYPE_NS), l.additional);
                break;
            }
            Node node = nodes.get(key);
            if (node == null) {
                l.rcode = Dns.RCODE_NXDOMAIN;
                l.authority.add(zone.negativeSoa);
                break;
            }
            List<ResourceRecord> cname = node.records(Dns.TYPE_CNAME);
            if (!cname.isEmpty() && type != Dns.TYPE_CNAME) {
                ResourceRecord c = cname.get(0);
                l.answers.add(c.withName(owner));
                if (type == Dns.TYPE_ANY) {
                    break;
                }
                owner = c.sharedNames()[0];
                key = DomainNames.key(owner);
                first = false;
                continue;
            }
            int before = l.answers.size();
            if (node.site != null && (type == Dns.TYPE_A || type == Dns.TYPE_AAAA
                    || (type == Dns.TYPE_ANY && !key.equals(zone.apex)))) {
                siteAnswer(node.site, key, type, owner, resolver, clientAddress, rotation, l);
            }
            if (l.answers.size() == before && l.referralCname == null) {
                staticAnswer(node, zone, key, type, owner, l);
            }
            if (l.referralCname != null) {
                // Continue at the referral zone's name: the delegation there becomes the rest of the answer.
                owner = l.referralCname;
                key = DomainNames.key(owner);
                l.referralCname = null;
                first = false;
                continue;
            }
            if (l.answers.size() == before) {
                l.authority.add(zone.negativeSoa);
            }
            break;
        }
        ClientSubnet echo = ecs == null ? null : ecs.withScope(ecs.sourcePrefix() == 0 ? 0 : l.scope);
        return new Answer(query.id(), query.opcode(), l.rcode, l.authoritative, false, query.recursionDesired(),
                query.checkingDisabled(), query.questions(), l.answers, l.authority, l.additional,
                query.edns() != null, echo, query.edns() != null && query.edns().dnssecOk());
    }

    private void siteAnswer(SiteHost site, String key, int type, String owner, byte[] resolver, byte[] clientAddress,
                            int rotation, Lookup l) {
        if (referral && popRegion == null && !referrals.isEmpty() && resolver != null && !regions.isEmpty()) {
            PrefixTable.Match<String> m = regions.lookup(resolver);
            Referral r = m.value() == null ? null : referrals.get(m.value());
            if (r != null && !key.startsWith(r.label + ".")) {
                // The name's answer comes from the resolver's point of presence (`000_…`, FIG. 2):
                // a CNAME into the zone delegated to the redirectors there.
                String target = r.label + '.' + key + '.';
                l.answers.add(ResourceRecord.pointer(owner, Dns.TYPE_CNAME, r.ttl, target));
                l.referralCname = target;
                return;
            }
        }
        FrontEndSelector.Client client = null;
        if (popRegion != null) {
            client = new FrontEndSelector.Client(null, regions, popRegion, true);
        } else if (clientAddress != null) {
            client = new FrontEndSelector.Client(clientAddress, regions, null, false);
        }
        if (type == Dns.TYPE_A || type == Dns.TYPE_ANY) {
            addChoice(FrontEndSelector.choose(site.v4, site.v4Dependent, client, rotation, answerCount,
                    handoffWeights), owner, l);
        }
        if (type == Dns.TYPE_AAAA || (type == Dns.TYPE_ANY && l.answers.isEmpty())) {
            addChoice(FrontEndSelector.choose(site.v6, site.v6Dependent, client, rotation, answerCount,
                    handoffWeights), owner, l);
        }
    }

    private static void addChoice(FrontEndSelector.Choice choice, String owner, Lookup l) {
        for (ResourceRecord r : choice.records()) {
            l.answers.add(r.withName(owner));
        }
        l.scope = Math.max(l.scope, choice.scope());
    }

    private void staticAnswer(Node node, Zone zone, String key, int type, String owner, Lookup l) {
        boolean apex = key.equals(zone.apex);
        if (type == Dns.TYPE_ANY) {
            // RFC 8482 §4.2: one RRset answers ANY; the SOA at an apex, else the first held.
            List<ResourceRecord> one = apex ? List.of(zone.soa) : node.firstRrset();
            for (ResourceRecord r : one) {
                l.answers.add(r.withName(owner));
            }
            return;
        }
        if (apex && type == Dns.TYPE_SOA) {
            l.answers.add(zone.soa.withName(owner));
            return;
        }
        List<ResourceRecord> rrset = apex && type == Dns.TYPE_NS ? zone.ns : node.records(type);
        for (ResourceRecord r : rrset) {
            l.answers.add(r.withName(owner));
        }
        if (type == Dns.TYPE_NS) {
            addGlue(rrset, l.additional);
        }
    }

    /** Address records of the NS targets this server holds (RFC 1034 §4.3.2 step 6), A before AAAA. */
    private void addGlue(List<ResourceRecord> nsRecords, List<ResourceRecord> additional) {
        for (ResourceRecord ns : nsRecords) {
            Node target = nodes.get(DomainNames.key(ns.sharedNames()[0]));
            if (target != null) {
                additional.addAll(target.records(Dns.TYPE_A));
                additional.addAll(target.records(Dns.TYPE_AAAA));
            }
        }
    }

    /** The highest delegation point between the zone's apex (excluded) and {@code key} (included unless DS). */
    private String delegationAbove(String key, Zone zone, boolean ds) {
        String cut = null;
        String name = ds ? DomainNames.parent(key) : key;
        while (name != null && name.length() > zone.apex.length()) {
            Node n = nodes.get(name);
            if (n != null && n.delegation) {
                cut = name;
            }
            name = DomainNames.parent(name);
        }
        return cut;
    }

    /** The deepest served zone containing {@code key}, or null. */
    private Zone enclosingZone(String key) {
        for (String name = key; name != null; name = DomainNames.parent(name)) {
            Zone zone = zones.get(name);
            if (zone != null) {
                return zone;
            }
        }
        return null;
    }

    /** What one answer collects while the lookup walks. */
    private static final class Lookup {
        final List<ResourceRecord> answers = new ArrayList<>(4);
        final List<ResourceRecord> authority = new ArrayList<>(2);
        final List<ResourceRecord> additional = new ArrayList<>(2);
        int rcode = Dns.RCODE_NOERROR;
        boolean authoritative = true;
        int scope;
        String referralCname;
    }

    record Zone(String apex, ResourceRecord soa, ResourceRecord negativeSoa, List<ResourceRecord> ns) {
    }

    /** The referral zones of one region: label {@code <region>}, delegated to its redirectors. */
    record Referral(String label, long ttl) {
    }

    /** One name: its static RRsets by type, whether it is a delegation point, and the site it names. */
    static final class Node {
        final Map<Integer, List<ResourceRecord>> rrsets;
        final boolean delegation;
        final SiteHost site;

        Node(Map<Integer, List<ResourceRecord>> rrsets, boolean delegation, SiteHost site) {
            this.rrsets = rrsets;
            this.delegation = delegation;
            this.site = site;
        }

        List<ResourceRecord> records(int type) {
            return rrsets.getOrDefault(type, List.of());
        }

        List<ResourceRecord> firstRrset() {
            for (int type : new int[] {Dns.TYPE_CNAME, Dns.TYPE_A, Dns.TYPE_AAAA, Dns.TYPE_NS}) {
                List<ResourceRecord> r = rrsets.get(type);
                if (r != null) {
                    return r;
                }
            }
            return List.of();
        }

        Node withSite(SiteHost s) {
            return new Node(rrsets, delegation, s);
        }
    }

    /** A site's candidates and, under a live state, who is eligible, per address family. */
    static final class SiteHost {
        final String site;
        final List<FrontEndSelector.Candidate> v4Candidates;
        final List<FrontEndSelector.Candidate> v6Candidates;
        final List<FrontEndSelector.Eligible> v4;
        final List<FrontEndSelector.Eligible> v6;
        final boolean v4Dependent;
        final boolean v6Dependent;

        SiteHost(String site, List<FrontEndSelector.Candidate> v4Candidates,
                 List<FrontEndSelector.Candidate> v6Candidates, NodeState state, Map<String, ProbeResult> probes,
                 boolean hasRegions) {
            this.site = site;
            this.v4Candidates = v4Candidates;
            this.v6Candidates = v6Candidates;
            this.v4 = FrontEndSelector.eligible(v4Candidates, state, probes);
            this.v6 = FrontEndSelector.eligible(v6Candidates, state, probes);
            this.v4Dependent = FrontEndSelector.locationDependent(v4, hasRegions);
            this.v6Dependent = FrontEndSelector.locationDependent(v6, hasRegions);
        }

        SiteHost withState(NodeState state, Map<String, ProbeResult> probes, boolean hasRegions) {
            return new SiteHost(site, v4Candidates, v6Candidates, state, probes, hasRegions);
        }
    }

    /** Builds a view from a configuration; one use. */
    private static final class Compiler {
        private final BraidConfig config;
        private final long version;
        private final RedirectorNode self;
        private final Map<String, Zone> zones = new LinkedHashMap<>();
        private final Map<String, Map<Integer, List<ResourceRecord>>> rrsets = new HashMap<>();
        private final Set<String> delegations = new HashSet<>();
        private final Map<String, SiteHost> sites = new LinkedHashMap<>();
        private final Set<String> existing = new HashSet<>();

        Compiler(BraidConfig config, long version, String redirectorName) {
            if (version < 0) {
                throw new IllegalArgumentException("version: " + version + " (expected: >= 0)");
            }
            this.config = config;
            this.version = version;
            this.self = redirectorName == null ? null : config.redirector(redirectorName);
        }

        ZoneView compile() {
            int answerCount = self == null ? DEFAULT_ANSWER_COUNT : self.answerCount();
            if (answerCount < 1) {
                throw new IllegalArgumentException("redirectors[" + self.name() + "].answerCount: " + answerCount
                        + " (expected: >= 1)");
            }
            DnsSettings dns = config.dns();
            int[] weights = dns.handoffWeights().stream().mapToInt(Integer::intValue).toArray();
            if (weights.length == 0 || weights[0] < 1) {
                throw new IllegalArgumentException("dns.handoffWeights: " + dns.handoffWeights()
                        + " (expected: at least one weight, the first >= 1)");
            }
            PrefixTable<String> regions = new PrefixTable<>();
            // The managers' regions and the redirector's own client networks feed one prefix table.
            for (dev.braid.managers.config.Region r : config.regions()) {
                for (String prefix : r.prefixes()) {
                    regions.put(prefix, r.name());
                }
            }
            for (DnsSettings.ClientNetwork n : dns.clientNetworks()) {
                regions.put(n.prefix(), n.region());
            }
            String popRegion = self == null ? null : self.region();
            List<RedirectorNode> topLevel = config.redirectors().stream().filter(r -> r.region() == null).toList();

            for (DnsSettings.DnsZone z : dns.zones()) {
                zones.put(DomainNames.key(z.name()), null);
            }
            Set<String> explicit = new HashSet<>(zones.keySet());
            Map<String, List<FrontEndSelector.Candidate>[]> candidatesOfSite = candidates();
            Map<String, SiteHost> hostsByKey = new LinkedHashMap<>();
            Map<String, String> siteOfHost = new HashMap<>();
            for (Site site : config.sites()) {
                List<FrontEndSelector.Candidate>[] c = candidatesOfSite.get(site.name());
                SiteHost host = new SiteHost(site.name(), c[0], c[1], NodeState.NONE, Map.of(), !regions.isEmpty());
                for (int i = 0; i < site.hostnames().size(); i++) {
                    String key = hostKey(site, i);
                    String owner = siteOfHost.putIfAbsent(key, site.name());
                    if (owner != null && !owner.equals(site.name())) {
                        throw new IllegalArgumentException("sites[" + site.name() + "].hostnames[" + i + "]: "
                                + site.hostnames().get(i) + " (expected: a name no other site has; site "
                                + owner + " has it)");
                    }
                    hostsByKey.put(key, host);
                }
            }
            if (popRegion == null) {
                for (String key : hostsByKey.keySet()) {
                    if (explicitZoneOf(key, explicit) == null) {
                        zones.putIfAbsent(DomainNames.labelCount(key) >= 3 ? DomainNames.parent(key) : key, null);
                    }
                }
                for (String apex : new ArrayList<>(zones.keySet())) {
                    zones.put(apex, zone(apex, topLevel));
                }
                for (DnsSettings.DnsZone z : dns.zones()) {
                    staticRecords(DomainNames.key(z.name()), z.records());
                }
                sites.putAll(hostsByKey);
            }
            Map<String, Referral> referrals = new HashMap<>();
            Map<String, List<RedirectorNode>> pops = new LinkedHashMap<>();
            for (RedirectorNode r : config.redirectors()) {
                if (r.region() != null) {
                    pops.computeIfAbsent(r.region().toLowerCase(java.util.Locale.ROOT), k -> new ArrayList<>()).add(r);
                }
            }
            long referralTtl = dns.referralTtlSeconds();
            for (Map.Entry<String, List<RedirectorNode>> pop : pops.entrySet()) {
                String label = pop.getKey();
                if (popRegion == null && dns.referral()) {
                    referrals.put(pop.getValue().get(0).region(), new Referral(label, referralTtl));
                    for (String host : hostsByKey.keySet()) {
                        delegate(label + '.' + host, pop.getValue(), referralTtl);
                    }
                } else if (popRegion != null && label.equalsIgnoreCase(popRegion)) {
                    for (Map.Entry<String, SiteHost> e : hostsByKey.entrySet()) {
                        String apex = label + '.' + e.getKey();
                        zones.put(apex, zone(apex, pop.getValue()));
                        sites.put(apex, e.getValue());
                    }
                }
            }

            Map<String, Node> nodes = new HashMap<>();
            for (String apex : zones.keySet()) {
                existing.add(apex);
            }
            existing.addAll(sites.keySet());
            existing.addAll(rrsets.keySet());
            Set<String> all = new HashSet<>();
            for (String k : existing) {
                addWithAncestors(all, k);
            }
            for (String k : all) {
                Map<Integer, List<ResourceRecord>> r = rrsets.getOrDefault(k, Map.of());
                Map<Integer, List<ResourceRecord>> frozen = new HashMap<>();
                r.forEach((t, list) -> frozen.put(t, List.copyOf(list)));
                nodes.put(k, new Node(Map.copyOf(frozen), delegations.contains(k), sites.get(k)));
            }
            return new ZoneView(version, answerCount, weights, Collections.unmodifiableMap(new LinkedHashMap<>(zones)),
                    Collections.unmodifiableMap(nodes), regions, popRegion, dns.referral(), Map.copyOf(referrals),
                    Collections.unmodifiableMap(new LinkedHashMap<>(sites)), NodeState.NONE, Map.of());
        }

        private static String explicitZoneOf(String key, Set<String> explicit) {
            for (String name = key; name != null; name = DomainNames.parent(name)) {
                if (explicit.contains(name)) {
                    return name;
                }
            }
            return null;
        }

        private void add(String key, ResourceRecord r) {
            List<ResourceRecord> list = rrsets.computeIfAbsent(key, k -> new HashMap<>())
                    .computeIfAbsent(r.type(), t -> new ArrayList<>());
            if (!list.contains(r)) {
                list.add(r); // an RRset holds each record once (RFC 2181 §5)
            }
        }

        private void staticRecords(String apex, List<DnsSettings.DnsRecord> records) {
            for (int j = 0; j < records.size(); j++) {
                DnsSettings.DnsRecord rec = records.get(j);
                String path = "dns.zones[" + apex + "].records[" + j + "]";
                String owner = rec.name().equals("@") ? apex
                        : rec.name().endsWith(".") ? DomainNames.key(rec.name())
                        : DomainNames.key(rec.name() + '.' + apex);
                if (!owner.equals(apex) && !owner.endsWith('.' + apex) || !DomainNames.isHostName(owner)) {
                    throw new IllegalArgumentException(path + ".name: " + rec.name() + " (expected: a name in " + apex + ")");
                }
                String ownerName = DomainNames.absolute(owner);
                switch (rec.type()) {
                    case "A", "AAAA" -> {
                        byte[] address = DomainNames.addressLiteral(rec.data());
                        if (address == null || (address.length == 4) != rec.type().equals("A")) {
                            throw new IllegalArgumentException(path + ".data: " + rec.data() + " (expected: an "
                                    + (rec.type().equals("A") ? "IPv4" : "IPv6") + " address literal)");
                        }
                        add(owner, ResourceRecord.of(ownerName, rec.type().equals("A") ? Dns.TYPE_A : Dns.TYPE_AAAA,
                                rec.ttl(), address));
                    }
                    case "CNAME", "NS" -> {
                        String target = DomainNames.key(rec.data());
                        if (!DomainNames.isHostName(target)) {
                            throw new IllegalArgumentException(path + ".data: " + rec.data() + " (expected: a DNS name)");
                        }
                        int type = rec.type().equals("NS") ? Dns.TYPE_NS : Dns.TYPE_CNAME;
                        add(owner, ResourceRecord.pointer(ownerName, type, rec.ttl(), DomainNames.absolute(target)));
                        if (type == Dns.TYPE_NS && !owner.equals(apex)) {
                            delegations.add(owner);
                        }
                    }
                    default -> throw new IllegalArgumentException(path + ".type: " + rec.type()
                            + " (expected: A, AAAA, CNAME, NS)");
                }
            }
        }

        /** Delegates {@code child} to {@code servers} (NS {@code ns1.<child>}, ... with glue). */
        private void delegate(String child, List<RedirectorNode> servers, long ttl) {
            delegations.add(child);
            for (int i = 0; i < servers.size(); i++) {
                String ns = "ns" + (i + 1) + '.' + child;
                add(child, ResourceRecord.pointer(DomainNames.absolute(child), Dns.TYPE_NS, ttl, DomainNames.absolute(ns)));
                byte[] address = serverAddress(servers.get(i));
                if (address != null) {
                    add(ns, ResourceRecord.of(DomainNames.absolute(ns), address.length == 4 ? Dns.TYPE_A : Dns.TYPE_AAAA,
                            ttl, address));
                }
            }
        }

        private Zone zone(String apex, List<RedirectorNode> servers) {
            String apexName = DomainNames.absolute(apex);
            List<ResourceRecord> ns = new ArrayList<>();
            int count = Math.max(1, servers.size());
            for (int i = 0; i < count; i++) {
                String serverKey = "ns" + (i + 1) + '.' + apex;
                ns.add(ResourceRecord.pointer(apexName, Dns.TYPE_NS, ZONE_TTL_SECONDS, DomainNames.absolute(serverKey)));
                byte[] address = i < servers.size() ? serverAddress(servers.get(i)) : null;
                if (address != null) {
                    add(serverKey, ResourceRecord.of(DomainNames.absolute(serverKey),
                            address.length == 4 ? Dns.TYPE_A : Dns.TYPE_AAAA, ZONE_TTL_SECONDS, address));
                } else {
                    rrsets.computeIfAbsent(serverKey, k -> new HashMap<>());
                }
            }
            ResourceRecord soa = ResourceRecord.soa(apexName, ZONE_TTL_SECONDS, DomainNames.absolute("ns1." + apex),
                    DomainNames.absolute("hostmaster." + apex), version & 0xFFFF_FFFFL, SOA_REFRESH_SECONDS,
                    SOA_RETRY_SECONDS, SOA_EXPIRE_SECONDS, NEGATIVE_TTL_SECONDS);
            // In negative answers the SOA's TTL is the lesser of its TTL and its minimum (RFC 2308 §3).
            return new Zone(apex, soa, soa.withTtl(Math.min(ZONE_TTL_SECONDS, NEGATIVE_TTL_SECONDS)), List.copyOf(ns));
        }

        /** The redirector's public address, else its listen address when that is a specific IP. */
        private static byte[] serverAddress(RedirectorNode r) {
            if (r.publicAddress() != null) {
                byte[] a = DomainNames.addressLiteral(r.publicAddress());
                if (a == null) {
                    throw new IllegalArgumentException("redirectors[" + r.name() + "].publicAddress: "
                            + r.publicAddress() + " (expected: an IP address literal)");
                }
                return a;
            }
            String listen = r.listen();
            int colon = listen.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("redirectors[" + r.name() + "].listen: " + listen
                        + " (expected: host:port)");
            }
            byte[] address = DomainNames.addressLiteral(listen.substring(0, colon));
            // A wildcard or a host name says nothing a resolver could use as the server's address.
            return address == null || DomainNames.isUnspecified(address) ? null : address;
        }

        @SuppressWarnings("unchecked")
        private Map<String, List<FrontEndSelector.Candidate>[]> candidates() {
            Map<String, Set<String>> sitesOfBackEnd = new HashMap<>();
            for (BackEndNode b : config.backEnds()) {
                sitesOfBackEnd.computeIfAbsent(b.name(), k -> new HashSet<>()).addAll(b.sites());
            }
            Map<String, List<FrontEndSelector.Candidate>[]> out = new HashMap<>();
            for (Site site : config.sites()) {
                if (site.dnsTtlSeconds() < 0) {
                    throw new IllegalArgumentException("sites[" + site.name() + "].dnsTtlSeconds: "
                            + site.dnsTtlSeconds() + " (expected: >= 0)");
                }
                long ttl = site.dnsTtlSeconds();
                Map<String, FrontEndSelector.Candidate> v4 = new LinkedHashMap<>();
                Map<String, FrontEndSelector.Candidate> v6 = new LinkedHashMap<>();
                for (FrontEndNode fe : config.frontEnds()) {
                    if (!fe.sites().contains(site.name()) || fe.backEnds().stream()
                            .noneMatch(b -> sitesOfBackEnd.getOrDefault(b, Set.of()).contains(site.name()))) {
                        continue;
                    }
                    byte[] address = DomainNames.addressLiteral(fe.publicAddress());
                    if (address == null) {
                        throw new IllegalArgumentException("frontEnds[" + fe.name() + "].publicAddress: "
                                + fe.publicAddress() + " (expected: an IPv4 or IPv6 address literal)");
                    }
                    // An RRset holds each address once (RFC 2181 §5), even if two front-ends share it.
                    String text = io.netty.util.NetUtil.bytesToIpAddress(address);
                    FrontEndSelector.Candidate c = new FrontEndSelector.Candidate(fe.name(), fe.region(),
                            fe.capacity(), ResourceRecord.of(".", address.length == 4 ? Dns.TYPE_A : Dns.TYPE_AAAA,
                            ttl, address));
                    (address.length == 4 ? v4 : v6).putIfAbsent(text, c);
                }
                out.put(site.name(), new List[] {List.copyOf(v4.values()), List.copyOf(v6.values())});
            }
            return out;
        }

        private static String hostKey(Site site, int index) {
            String hostname = site.hostnames().get(index);
            String key = hostname == null ? "" : DomainNames.key(hostname.trim());
            if (!DomainNames.isHostName(key)) {
                throw new IllegalArgumentException("sites[" + site.name() + "].hostnames[" + index + "]: " + hostname
                        + " (expected: a DNS name of letters, digits, '-' and '_', labels of 1 to 63 characters,"
                        + " at most 253 characters)");
            }
            return key;
        }

        private static void addWithAncestors(Set<String> nodes, String key) {
            // Ancestors are empty non-terminals: they exist, with no data (RFC 8020).
            String name = key;
            while (name != null && nodes.add(name)) {
                name = DomainNames.parent(name);
            }
        }
    }
}
