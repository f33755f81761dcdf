package dev.braid.managers.config;

import io.netty.util.NetUtil;

import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Checks a whole {@link BraidConfig} for meaning: names, addresses, ranges and the references
 * between sites and nodes. Every problem is reported, not just the first, each as
 * {@code "field.path: value (expected: ...)"}. Nothing is resolved over the network, so the result
 * depends only on the configuration. The limits below are the ones {@code docs/config.md} lists.
 */
public final class ConfigValidator {

    /** Smallest TMP packet payload, in bytes (the IPv4 minimum datagram a path must carry). */
    public static final int MIN_PACKET_BYTES = 576;
    /** Largest TMP packet payload, in bytes (fits a UDP datagram with room for headers). */
    public static final int MAX_PACKET_BYTES = 65_000;
    /** Smallest blender sub-packet, in bytes. */
    public static final int MIN_SUB_PACKET_BYTES = 16;
    /** Most priority rings a blender may have. */
    public static final int MAX_RINGS = 64;
    /** Largest blend weight of a client class. */
    public static final int MAX_CLASS_WEIGHT = 1000;
    /** Largest DNS TTL of a site's answers, in seconds (one day). */
    public static final int MAX_DNS_TTL_SECONDS = 86_400;
    /** Smallest byte budget of a front-end's cache (1 MiB). */
    public static final long MIN_CACHE_BYTES = 1L << 20;
    /** Largest byte budget of a front-end's cache (1 TiB). */
    public static final long MAX_CACHE_BYTES = 1L << 40;
    /** Largest response body one cache entry holds: one buffer (2 GiB - 1). */
    public static final long MAX_CACHE_OBJECT_BYTES = Integer.MAX_VALUE;
    /** Largest head start of a proactive refresh, in seconds (one hour). */
    public static final int MAX_REFRESH_AHEAD_SECONDS = 3_600;
    /** Largest heuristic freshness lifetime, in seconds (one year). */
    public static final int MAX_HEURISTIC_SECONDS = 31_536_000;
    /** Largest weight of an origin. */
    public static final int MAX_ORIGIN_WEIGHT = 1000;
    /** Largest timeout or interval of an origin or queue, in milliseconds (ten minutes). */
    public static final int MAX_TIMEOUT_MILLIS = 600_000;
    /** Most requests a site's queue may hold. */
    public static final int MAX_QUEUE_REQUESTS = 1_000_000;
    /** Most HTTP/2 streams a front-end lets one client connection open at once. */
    public static final int MAX_HTTP2_CONCURRENT_STREAMS = 10_000;
    /** Smallest and largest HTTP/2 header list a front-end accepts, in bytes. */
    public static final int MIN_HEADER_LIST_BYTES = 1024;
    public static final int MAX_HEADER_LIST_BYTES = 1 << 20;
    /** Longest file path the configuration names, in characters. */
    public static final int MAX_PATH_CHARS = 4096;
    /** Longest interval between two checks of key and certificate files, in seconds. */
    public static final int MAX_RELOAD_CHECK_SECONDS = 3600;

    /** What a valid name of a site, node, class or region looks like, for error messages. */
    public static final String NAME_EXPECTED = Names.NAME_EXPECTED;

    /** Smallest request line limit of a front-end, in bytes. */
    public static final int MIN_REQUEST_LINE_BYTES = 64;
    /** Smallest header section limit of a front-end, in bytes. */
    public static final int MIN_HEADER_BYTES = 256;
    /** Largest request line or header section limit of a front-end, in bytes (1 MiB). */
    public static final int MAX_HEAD_BYTES = 1 << 20;
    /** Most header fields a front-end may be set to accept. */
    public static final int MAX_HEADER_COUNT = 10_000;
    /** Largest idle keep-alive timeout of a front-end, in milliseconds (one hour). */
    public static final int MAX_IDLE_MILLIS = 3_600_000;

    public static final List<String> ORIGIN_ROLES = List.of("primary", "mirror");
    public static final List<String> BLENDER_POLICIES = List.of("per-connection", "per-class");
    public static final List<String> CARRIERS = List.of("udp", "tcp");
    public static final List<String> CONGESTION_CONTROLS = List.of("bbr", "n-flow");
    public static final List<String> SECURITY_MODES = List.of(TmpSettings.SECURITY_AUTO, TmpSettings.SECURITY_REQUIRED,
            TmpSettings.SECURITY_PLAINTEXT);
    /**
     * ChaCha20-Poly1305 has no confidentiality limit a link could reach (RFC 9001 §6.6), so the count is
     * hygiene, not a bound: below 16 a link would update on nearly every packet, above 2^40 (1.5 PB of
     * 1.4 kB packets) the time limit always comes first.
     */
    static final long MIN_KEY_UPDATE_PACKETS = 16;
    static final long MAX_KEY_UPDATE_PACKETS = 1L << 40;
    static final int MAX_KEY_UPDATE_SECONDS = 86_400;
    /** Below a few round trips of a long path the rule would cut live links; above the idle timeout it never acts. */
    static final int MIN_DEAD_PEER_TIMEOUT_MILLIS = 1000;
    static final int MAX_DEAD_PEER_TIMEOUT_MILLIS = 30_000;

