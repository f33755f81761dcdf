package dev.braid.managers.config;

import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Validation of the {@code dns} section: zones and their static records, the prefix table, the
 * hand-off weights, probes and rate limits, and how static records may sit beside site names. Part
 * of {@link ConfigValidator}; reports through the same {@code path: value (expected: ...)} form.
 */
final class DnsChecks {

    static final List<String> RECORD_TYPES = List.of("A", "AAAA", "CNAME", "NS");
    static final List<String> TSIG_ALGORITHMS = List.of("hmac-sha256", "hmac-sha384", "hmac-sha512");
    /** Largest TTL a record may have (RFC 2181 §8 allows 2^31 - 1; a week keeps mistakes short). */
    static final int MAX_RECORD_TTL = 604_800;
    static final int MAX_HANDOFF_WEIGHTS = 16;
    static final int MAX_HANDOFF_WEIGHT = 64;

    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    interface Failer {
        void fail(String path, Object value, String expected);
    }

    private DnsChecks() {
    }

    static boolean isLabel(String s) {
        return s != null && LABEL.matcher(s).matches();
    }

    static boolean isBase64Key(String s) {
        try {
            return Base64.getDecoder().decode(s.strip()).length >= 16;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static void validate(Failer c, BraidConfig config) {
        DnsSettings dns = config.dns();
        Set<String> hostnames = new HashSet<>();
        for (Site s : config.sites()) {
            for (String h : s.hostnames()) {
                if (h != null) {
                    hostnames.add(h.toLowerCase(Locale.ROOT));
                }
            }
        }
        Map<String, String> zoneNames = new HashMap<>();
        for (int i = 0; i < dns.zones().size(); i++) {
            String p = "dns.zones[" + i + "]";
            DnsSettings.DnsZone zone = dns.zones().get(i);
            if (zone.name() == null || !Names.isDnsName(zone.name())) {
                c.fail(p + ".name", zone.name(), "a DNS name such as shop.example, no trailing dot");
                continue;
            }
            String apex = zone.name().toLowerCase(Locale.ROOT);
            String first = zoneNames.putIfAbsent(apex, p);
            if (first != null) {
                c.fail(p + ".name", zone.name(), "a zone listed once; " + first + " has it");
                continue;
            }
            records(c, p, apex, zone.records(), hostnames);
        }

        Map<String, String> prefixes = new HashMap<>();
        for (int i = 0; i < dns.clientNetworks().size(); i++) {
            String p = "dns.clientNetworks[" + i + "]";
            DnsSettings.ClientNetwork n = dns.clientNetworks().get(i);
            if (n.prefix() == null || !ConfigValidator.isCidr(n.prefix())) {
                c.fail(p + ".prefix", n.prefix(), "a network in CIDR notation with no host bits set, such as "
                        + "198.51.100.0/24 or 2001:db8::/32");
            } else {
                String earlier = prefixes.putIfAbsent(n.prefix().toLowerCase(Locale.ROOT), p);
                if (earlier != null) {
                    c.fail(p + ".prefix", n.prefix(), "a network listed once; " + earlier + " has it");
                }
            }
            if (!Names.isName(n.region())) {
                c.fail(p + ".region", n.region(), Names.NAME_EXPECTED);
            }
        }

        List<Integer> w = dns.handoffWeights();
        if (w.isEmpty() || w.size() > MAX_HANDOFF_WEIGHTS) {
            c.fail("dns.handoffWeights", w, "1 to " + MAX_HANDOFF_WEIGHTS + " weights, best-ranked front-end first");
        }
        for (int i = 0; i < w.size(); i++) {
            int min = i == 0 ? 1 : 0;
            if (w.get(i) == null || w.get(i) < min || w.get(i) > MAX_HANDOFF_WEIGHT) {
                c.fail("dns.handoffWeights[" + i + "]", w.get(i), min + ".." + MAX_HANDOFF_WEIGHT
                        + (i == 0 ? " (the best front-end must get some answers)" : ""));
            }
        }
        range(c, "dns.referralTtlSeconds", dns.referralTtlSeconds(), 0, 86_400);
        DnsSettings.ProbeSettings probe = dns.probe();
        range(c, "dns.probe.intervalMillis", probe.intervalMillis(), 50, 60_000);
        range(c, "dns.probe.timeoutMillis", probe.timeoutMillis(), 10, 60_000);
        range(c, "dns.probe.rise", probe.rise(), 1, 100);
        range(c, "dns.probe.fall", probe.fall(), 1, 100);
        DnsSettings.RrlSettings rrl = dns.rrl();
        range(c, "dns.rrl.responsesPerSecond", rrl.responsesPerSecond(), 0, 1_000_000);
        range(c, "dns.rrl.slip", rrl.slip(), 0, 10);
        range(c, "dns.rrl.ipv4PrefixLength", rrl.ipv4PrefixLength(), 8, 32);
        range(c, "dns.rrl.ipv6PrefixLength", rrl.ipv6PrefixLength(), 16, 128);
    }

    private static void range(Failer c, String path, Integer value, int min, int max) {
        if (value < min || value > max) {
            c.fail(path, value, min + ".." + max);
        }
    }

    /** The owner of a record as a lowercase absolute name without the trailing dot, or null when it is not in the zone. */
    static String owner(String apex, String name) {
        if (name == null || name.isEmpty()) {
            return null;
        }
        if (name.equals("@")) {
            return apex;
        }
        String n = name.toLowerCase(Locale.ROOT);
        if (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
            return n.equals(apex) || n.endsWith("." + apex) ? n : null;
        }
        return n + "." + apex;
    }

    private static void records(Failer c, String p, String apex, List<DnsSettings.DnsRecord> records,
                                Set<String> hostnames) {
        Map<String, Set<String>> typesAt = new HashMap<>();
        Map<String, String> firstPath = new HashMap<>();
        Set<String> delegations = new HashSet<>();
        String[] owners = new String[records.size()];
        for (int j = 0; j < records.size(); j++) {
            String rp = p + ".records[" + j + "]";
            DnsSettings.DnsRecord r = records.get(j);
            String owner = owner(apex, r.name());
            if (owner == null || !Names.isDnsName(owner)) {
                c.fail(rp + ".name", r.name(), "@, a name relative to " + apex + ", or an absolute name inside it "
                        + "ending in '.'");
                continue;
            }
            if (!RECORD_TYPES.contains(r.type())) {
                c.fail(rp + ".type", r.type(), String.join(", ", RECORD_TYPES));
                continue;
            }
            range(c, rp + ".ttl", r.ttl(), 0, MAX_RECORD_TTL);
            boolean dataOk = switch (r.type()) {
                case "A" -> r.data() != null && io.netty.util.NetUtil.isValidIpV4Address(r.data());
                case "AAAA" -> r.data() != null && Names.isIpLiteral(r.data()) && r.data().indexOf(':') >= 0;
                default -> r.data() != null && Names.isDnsName(ConfigValidator.stripDot(r.data()));
            };
            if (!dataOk) {
                c.fail(rp + ".data", r.data(), switch (r.type()) {
                    case "A" -> "an IPv4 address literal";
                    case "AAAA" -> "an IPv6 address literal";
                    default -> "a DNS name such as host.example.";
                });
                continue;
            }
            String key = owner + "|" + r.type() + "|" + canonicalData(r);
            String earlier = firstPath.putIfAbsent(key, rp);
            if (earlier != null) {
                c.fail(rp, r.name() + " " + r.type() + " " + r.data(), "each record once; " + earlier + " has it");
                continue;
            }
            owners[j] = owner;
            typesAt.computeIfAbsent(owner, k -> new HashSet<>()).add(r.type());
            if (r.type().equals("NS")) {
                if (owner.equals(apex)) {
                    c.fail(rp + ".name", r.name(), "a name below the apex: the apex NS records are the redirectors");
                } else {
                    delegations.add(owner);
                }
            }
            if (hostnames.contains(owner)) {
                c.fail(rp + ".name", r.name(), "a name no site lists: " + owner + " is a site name, answered "
                        + "from its front-ends");
            }
        }
        for (int j = 0; j < records.size(); j++) {
            String owner = owners[j];
            if (owner == null) {
                continue;
            }
            String rp = p + ".records[" + j + "]";
            DnsSettings.DnsRecord r = records.get(j);
            if (r.type().equals("CNAME") && (owner.equals(apex) || typesAt.get(owner).size() > 1)) {
                // RFC 2181 §10.1: a CNAME is alone at its name, and the apex always holds SOA and NS.
                c.fail(rp + ".type", r.type(), "no other data at " + owner + " (RFC 2181 §10.1: a CNAME "
                        + "stands alone" + (owner.equals(apex) ? ", and the apex holds SOA and NS)" : ")"));
            }
            String cut = delegationAbove(owner, apex, delegations, !r.type().equals("NS"));
            if (cut != null && !(r.type().equals("A") || r.type().equals("AAAA"))) {
                c.fail(rp + ".name", r.name(), "a name not below the delegation at " + cut
                        + " (only A and AAAA glue may sit there)");
            }
        }
        for (String host : hostnames) {
            String cut = delegationAbove(host, apex, delegations, true);
            if (cut != null) {
                c.fail(p + ".records", cut + " NS", "no delegation at or above the site name " + host);
            }
        }
    }

    /** The delegation point at (when {@code atToo}) or above {@code name}, inside the zone, or null. */
    private static String delegationAbove(String name, String apex, Set<String> delegations, boolean atToo) {
        if (!name.equals(apex) && !name.endsWith("." + apex)) {
            return null;
        }
        String n = atToo ? name : parent(name);
        while (n != null && !n.equals(apex)) {
            if (delegations.contains(n)) {
                return n;
            }
            n = parent(n);
        }
        return null;
    }

    private static String parent(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? null : name.substring(dot + 1);
    }

    private static String canonicalData(DnsSettings.DnsRecord r) {
        if (r.type().equals("A") || r.type().equals("AAAA")) {
            return io.netty.util.NetUtil.bytesToIpAddress(io.netty.util.NetUtil.createByteArrayFromIpAddressString(r.data()));
        }
        return ConfigValidator.stripDot(r.data()).toLowerCase(Locale.ROOT);
    }
}
