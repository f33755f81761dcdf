package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;

import java.nio.ByteBuffer;
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
 * into an immutable lookup structure, and the pure function from a {@link Query} to an
 * {@link Answer}. No I/O, no clock, no randomness: the round-robin position comes in as a
 * parameter, so every rule is testable directly. Any number of threads may call
 * {@link #answer(Query, int)} at once.
 *
 * <p>What it serves, from the configuration:
 * <ul>
 *   <li><b>Zones.</b> Each site host name belongs to a zone: the name minus its first label when
 *       it has three labels or more ({@code www.shop.example} is in {@code shop.example}), else
 *       the name itself ({@code shop.example} is its own zone). Zones may nest; a name belongs to
 *       the deepest zone that contains it.</li>
 *   <li><b>Site names.</b> A query for a site host name gets the public addresses of the
 *       front-ends assigned to that site that also keep a link to a back-end serving it: IPv4 as
 *       A, IPv6 as AAAA, at most {@code answerCount} of them, rotated by one position per query
 *       so load spreads, with the site's {@code dnsTtlSeconds}.</li>
 *   <li><b>Zone apex.</b> A synthesised SOA (serial = configuration version) and one NS record
 *       per configured redirector, named {@code ns1.<zone>}, {@code ns2.<zone>}, ..., each with
 *       an address record when that redirector listens on a specific IP address.</li>
 *   <li><b>Negative answers.</b> A name in a zone without the asked type is NODATA, a name that
 *       does not exist there is NXDOMAIN; both carry the zone's SOA in the authority section,
 *       whose minimum (and TTL) of {@value #NEGATIVE_TTL_SECONDS} s is the negative-caching TTL
 *       (RFC 2308 §5). A name outside every zone is REFUSED.</li>
 * </ul>
 */
public final class ZoneView {

    /** How long resolvers cache a negative answer (the SOA minimum, RFC 2308 §4), in seconds. */
    public static final long NEGATIVE_TTL_SECONDS = 30;
    /** TTL of the SOA, NS and name-server address records, in seconds. */
    public static final long ZONE_TTL_SECONDS = 3600;
    static final long SOA_REFRESH_SECONDS = 3600;
    static final long SOA_RETRY_SECONDS = 600;
    static final long SOA_EXPIRE_SECONDS = 1_209_600;
    /** The version of the empty view, before any configuration has been applied. */
    public static final long NO_VERSION = -1;
    /** Addresses per answer when the configuration does not name this redirector: the configuration's default. */
    public static final int DEFAULT_ANSWER_COUNT = new RedirectorNode(null, null, null, null).answerCount();

    private static final ZoneView EMPTY = new ZoneView(NO_VERSION, DEFAULT_ANSWER_COUNT,
            Map.of(), Map.of(), Map.of(), Set.of());

    private final long version;
    private final int answerCount;
    /** Zone apex key to zone. */
    private final Map<String, Zone> zones;
    /** Site host name key to the addresses handed out for it. */
    private final Map<String, Host> hosts;
    /** Name-server name key to its address records. */
    private final Map<String, List<ResourceRecord>> nameServers;
    /** Every owner name and all of its ancestors: a name here exists, even if it holds no data. */
    private final Set<String> nodes;

    private ZoneView(long version, int answerCount, Map<String, Zone> zones, Map<String, Host> hosts,
                     Map<String, List<ResourceRecord>> nameServers, Set<String> nodes) {
        this.version = version;
        this.answerCount = answerCount;
        this.zones = zones;
        this.hosts = hosts;
        this.nameServers = nameServers;
        this.nodes = nodes;
    }

    /** The view that serves nothing (every query is REFUSED), used until a configuration arrives. */
    public static ZoneView empty() {
        return EMPTY;
    }

    /**
     * Compiles what {@code config} says the redirector should answer.
     *
     * @param version        the configuration's version (the SOA serial is its low 32 bits)
     * @param redirectorName this redirector's name in {@code config.redirectors()}; its {@code answerCount}
     *                       applies. When null or absent, {@link #DEFAULT_ANSWER_COUNT} applies.
     * @throws IllegalArgumentException naming the field, the value and what was expected, when the
     *                                  configuration holds something the redirector cannot serve
     */
    public static ZoneView compile(BraidConfig config, long version, String redirectorName) {
        if (version < 0) {
            throw new IllegalArgumentException("version: " + version + " (expected: >= 0)");
        }
        int answerCount = answerCount(config, redirectorName);

        Map<String, Set<String>> sitesOfBackEnd = new HashMap<>();
        for (BackEndNode b : config.backEnds()) {
            sitesOfBackEnd.computeIfAbsent(b.name(), k -> new HashSet<>()).addAll(b.sites());
        }

        Map<String, Host> hosts = new LinkedHashMap<>();
        Map<String, String> siteOfHost = new HashMap<>();
        Set<String> apexes = new TreeSet<>();
        for (Site site : config.sites()) {
            Host host = host(config, site, sitesOfBackEnd);
            for (int i = 0; i < site.hostnames().size(); i++) {
                String key = hostKey(site, i);
                String owner = siteOfHost.putIfAbsent(key, site.name());
                if (owner != null && !owner.equals(site.name())) {
                    throw new IllegalArgumentException("sites[" + site.name() + "].hostnames[" + i + "]: "
                            + site.hostnames().get(i) + " (expected: a name no other site has; site "
                            + owner + " has it)");
                }
                hosts.put(key, host);
                apexes.add(DomainNames.labelCount(key) >= 3 ? DomainNames.parent(key) : key);
            }
        }

        List<NameServerAddress> serverAddresses = serverAddresses(config);
        Map<String, Zone> zones = new LinkedHashMap<>();
        Map<String, List<ResourceRecord>> nameServers = new HashMap<>();
        Set<String> nodes = new HashSet<>();
        for (String apex : apexes) {
            Zone zone = zone(apex, version, serverAddresses, nameServers);
            zones.put(apex, zone);
            addWithAncestors(nodes, apex);
        }
        hosts.keySet().forEach(k -> addWithAncestors(nodes, k));
        nameServers.keySet().forEach(k -> addWithAncestors(nodes, k));
        return new ZoneView(version, answerCount, Collections.unmodifiableMap(zones),
                Collections.unmodifiableMap(hosts), Collections.unmodifiableMap(nameServers),
                Collections.unmodifiableSet(nodes));
    }

    /** The configuration version this view was compiled from, or {@link #NO_VERSION}. */
    public long version() {
        return version;
    }

    /** How many front-end addresses an answer lists at most. */
    public int answerCount() {
        return answerCount;
    }

    /** The apex of every zone served, lowercase and without the trailing dot, sorted. */
    public Set<String> zones() {
        return Collections.unmodifiableSet(new TreeSet<>(zones.keySet()));
    }

    /**
     * The answer to {@code query}.
     *
     * @param rotation the round-robin position: consecutive values start the address list at
     *                 consecutive front-ends (any int; the wire layer passes a query counter)
     */
    public Answer answer(Query query, int rotation) {
        if (query.optRecords() > 1) {
            return Answer.error(query, Dns.RCODE_FORMERR, false); // RFC 6891 §6.1.1
        }
        boolean oneQuestion = query.questions().size() == 1;
        if (query.edns() != null && query.edns().version() > 0) {
            return Answer.error(query, Dns.RCODE_BADVERS, oneQuestion); // RFC 6891 §6.1.3
        }
        if (query.opcode() != Dns.OPCODE_QUERY) {
            return Answer.error(query, Dns.RCODE_NOTIMP, oneQuestion);
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

        String owner = question.name();
        boolean any = type == Dns.TYPE_ANY;
        List<ResourceRecord> answers = new ArrayList<>();
        List<ResourceRecord> additional = List.of();
        if (key.equals(zone.apex)) {
            if (type == Dns.TYPE_SOA || any) {
                answers.add(zone.soa.withName(owner));
            }
            if (type == Dns.TYPE_NS || any) {
                for (ResourceRecord ns : zone.ns) {
                    answers.add(ns.withName(owner));
                }
                if (!any) {
                    additional = zone.serverAddresses;
                }
            }
        }
        Host host = hosts.get(key);
        if (host != null) {
            if (type == Dns.TYPE_A || any) {
                rotated(host.v4, rotation, answerCount, owner, answers);
            }
            if (type == Dns.TYPE_AAAA || any) {
                rotated(host.v6, rotation, answerCount, owner, answers);
            }
        } else {
            List<ResourceRecord> addresses = nameServers.get(key);
            if (addresses != null) {
                for (ResourceRecord r : addresses) {
                    if (r.type() == type || any) {
                        answers.add(r.withName(owner));
                    }
                }
            }
        }

        int rcode = Dns.RCODE_NOERROR;
        List<ResourceRecord> authority = List.of();
        if (answers.isEmpty()) {
            rcode = nodes.contains(key) ? Dns.RCODE_NOERROR : Dns.RCODE_NXDOMAIN;
            authority = List.of(zone.negativeSoa);
        }
        return new Answer(query.id(), query.opcode(), rcode, true, false, query.recursionDesired(),
                query.checkingDisabled(), query.questions(), answers, authority, additional, query.edns() != null);
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

    private static void rotated(List<ResourceRecord> all, int rotation, int count, String owner,
                                List<ResourceRecord> out) {
        int n = all.size();
        if (n == 0) {
            return;
        }
        int start = Math.floorMod(rotation, n);
        for (int i = 0, k = Math.min(n, count); i < k; i++) {
            out.add(all.get((start + i) % n).withName(owner));
        }
    }

    private static int answerCount(BraidConfig config, String redirectorName) {
        RedirectorNode self = redirectorName == null ? null : config.redirector(redirectorName);
        if (self == null) {
            return DEFAULT_ANSWER_COUNT;
        }
        if (self.answerCount() < 1) {
            throw new IllegalArgumentException("redirectors[" + self.name() + "].answerCount: " + self.answerCount()
                    + " (expected: >= 1)");
        }
        return self.answerCount();
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

    /** The addresses handed out for {@code site}: front-ends assigned to it and linked to a back-end serving it. */
    private static Host host(BraidConfig config, Site site, Map<String, Set<String>> sitesOfBackEnd) {
        if (site.dnsTtlSeconds() < 0) {
            throw new IllegalArgumentException("sites[" + site.name() + "].dnsTtlSeconds: " + site.dnsTtlSeconds()
                    + " (expected: >= 0)");
        }
        long ttl = site.dnsTtlSeconds();
        Map<String, ResourceRecord> v4 = new LinkedHashMap<>();
        Map<String, ResourceRecord> v6 = new LinkedHashMap<>();
        for (FrontEndNode fe : config.frontEnds()) {
            if (!fe.sites().contains(site.name()) || fe.backEnds().stream()
                    .noneMatch(b -> sitesOfBackEnd.getOrDefault(b, Set.of()).contains(site.name()))) {
                continue;
            }
            byte[] address = DomainNames.addressLiteral(fe.publicAddress());
            if (address == null) {
                throw new IllegalArgumentException("frontEnds[" + fe.name() + "].publicAddress: " + fe.publicAddress()
                        + " (expected: an IPv4 or IPv6 address literal)");
            }
            // An RRset holds each address once (RFC 2181 §5), even if two front-ends share it.
            String text = io.netty.util.NetUtil.bytesToIpAddress(address);
            if (address.length == 4) {
                v4.putIfAbsent(text, new ResourceRecord(".", Dns.TYPE_A, ttl, address));
            } else {
                v6.putIfAbsent(text, new ResourceRecord(".", Dns.TYPE_AAAA, ttl, address));
            }
        }
        return new Host(List.copyOf(v4.values()), List.copyOf(v6.values()));
    }

    /** The redirectors in configured order, each with the address it listens on when that is a specific IP. */
    private static List<NameServerAddress> serverAddresses(BraidConfig config) {
        List<NameServerAddress> out = new ArrayList<>();
        for (RedirectorNode r : config.redirectors()) {
            String listen = r.listen();
            int colon = listen.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("redirectors[" + r.name() + "].listen: " + listen
                        + " (expected: host:port)");
            }
            byte[] address = DomainNames.addressLiteral(listen.substring(0, colon));
            // A wildcard or a host name says nothing a resolver could use as the server's address.
            out.add(new NameServerAddress(address == null || DomainNames.isUnspecified(address) ? null : address));
        }
        if (out.isEmpty()) {
            // A zone needs a name server; with none configured the SOA's primary is still named ns1.
            out.add(new NameServerAddress(null));
        }
        return out;
    }

    private static Zone zone(String apex, long version, List<NameServerAddress> servers,
                             Map<String, List<ResourceRecord>> nameServers) {
        String apexName = DomainNames.absolute(apex);
        List<ResourceRecord> ns = new ArrayList<>();
        List<ResourceRecord> addresses = new ArrayList<>();
        for (int i = 0; i < servers.size(); i++) {
            String serverKey = "ns" + (i + 1) + '.' + apex;
            ns.add(new ResourceRecord(apexName, Dns.TYPE_NS, ZONE_TTL_SECONDS, DomainNames.toWire(serverKey)));
            List<ResourceRecord> own = new ArrayList<>(1);
            byte[] address = servers.get(i).address;
            if (address != null) {
                ResourceRecord r = new ResourceRecord(DomainNames.absolute(serverKey),
                        address.length == 4 ? Dns.TYPE_A : Dns.TYPE_AAAA, ZONE_TTL_SECONDS, address);
                own.add(r);
                addresses.add(r);
            }
            nameServers.put(serverKey, List.copyOf(own));
        }
        byte[] mname = DomainNames.toWire("ns1." + apex);
        byte[] rname = DomainNames.toWire("hostmaster." + apex);
        ByteBuffer rdata = ByteBuffer.allocate(mname.length + rname.length + 20);
        rdata.put(mname).put(rname)
                .putInt((int) version) // serial: RFC 1982 arithmetic wraps at 2^32
                .putInt((int) SOA_REFRESH_SECONDS)
                .putInt((int) SOA_RETRY_SECONDS)
                .putInt((int) SOA_EXPIRE_SECONDS)
                .putInt((int) NEGATIVE_TTL_SECONDS);
        byte[] soaData = rdata.array();
        // In negative answers the SOA's own TTL is the negative TTL too (RFC 2308 §3).
        return new Zone(apex, new ResourceRecord(apexName, Dns.TYPE_SOA, ZONE_TTL_SECONDS, soaData),
                new ResourceRecord(apexName, Dns.TYPE_SOA, NEGATIVE_TTL_SECONDS, soaData),
                List.copyOf(ns), List.copyOf(addresses));
    }

    private static void addWithAncestors(Set<String> nodes, String key) {
        // Ancestors are empty non-terminals: they exist, with no data (RFC 8020). Once a name is
        // already present, so are all of its ancestors.
        String name = key;
        while (name != null && nodes.add(name)) {
            name = DomainNames.parent(name);
        }
    }

    private record Zone(String apex, ResourceRecord soa, ResourceRecord negativeSoa, List<ResourceRecord> ns,
                        List<ResourceRecord> serverAddresses) {
    }

    private record Host(List<ResourceRecord> v4, List<ResourceRecord> v6) {
    }

    private record NameServerAddress(byte[] address) {
    }
}