    private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z0-9_-]{0,31}");
    private static final Pattern EXTENSION = Pattern.compile("[a-z0-9]{1,16}");

    private ConfigValidator() {
    }

    /** Whether {@code s} is a valid name of a site, node, class or region. */
    public static boolean isName(String s) {
        return Names.isName(s);
    }

    /** Every problem of {@code config}, in document order; empty when it is valid. */
    public static List<String> validate(BraidConfig config) {
        Check c = new Check();
        Set<String> siteNames = names(config.sites(), Site::name);
        Set<String> backEndNames = names(config.backEnds(), BackEndNode::name);
        Set<String> regionNames = names(config.regions(), Region::name);
        Listeners listeners = new Listeners(c);

        c.uniqueNames("sites", config.sites(), Site::name);
        Map<String, String> hostOwner = new HashMap<>();
        for (int i = 0; i < config.sites().size(); i++) {
            site(c, "sites[" + i + "]", config.sites().get(i), hostOwner);
        }

        c.uniqueNames("frontEnds", config.frontEnds(), FrontEndNode::name);
        for (int i = 0; i < config.frontEnds().size(); i++) {
            frontEnd(c, config, "frontEnds[" + i + "]", config.frontEnds().get(i), siteNames, backEndNames, listeners);
            String region = config.frontEnds().get(i).region();
            if (!regionNames.isEmpty() && Names.isName(region) && !regionNames.contains(region)) {
                c.fail("frontEnds[" + i + "].region", region, "the name of a region in regions " + sorted(regionNames));
            }
        }

        c.uniqueNames("backEnds", config.backEnds(), BackEndNode::name);
        for (int i = 0; i < config.backEnds().size(); i++) {
            String p = "backEnds[" + i + "]";
            BackEndNode be = config.backEnds().get(i);
            listeners.node(p, be.listen(), be.admin());
            c.references(p + ".sites", be.sites(), siteNames, "the name of a site in sites");
        }

        c.uniqueNames("clientClasses", config.clientClasses(), ClientClass::name);
        int rings = config.tmp().ringWeights().size();
        Map<Integer, ClientClass> classOfRing = new HashMap<>();
        for (int i = 0; i < config.clientClasses().size(); i++) {
            ClientClass cc = config.clientClasses().get(i);
            clientClass(c, "clientClasses[" + i + "]", cc, rings, i == config.clientClasses().size() - 1);
            ClientClass first = classOfRing.putIfAbsent(cc.ring(), cc);
            if (first != null && !first.weight().equals(cc.weight())) {
                // A ring is blended with one weight; two classes on it must agree on it.
                c.fail("clientClasses[" + i + "].weight", cc.weight(), first.weight() + ", the weight of class "
                        + first.name() + " on the same ring " + cc.ring());
            }
        }

        c.uniqueNames("redirectors", config.redirectors(), RedirectorNode::name);
        for (int i = 0; i < config.redirectors().size(); i++) {
            String p = "redirectors[" + i + "]";
            RedirectorNode rd = config.redirectors().get(i);
            listeners.node(p, rd.listen(), rd.admin());
            c.atLeast(p + ".answerCount", rd.answerCount(), 1);
            redirector(c, p, rd);
        }

        DnsChecks.validate(c::fail, config);

        listeners.add("managers.listen", config.managers().listen());
        managers(c, config.managers());
        tmp(c, config.tmp());
        regions(c, config.regions());
        pki(c, config.pki());
        return c.errors;
    }

    /** Shortest and longest interval between two reports of a node, in milliseconds. */
    public static final int MIN_REPORT_INTERVAL_MS = 100;
    public static final int MAX_REPORT_INTERVAL_MS = 60_000;

    private static void managers(Check c, ManagersNode m) {
        c.range("managers.reportIntervalMs", m.reportIntervalMs(), MIN_REPORT_INTERVAL_MS, MAX_REPORT_INTERVAL_MS);
        AssignmentSettings a = m.assignment();
        boolean highOk = a.highLoad() > 0 && a.highLoad() <= 100;
        if (!highOk) {
            c.fail("managers.assignment.highLoad", a.highLoad(), "a load above 0 and at most 100 (1 = at capacity)");
        }
        if (!(a.lowLoad() >= 0 && (!highOk || a.lowLoad() < a.highLoad()))) {
            c.fail("managers.assignment.lowLoad", a.lowLoad(), highOk
                    ? "0 <= lowLoad < highLoad (" + a.highLoad() + ")" : "a load >= 0, below highLoad");
        }
        c.range("managers.assignment.holdSeconds", a.holdSeconds(), 0, 3600);
        EtcdSettings e = m.etcd();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < e.endpoints().size(); i++) {
            String url = e.endpoints().get(i);
            if (!isEtcdEndpoint(url)) {
                c.fail("managers.etcd.endpoints[" + i + "]", url, "http://host:port, an etcd client URL");
            } else if (!seen.add(url)) {
                c.fail("managers.etcd.endpoints[" + i + "]", url, "each endpoint listed once");
            }
        }
        if (!e.prefix().matches("(/[A-Za-z0-9._-]+)+")) {
            c.fail("managers.etcd.prefix", e.prefix(), "a key prefix such as /braid: '/'-separated names, "
                    + "no trailing '/'");
        }
        c.range("managers.etcd.leaseSeconds", e.leaseSeconds(), 2, 60);
    }

    private static boolean isEtcdEndpoint(String url) {
        if (url == null || !url.startsWith("http://")) {
            return false;
        }
        return isOriginUrl(url);
    }

    private static void regions(Check c, List<Region> regions) {
        c.uniqueNames("regions", regions, Region::name);
        Map<String, String> prefixOwner = new HashMap<>();
        for (int i = 0; i < regions.size(); i++) {
            Region r = regions.get(i);
            for (int j = 0; j < r.prefixes().size(); j++) {
                String path = "regions[" + i + "].prefixes[" + j + "]";
                String prefix = r.prefixes().get(j);
                if (!isCidr(prefix)) {
                    c.fail(path, prefix, "a network in CIDR notation with no host bits set, such as 10.0.0.0/8 "
                            + "or 2001:db8::/32");
                    continue;
                }
                String owner = prefixOwner.putIfAbsent(canonicalCidr(prefix), path);
                if (owner != null) {
                    c.fail(path, prefix, "a network listed once; " + owner + " already lists it");
                }
            }
        }
    }

    private static String canonicalCidr(String cidr) {
        int slash = cidr.indexOf('/');
        InetAddress a = literal(cidr.substring(0, slash));
        return (a == null ? cidr.substring(0, slash) : a.getHostAddress()) + cidr.substring(slash);
    }

    private static List<String> sorted(Set<String> names) {
        List<String> list = new ArrayList<>(names);
        list.sort(null);
        return list;
    }

    private static void site(Check c, String p, Site site, Map<String, String> hostOwner) {
        if (site.hostnames().isEmpty()) {
            c.fail(p + ".hostnames", site.hostnames(), "at least one host name");
        }
        for (int j = 0; j < site.hostnames().size(); j++) {
            String path = p + ".hostnames[" + j + "]";
            String host = site.hostnames().get(j);
            if (!Names.isDnsName(host)) {
                c.fail(path, host, "a DNS name such as www.shop.example: labels of letters, digits and '-', no trailing dot");
                continue;
            }
            String owner = hostOwner.putIfAbsent(host.toLowerCase(Locale.ROOT), path);
            if (owner != null) {
                c.fail(path, host, "a host name served by one site only; " + owner + " already lists it");
            }
        }
        c.range(p + ".dnsTtlSeconds", site.dnsTtlSeconds(), 0, MAX_DNS_TTL_SECONDS);
        if (site.tls() != null) {
            c.path(p + ".tls.certificate", site.tls().certificate(), false);
            c.path(p + ".tls.key", site.tls().key(), false);
        }
        if (site.origins().isEmpty()) {
            c.fail(p + ".origins", site.origins(), "at least one origin");
        }
        uniqueOriginNames(c, p, site.origins());
        for (int k = 0; k < site.origins().size(); k++) {
            String op = p + ".origins[" + k + "]";
            Origin o = site.origins().get(k);
            if (!isOriginUrl(o.url())) {
                c.fail(op + ".url", o.url(), "http://host:port or https://host:port, without path, query or user info");
            }
            if (!ORIGIN_ROLES.contains(o.role())) {
                c.fail(op + ".role", o.role(), String.join(" or ", ORIGIN_ROLES));
            }
            c.atLeast(op + ".freshnessRank", o.freshnessRank(), 0);
            c.atLeast(op + ".maxInFlight", o.maxInFlight(), 1);
            origin(c, op, o, site);
        }
        requestTypes(c, p, site);
        QueueSettings q = site.queue();
        c.range(p + ".queue.maxRequests", q.maxRequests(), 0, MAX_QUEUE_REQUESTS);
        c.range(p + ".queue.timeoutMillis", q.timeoutMillis(), 1, MAX_TIMEOUT_MILLIS);
        c.range(p + ".queue.retryAfterSeconds", q.retryAfterSeconds(), 0, MAX_DNS_TTL_SECONDS);
        c.range(p + ".cache.heuristicPercent", site.cache().heuristicPercent(), 0, 100);
        c.range(p + ".cache.maxHeuristicSeconds", site.cache().maxHeuristicSeconds(), 0, MAX_HEURISTIC_SECONDS);
    }

    /** The back-end's settings of one origin: weight, capabilities, connections, timeouts, TLS, health. */
    private static void origin(Check c, String op, Origin o, Site site) {
        c.range(op + ".weight", o.weight(), 1, MAX_ORIGIN_WEIGHT);
        Set<String> typeNames = names(site.requestTypes(), RequestType::name);
        c.references(op + ".types", o.types(), typeNames, "the name of a type in the site's requestTypes "
                + typeNames.stream().sorted().toList());
        if (o.maxInFlight() >= 1) {
            // maxConnections defaults to maxInFlight: report a bad maxInFlight once, not twice.
            c.atLeast(op + ".maxConnections", o.maxConnections(), 1);
        }
        c.range(op + ".connectTimeoutMillis", o.connectTimeoutMillis(), 1, MAX_TIMEOUT_MILLIS);
        c.range(op + ".responseTimeoutMillis", o.responseTimeoutMillis(), 1, MAX_TIMEOUT_MILLIS);
        if (o.tlsRoots() != null) {
            if (o.url() == null || !o.url().startsWith("https:")) {
                c.fail(op + ".tlsRoots", o.tlsRoots(), "no tlsRoots for an http url; they verify https origins");
            } else if (o.tlsRoots().isBlank()) {
                c.fail(op + ".tlsRoots", o.tlsRoots(), "the path of a PEM file of root certificates");
            }
        }
        HealthCheck h = o.health();
        String hp = op + ".health";
        if (h.path() != null && !isRequestTarget(h.path())) {
            c.fail(hp + ".path", h.path(), "a path starting with '/', such as /health, without spaces or '#'");
        }
        c.range(hp + ".intervalMillis", h.intervalMillis(), 10, MAX_TIMEOUT_MILLIS);
        c.range(hp + ".timeoutMillis", h.timeoutMillis(), 1, MAX_TIMEOUT_MILLIS);
        c.range(hp + ".rise", h.rise(), 1, 100);
        c.range(hp + ".fall", h.fall(), 1, 100);
        if (!(h.errorRatio() > 0 && h.errorRatio() <= 1)) {
            c.fail(hp + ".errorRatio", h.errorRatio(), "a share above 0 and at most 1, such as 0.5");
        }
        c.range(hp + ".errorWindow", h.errorWindow(), 1, 10_000);
        c.range(hp + ".ejectMillis", h.ejectMillis(), 1, MAX_TIMEOUT_MILLIS);
    }

    private static void requestTypes(Check c, String p, Site site) {
        List<RequestType> types = site.requestTypes();
        if (types.isEmpty()) {
            c.fail(p + ".requestTypes", types, "at least one request type (leave the key out for the defaults)");
        }
        c.uniqueNames(p + ".requestTypes", types, RequestType::name);
        for (int i = 0; i < types.size(); i++) {
            String tp = p + ".requestTypes[" + i + "]";
            RequestType t = types.get(i);
            c.range(tp + ".cost", t.cost(), 1, RequestType.MAX_COST);
            if (t.rules().isEmpty() && i != types.size() - 1) {
                c.fail(tp + ".rules", t.rules(), "at least one rule, or this type last: a type without rules "
                        + "matches every request and hides the types after it");
            }
            for (int j = 0; j < t.rules().size(); j++) {
                typeRule(c, tp + ".rules[" + j + "]", t.rules().get(j));
            }
            if (!site.origins().isEmpty() && site.origins().stream().noneMatch(o -> o.serves(t.name()))) {
                c.fail(tp + ".name", t.name(), "a type at least one of the site's origins serves (see origins[].types)");
            }
        }
    }

    private static void typeRule(Check c, String p, TypeRule r) {
        if (r.method() == null && r.pathPrefix() == null && r.extensions() == null && r.header() == null) {
            c.fail(p, "{}", "at least one of method, pathPrefix, extensions, header "
                    + "(a type with no rules already matches everything)");
            return;
        }
        if (r.method() != null && !METHOD.matcher(r.method()).matches()) {
            c.fail(p + ".method", r.method(), "an HTTP method in upper case, such as GET");
        }
        if (r.pathPrefix() != null && !isPathPrefix(r.pathPrefix())) {
            c.fail(p + ".pathPrefix", r.pathPrefix(), "a path starting with '/', without spaces, '?' or '#'");
        }
        if (r.extensions() != null) {
            if (r.extensions().isEmpty()) {
                c.fail(p + ".extensions", r.extensions(), "at least one extension, or no extensions key");
            }
            for (int k = 0; k < r.extensions().size(); k++) {
                String ext = r.extensions().get(k);
                if (ext == null || !EXTENSION.matcher(ext).matches()) {
                    c.fail(p + ".extensions[" + k + "]", ext, "1 to 16 lower-case letters or digits, without the dot, such as mp4");
                }
            }
        }
        if (r.header() != null && !Names.isToken(r.header()) && !isHeaderRule(r.header())) {
            c.fail(p + ".header", r.header(), "Name (the field is present) or Name: value, such as Range or Accept: video/");
        }
    }

    private static void frontEndCache(Check c, String p, CacheSettings cache) {
        boolean budgetOk = c.range(p + ".maxBytes", cache.maxBytes(), MIN_CACHE_BYTES, MAX_CACHE_BYTES);
        long maxObject = budgetOk ? Math.min(cache.maxBytes(), MAX_CACHE_OBJECT_BYTES) : MAX_CACHE_OBJECT_BYTES;
        c.range(p + ".maxObjectBytes", cache.maxObjectBytes(), 1, maxObject,
                "1.." + maxObject + (budgetOk && maxObject == cache.maxBytes() ? ", at most maxBytes" : ""));
        c.atLeast(p + ".refreshMinHits", cache.refreshMinHits(), 0);
        c.range(p + ".refreshAheadSeconds", cache.refreshAheadSeconds(), 1, MAX_REFRESH_AHEAD_SECONDS);
    }

    private static void frontEndLimits(Check c, String p, GatewayLimits limits) {
        c.range(p + ".maxRequestLineBytes", limits.maxRequestLineBytes(), MIN_REQUEST_LINE_BYTES, MAX_HEAD_BYTES);
        c.range(p + ".maxHeaderBytes", limits.maxHeaderBytes(), MIN_HEADER_BYTES, MAX_HEAD_BYTES);
        c.range(p + ".maxHeaderCount", limits.maxHeaderCount(), 1, MAX_HEADER_COUNT);
        c.range(p + ".maxBodyBytes", limits.maxBodyBytes(), 0L, Long.MAX_VALUE);
        c.range(p + ".headerTimeoutMillis", limits.headerTimeoutMillis(), 100, MAX_TIMEOUT_MILLIS);
        c.range(p + ".idleTimeoutMillis", limits.idleTimeoutMillis(), 100, MAX_IDLE_MILLIS);
        c.range(p + ".drainTimeoutMillis", limits.drainTimeoutMillis(), 0, MAX_TIMEOUT_MILLIS);
        c.atLeast(p + ".maxClassRequests", limits.maxClassRequests(), 1);
    }

    private static boolean isSiblingUrl(String url) {
        try {
            URI u = new URI(url);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            return (scheme.equals("http") || scheme.equals("https")) && u.getHost() != null && u.getUserInfo() == null
                    && (u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))
                    && u.getRawQuery() == null && u.getRawFragment() == null;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** Origin names default to their URL, so they may hold any visible characters. */
    private static void uniqueOriginNames(Check c, String p, List<Origin> origins) {
        Map<String, Integer> first = new HashMap<>();
        for (int k = 0; k < origins.size(); k++) {
            String path = p + ".origins[" + k + "].name";
            String n = origins.get(k).name();
            if (n == null || n.isEmpty() || n.length() > 255 || !n.chars().allMatch(ch -> ch > ' ' && ch < 0x7f)) {
                c.fail(path, n, "1 to 255 visible ASCII characters (default: the url)");
                continue;
            }
            Integer earlier = first.putIfAbsent(n, k);
            if (earlier != null) {
                c.fail(path, n, "a name unique among the site's origins; " + p + ".origins[" + earlier + "] has it");
            }
        }
    }

    private static void frontEnd(Check c, BraidConfig config, String p, FrontEndNode fe, Set<String> siteNames,
                                 Set<String> backEndNames, Listeners listeners) {
        listeners.node(p, fe.listen(), fe.admin());
        if (fe.https() != null) {
            https(c, config, p, fe, listeners);
        }
        if (!isUnicastIp(fe.publicAddress())) {
            c.fail(p + ".publicAddress", fe.publicAddress(), "the IP address clients reach this front-end at, "
                    + "an IPv4 or IPv6 literal, not a wildcard or multicast address");
        }
        if (!Names.isName(fe.region())) {
            c.fail(p + ".region", fe.region(), Names.NAME_EXPECTED);
        }
        c.atLeast(p + ".capacity", fe.capacity(), 1);
        frontEndCache(c, p + ".cache", fe.cache());
        frontEndLimits(c, p + ".limits", fe.limits());
        if (fe.siblingUrl() != null && !isSiblingUrl(fe.siblingUrl())) {
            c.fail(p + ".siblingUrl", fe.siblingUrl(), "an http:// or https:// URL of another front-end, "
                    + "with a host and no path, query or fragment, such as http://fe-2.example:8080");
        }
        for (int j = 0; j < fe.proxyProtocolFrom().size(); j++) {
            String cidr = fe.proxyProtocolFrom().get(j);
            if (cidr == null || !isCidr(cidr)) {
                c.fail(p + ".proxyProtocolFrom[" + j + "]", cidr, "a CIDR block with no host bits set, such as 10.0.0.0/8 or 2001:db8::/32");
            }
        }
        c.references(p + ".sites", fe.sites(), siteNames, "the name of a site in sites");
        c.references(p + ".backEnds", fe.backEnds(), backEndNames, "the name of a back-end in backEnds");
        for (int j = 0; j < fe.sites().size(); j++) {
            String siteName = fe.sites().get(j);
            if (!siteNames.contains(siteName)) {
                continue;
            }
            boolean served = fe.backEnds().stream()
                    .map(config::backEnd)
                    .anyMatch(be -> be != null && be.sites().contains(siteName));
            if (!served) {
                c.fail(p + ".sites[" + j + "]", siteName, fe.backEnds().isEmpty()
                        ? "a site one of this front-end's backEnds serves; it lists no backEnds"
                        : "a site one of this front-end's backEnds serves; none of " + fe.backEnds() + " lists it");
            }
        }
    }

    private static void redirector(Check c, String p, RedirectorNode rd) {
        if (rd.publicAddress() != null && !isUnicastIp(rd.publicAddress())) {
            c.fail(p + ".publicAddress", rd.publicAddress(), "the IP address resolvers reach this redirector at, "
                    + "an IPv4 or IPv6 literal, not a wildcard or multicast address");
        }
        if (rd.region() != null && !DnsChecks.isLabel(rd.region())) {
            c.fail(p + ".region", rd.region(), "a region name that is also a DNS label: 1 to 63 letters, digits "
                    + "and '-', not starting or ending with '-'");
        }
        RedirectorNode.ExternalDns x = rd.external();
        if (x == null) {
            return;
        }
        String xp = p + ".external";
        InetSocketAddress server = null;
        try {
            server = HostPort.parseUnresolved(xp + ".server", x.server());
        } catch (IllegalArgumentException e) {
            c.errors.add(e.getMessage());
        }
        if (server != null && (literal(server.getHostString()) == null || server.getPort() == 0)) {
            c.fail(xp + ".server", x.server(), "an IP literal and a port in 1..65535");
        }
        if (x.keyName() == null || !Names.isDnsName(stripDot(x.keyName()))) {
            c.fail(xp + ".keyName", x.keyName(), "the TSIG key's name, a DNS name");
        }
        if (!DnsChecks.TSIG_ALGORITHMS.contains(x.algorithm())) {
            c.fail(xp + ".algorithm", x.algorithm(), String.join(", ", DnsChecks.TSIG_ALGORITHMS));
        }
        if ((x.secret() == null) == (x.secretFile() == null)) {
            c.fail(xp + ".secret", x.secret() == null ? null : "(hidden)", "exactly one of secret and secretFile");
        } else if (x.secret() != null && !DnsChecks.isBase64Key(x.secret())) {
            c.fail(xp + ".secret", "(hidden)", "a key of at least 16 bytes in base64");
        } else if (x.secretFile() != null && x.secretFile().isBlank()) {
            c.fail(xp + ".secretFile", x.secretFile(), "the path of a file holding the key in base64");
        }
        c.range(xp + ".intervalMillis", x.intervalMillis(), 100, 3_600_000);
    }

    static String stripDot(String name) {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    private static void https(Check c, BraidConfig config, String p, FrontEndNode fe, Listeners listeners) {
        HttpsSettings h = fe.https();
        String hp = p + ".https";
        InetSocketAddress address = listeners.add(hp + ".listen", h.listen());
        if (address != null) {
            listeners.distinct(hp + ".listen", h.listen(), address, p + ".listen", fe.listen());
            listeners.distinct(hp + ".listen", h.listen(), address, p + ".admin", fe.admin());
        }
        c.range(hp + ".maxConcurrentStreams", h.maxConcurrentStreams(), 1, MAX_HTTP2_CONCURRENT_STREAMS);
        c.range(hp + ".maxHeaderListBytes", h.maxHeaderListBytes(), MIN_HEADER_LIST_BYTES, MAX_HEADER_LIST_BYTES);
        c.range(hp + ".maxResetsPerWindow", h.maxResetsPerWindow(), 1, 1_000_000);
        c.range(hp + ".resetWindowSeconds", h.resetWindowSeconds(), 1, 3600);
        boolean anyCertificate = fe.sites().stream()
                .map(config::site)
                .anyMatch(s -> s != null && s.tls() != null);
        if (!anyCertificate) {
            c.fail(p + ".sites", fe.sites(), "at least one site with tls, since " + hp
                    + " is set: HTTPS needs a certificate to present");
        }
    }

    private static void pki(Check c, PkiSettings pki) {
        c.path("pki.trustBundle", pki.trustBundle(), false);
        c.path("pki.certificate", pki.certificate(), true);
        c.path("pki.key", pki.key(), true);
        c.range("pki.reloadCheckSeconds", pki.reloadCheckSeconds(), 1, MAX_RELOAD_CHECK_SECONDS);
        Map<String, Integer> issuers = new HashMap<>();
        for (int i = 0; i < pki.crls().size(); i++) {
            String path = "pki.crls[" + i + "]";
            X509CRL crl = parseCrl(pki.crls().get(i));
            if (crl == null) {
                c.fail(path, pki.crls().get(i), "one X.509 CRL in PEM (-----BEGIN X509 CRL-----), "
                        + "as braid keys publish writes it");
                continue;
            }
            String issuer = crl.getIssuerX500Principal().getName();
            Integer earlier = issuers.putIfAbsent(issuer, i);
            if (earlier != null) {
                c.fail(path, issuer, "one CRL per issuing CA; pki.crls[" + earlier + "] is from the same CA");
            }
        }
    }

    /** The CRL {@code pem} holds, or null when it is not exactly one well-formed X.509 CRL in PEM. */
    static X509CRL parseCrl(String pem) {
        String text = pem == null ? "" : pem.strip();
        if (!text.startsWith("-----BEGIN X509 CRL-----") || !text.endsWith("-----END X509 CRL-----")
                || text.indexOf("-----BEGIN", 1) >= 0) {
            return null;
        }
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            return (X509CRL) factory.generateCRL(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)));
        } catch (CRLException | CertificateException | RuntimeException e) {
            return null;
        }
    }

    private static void clientClass(Check c, String p, ClientClass cc, int rings, boolean last) {
        if (rings >= 1 && rings <= MAX_RINGS) {
            c.range(p + ".ring", cc.ring(), 0, rings - 1, "0.." + (rings - 1) + ", a ring of tmp.ringWeights");
        } else {
            c.atLeast(p + ".ring", cc.ring(), 0);
        }
        c.range(p + ".weight", cc.weight(), 1, MAX_CLASS_WEIGHT);
        if (cc.rules().isEmpty() && !last) {
            c.fail(p + ".rules", cc.rules(), "at least one rule, or this class last: a class without rules "
                    + "matches every request and hides the classes after it");
        }
        for (int j = 0; j < cc.rules().size(); j++) {
            rule(c, p + ".rules[" + j + "]", cc.rules().get(j));
        }
    }

    private static void rule(Check c, String p, ClassRule r) {
        if (r.source() == null && r.host() == null && r.pathPrefix() == null && r.method() == null
                && r.header() == null && r.cookie() == null) {
            c.fail(p, "{}", "at least one of source, host, pathPrefix, method, header, cookie "
                    + "(a class with no rules already matches everything)");
            return;
        }
        if (r.source() != null && !isCidr(r.source())) {
            c.fail(p + ".source", r.source(), "a network in CIDR notation with no host bits set, "
                    + "such as 10.0.0.0/8 or 2001:db8::/32");
        }
        if (r.host() != null && !Names.isDnsName(r.host())) {
            c.fail(p + ".host", r.host(), "a DNS name such as www.shop.example");
        }
        if (r.pathPrefix() != null && !isPathPrefix(r.pathPrefix())) {
            c.fail(p + ".pathPrefix", r.pathPrefix(), "a path starting with '/', without spaces, '?' or '#'");
        }
        if (r.method() != null && !METHOD.matcher(r.method()).matches()) {
            c.fail(p + ".method", r.method(), "an HTTP method in upper case, such as GET");
        }
        if (r.header() != null && !isHeaderRule(r.header())) {
            c.fail(p + ".header", r.header(), "Name: value, such as X-Tier: gold");
        }
        if (r.cookie() != null && !isCookieRule(r.cookie())) {
            c.fail(p + ".cookie", r.cookie(), "name=value, such as tier=gold");
        }
    }

    private static void tmp(Check c, TmpSettings t) {
        boolean packetOk = c.range("tmp.packetBytes", t.packetBytes(), MIN_PACKET_BYTES, MAX_PACKET_BYTES);
        int maxSub = packetOk ? t.packetBytes() : MAX_PACKET_BYTES;
        c.range("tmp.subPacketBytes", t.subPacketBytes(), MIN_SUB_PACKET_BYTES, maxSub,
                MIN_SUB_PACKET_BYTES + ".." + maxSub + (packetOk ? ", at most tmp.packetBytes" : ""));
        if (!BLENDER_POLICIES.contains(t.blenderPolicy())) {
            c.fail("tmp.blenderPolicy", t.blenderPolicy(), String.join(" or ", BLENDER_POLICIES));
        }
        int n = t.ringWeights().size();
        if (n < 1 || n > MAX_RINGS) {
            c.fail("tmp.ringWeights", t.ringWeights(), "1 to " + MAX_RINGS + " weights, one per ring");
        }
        for (int i = 0; i < n; i++) {
            c.atLeast("tmp.ringWeights[" + i + "]", t.ringWeights().get(i), 1);
        }
        double rate = t.rateLimitMbps();
        if (!(rate == 0 || rate >= 0.1 && rate <= 100_000)) {
            c.fail("tmp.rateLimitMbps", t.rateLimitMbps(), "0 (no cap) or 0.1..100000 Mbit/s");
        }
        if (!CARRIERS.contains(t.carrier())) {
            c.fail("tmp.carrier", t.carrier(), String.join(" or ", CARRIERS));
        }
        if (!CONGESTION_CONTROLS.contains(t.congestionControl())) {
            c.fail("tmp.congestionControl", t.congestionControl(), String.join(" or ", CONGESTION_CONTROLS));
        }
        if (!SECURITY_MODES.contains(t.security())) {
            c.fail("tmp.security", t.security(), String.join(", ", SECURITY_MODES.subList(0, 2)) + " or "
                    + SECURITY_MODES.get(2));
        }
        c.range("tmp.keyUpdatePackets", t.keyUpdatePackets(), MIN_KEY_UPDATE_PACKETS, MAX_KEY_UPDATE_PACKETS,
                MIN_KEY_UPDATE_PACKETS + "..2^40 packets");
        c.range("tmp.keyUpdateSeconds", t.keyUpdateSeconds(), 1, MAX_KEY_UPDATE_SECONDS, "1.." + MAX_KEY_UPDATE_SECONDS
                + " seconds");
        c.range("tmp.deadPeerTimeoutMillis", t.deadPeerTimeoutMillis(), MIN_DEAD_PEER_TIMEOUT_MILLIS,
                MAX_DEAD_PEER_TIMEOUT_MILLIS, MIN_DEAD_PEER_TIMEOUT_MILLIS + ".." + MAX_DEAD_PEER_TIMEOUT_MILLIS
                        + " ms, at most the 30 s idle timeout");
    }

    static boolean isOriginUrl(String url) {
        if (url == null) {
            return false;
        }
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            return false;
        }
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
            return false;
        }
        String host = u.getHost();
        if (host == null || u.getRawUserInfo() != null || u.getRawQuery() != null || u.getRawFragment() != null) {
            return false;
        }
        if (u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/")) {
            return false;
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        boolean hostOk = Names.isIpLiteral(host) || Names.isDnsName(host);
        return hostOk && u.getPort() >= 1 && u.getPort() <= 65535;
    }

    static boolean isUnicastIp(String s) {
        InetAddress a = literal(s);
        return a != null && !a.isAnyLocalAddress() && !a.isMulticastAddress();
    }

    static InetAddress literal(String s) {
        if (!Names.isIpLiteral(s)) {
            return null;
        }
        try {
            return InetAddress.getByAddress(NetUtil.createByteArrayFromIpAddressString(s));
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** A network in CIDR notation with no host bits set, such as {@code 10.0.0.0/8} or {@code 2001:db8::/32}. */
    public static boolean isCidr(String s) {
        int slash = s.indexOf('/');
        if (slash <= 0 || slash == s.length() - 1) {
            return false;
        }
        InetAddress network = literal(s.substring(0, slash));
        String lengthText = s.substring(slash + 1);
        if (network == null || lengthText.length() > 3 || !lengthText.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
            return false;
        }
        byte[] bytes = network.getAddress();
        int length = Integer.parseInt(lengthText);
        if (length > bytes.length * 8) {
            return false;
        }
        for (int bit = length; bit < bytes.length * 8; bit++) {
            if ((bytes[bit / 8] & (0x80 >>> (bit % 8))) != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean isPathPrefix(String s) {
        if (!s.startsWith("/")) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#') {
                return false;
            }
        }
        return true;
    }

    /** A probe target: an absolute path, optionally with a query. */
    private static boolean isRequestTarget(String s) {
        if (!s.startsWith("/")) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch <= ' ' || ch >= 0x7f || ch == '#') {
                return false;
            }
        }
        return true;
    }

    private static boolean isHeaderRule(String s) {
        int colon = s.indexOf(':');
        if (colon <= 0) {
            return false;
        }
        String value = s.substring(colon + 1).strip();
        if (!Names.isToken(s.substring(0, colon)) || value.isEmpty()) {
            return false;
        }
        return value.chars().noneMatch(ch -> ch < ' ' && ch != '\t' || ch == 0x7f);
    }

    private static boolean isCookieRule(String s) {
        int eq = s.indexOf('=');
        if (eq <= 0 || eq == s.length() - 1 || !Names.isToken(s.substring(0, eq))) {
            return false;
        }
        // RFC 6265 cookie-octets: no controls, whitespace, DQUOTE, comma, semicolon or backslash.
        return s.substring(eq + 1).chars().allMatch(ch -> ch > ' ' && ch < 0x7f && "\",;\\".indexOf(ch) < 0);
    }

    private static <T> Set<String> names(List<T> items, Function<T, String> name) {
        Set<String> set = new HashSet<>();
        for (T item : items) {
            if (name.apply(item) != null) {
                set.add(name.apply(item));
            }
        }
        return set;
    }

    /**
     * The addresses nodes listen on. Two listeners on the same IP literal and port would collide
     * on one machine, so that is an error; wildcard hosts, DNS names and port 0 are not compared,
     * as they may well be different machines or different free ports.
     */
    private static final class Listeners {
        private final Check c;
        private final Map<String, String> owner = new HashMap<>();

        Listeners(Check c) {
            this.c = c;
        }

        void node(String p, String listen, String admin) {
            InetSocketAddress l = add(p + ".listen", listen);
            InetSocketAddress a = add(p + ".admin", admin);
            if (l != null && a != null && l.getPort() != 0 && l.getPort() == a.getPort()
                    && (l.getHostString().equals(a.getHostString()) || isWildcard(l) || isWildcard(a))) {
                c.fail(p + ".admin", admin, "an address other than listen's (" + listen + ")");
            }
        }

        /** Reports {@code path} when it binds the same port as a listener of the same node that may share its host. */
        void distinct(String path, String value, InetSocketAddress address, String otherPath, String otherValue) {
            InetSocketAddress other;
            try {
                other = HostPort.parseUnresolved(otherPath, otherValue);
            } catch (IllegalArgumentException e) {
                return;
            }
            if (address.getPort() != 0 && address.getPort() == other.getPort()
                    && (address.getHostString().equals(other.getHostString()) || isWildcard(address) || isWildcard(other))) {
                c.fail(path, value, "an address other than " + otherPath + "'s (" + otherValue + ")");
            }
        }

        InetSocketAddress add(String path, String value) {
            InetSocketAddress address;
            try {
                address = HostPort.parseUnresolved(path, value);
            } catch (IllegalArgumentException e) {
                c.errors.add(e.getMessage());
                return null;
            }
            InetAddress ip = literal(address.getHostString());
            if (ip != null && !ip.isAnyLocalAddress() && address.getPort() != 0) {
                String key = ip.getHostAddress() + "|" + address.getPort();
                String first = owner.putIfAbsent(key, path);
                if (first != null) {
                    c.fail(path, value, "an address no other listener uses; " + first + " has it");
                }
            }
            return address;
        }

        private static boolean isWildcard(InetSocketAddress a) {
            InetAddress ip = literal(a.getHostString());
            return ip != null && ip.isAnyLocalAddress();
        }
    }

    /** Collects errors in the form {@code "path: value (expected: ...)"}. */
    private static final class Check {
        final List<String> errors = new ArrayList<>();

        void fail(String path, Object value, String expected) {
            errors.add(path + ": " + Names.show(value) + " (expected: " + expected + ")");
        }

        /**
         * A file path as the configuration names it: not empty, no control characters, and, when
         * {@code template}, no placeholders but {@code {name}} and {@code {role}}.
         */
        void path(String path, String value, boolean template) {
            if (value == null || value.isBlank() || value.length() > MAX_PATH_CHARS
                    || value.chars().anyMatch(ch -> ch < ' ' || ch == 0x7f)) {
                fail(path, value, "a file path, 1 to " + MAX_PATH_CHARS + " characters without control characters");
                return;
            }
            String rest = template ? value.replace("{name}", "").replace("{role}", "") : value;
            if (template && (rest.indexOf('{') >= 0 || rest.indexOf('}') >= 0)) {
                fail(path, value, "a file path whose only placeholders are {name} and {role}");
            }
        }

        void atLeast(String path, Integer value, int min) {
            if (value < min) {
                fail(path, value, ">= " + min);
            }
        }

        boolean range(String path, Integer value, int min, int max) {
            return range(path, value, min, max, min + ".." + max);
        }

        boolean range(String path, Long value, long min, long max) {
            return range(path, value, min, max, min + ".." + max);
        }

        boolean range(String path, Long value, long min, long max, String expected) {
            if (value < min || value > max) {
                fail(path, value, expected);
                return false;
            }
            return true;
        }

        boolean range(String path, Integer value, int min, int max, String expected) {
            if (value < min || value > max) {
                fail(path, value, expected);
                return false;
            }
            return true;
        }

        <T> void uniqueNames(String listPath, List<T> items, Function<T, String> name) {
            Map<String, Integer> first = new HashMap<>();
            for (int i = 0; i < items.size(); i++) {
                String path = listPath + "[" + i + "].name";
                String n = name.apply(items.get(i));
                if (!Names.isName(n)) {
                    fail(path, n, Names.NAME_EXPECTED);
                    continue;
                }
                Integer earlier = first.putIfAbsent(n, i);
                if (earlier != null) {
                    fail(path, n, "a name unique among " + listPath + "; " + listPath + "[" + earlier + "] has it");
                }
            }
        }

        void references(String listPath, List<String> refs, Set<String> known, String expected) {
            Set<String> seen = new HashSet<>();
            for (int j = 0; j < refs.size(); j++) {
                String path = listPath + "[" + j + "]";
                String ref = refs.get(j);
                if (!known.contains(ref)) {
                    fail(path, ref, expected);
                } else if (!seen.add(ref)) {
                    fail(path, ref, "each name listed once");
                }
            }
        }
    }
}
