package dev.braid.managers.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a node tells the managers every {@code managers.reportIntervalMs}: the configuration
 * version it runs (and the newest one it refused, with the reason), its health and load, and what
 * it measured since the last report. The body of {@code POST /api/v1/nodes/{name}/report};
 * {@code docs/managers.md} describes the JSON.
 *
 * @param role          {@code front-end}, {@code back-end} or {@code redirector}
 * @param configVersion the configuration version the node runs (0: none yet)
 * @param refused       the newest version the node refused and why, or null
 * @param health        the node's own view: {@code ok}, {@code degraded} or {@code failing}
 * @param load          busy fraction of its capacity (front-end: connections / capacity;
 *                      back-end: requests in flight / its origins' high water marks); may exceed 1
 * @param metrics       role-specific figures by name ({@code connections}, {@code requestsPerSecond},
 *                      {@code inFlight}, {@code linksUp}, {@code queriesPerSecond}, ...)
 * @param classes       per client class throughput and latency over the last interval (front-ends)
 * @param links         TMP links and their quality
 * @param clientRtts    round-trip times to client networks measured at a front-end
 * @param admin         the address its admin endpoint is bound to, {@code host:port}, or null; the
 *                      managers reach the node there (cache purges) even when it bound port 0
 */
public record NodeReport(String role, long configVersion, Refusal refused, String health, double load,
                         Map<String, Double> metrics, List<ClassStats> classes, List<LinkStats> links,
                         List<ClientRtt> clientRtts, String admin) {

    public static final String FRONT_END = "front-end";
    public static final String BACK_END = "back-end";
    public static final String REDIRECTOR = "redirector";
    public static final List<String> ROLES = List.of(FRONT_END, BACK_END, REDIRECTOR);
    public static final List<String> HEALTH = List.of("ok", "degraded", "failing");

    /** Longest list a report may carry in any of its lists. */
    public static final int MAX_ITEMS = 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The newest configuration version a node refused, and why. */
    public record Refusal(long version, String reason) {
    }

    /** One client class over the last interval. {@code latencyMs} is the mean, null without requests. */
    public record ClassStats(String name, double requestsPerSecond, Double latencyMs) {
    }

    /**
     * One TMP link. Quality figures the carrier does not measure are null.
     *
     * @param rttMs         smoothed round-trip time, in milliseconds
     * @param lossRate      fraction of packets lost, 0..1
     * @param windowPackets congestion window, in packets
     */
    public record LinkStats(String peer, boolean up, String carrier, Double rttMs, Double lossRate, Double windowPackets,
                            Integer streams, Double sentBytesPerSecond, Double receivedBytesPerSecond) {
    }

    /** Round-trip time to a client network ({@code prefix} in CIDR notation), over {@code samples} measurements. */
    public record ClientRtt(String prefix, double rttMs, long samples) {
    }

    public NodeReport {
        metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
        classes = classes == null ? List.of() : List.copyOf(classes);
        links = links == null ? List.of() : List.copyOf(links);
        clientRtts = clientRtts == null ? List.of() : List.copyOf(clientRtts);
        health = health == null ? "ok" : health;
    }

    public double metric(String name) {
        Double v = metrics.get(name);
        return v == null ? 0 : v;
    }

    public ObjectNode toJsonTree() {
        ObjectNode n = JSON.createObjectNode();
        n.put("role", role);
        n.put("configVersion", configVersion);
        if (refused != null) {
            ObjectNode r = n.putObject("refused");
            r.put("version", refused.version());
            r.put("reason", refused.reason());
        }
        n.put("health", health);
        n.put("load", load);
        ObjectNode m = n.putObject("metrics");
        metrics.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> m.put(e.getKey(), e.getValue()));
        ArrayNode cs = n.putArray("classes");
        for (ClassStats c : classes) {
            ObjectNode o = cs.addObject();
            o.put("name", c.name());
            o.put("requestsPerSecond", c.requestsPerSecond());
            putNullable(o, "latencyMs", c.latencyMs());
        }
        ArrayNode ls = n.putArray("links");
        for (LinkStats l : links) {
            ObjectNode o = ls.addObject();
            o.put("peer", l.peer());
            o.put("up", l.up());
            o.put("carrier", l.carrier());
            putNullable(o, "rttMs", l.rttMs());
            putNullable(o, "lossRate", l.lossRate());
            putNullable(o, "windowPackets", l.windowPackets());
            if (l.streams() == null) {
                o.putNull("streams");
            } else {
                o.put("streams", l.streams());
            }
            putNullable(o, "sentBytesPerSecond", l.sentBytesPerSecond());
            putNullable(o, "receivedBytesPerSecond", l.receivedBytesPerSecond());
        }
        ArrayNode rs = n.putArray("clientRtts");
        for (ClientRtt r : clientRtts) {
            ObjectNode o = rs.addObject();
            o.put("prefix", r.prefix());
            o.put("rttMs", r.rttMs());
            o.put("samples", r.samples());
        }
        if (admin != null) {
            n.put("admin", admin);
        }
        return n;
    }

    private static void putNullable(ObjectNode o, String field, Double v) {
        if (v == null) {
            o.putNull(field);
        } else {
            o.put(field, v);
        }
    }

    /**
     * Reads a report, checking every field.
     *
     * @throws IllegalArgumentException whose message lists every problem, each as
     *                                  {@code "path: value (expected: ...)"}, joined by newlines
     */
    public static NodeReport fromTree(JsonNode n) {
        Reader r = new Reader();
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("(root): " + r.show(n) + " (expected: a report object)");
        }
        r.known(n, "", Set.of("role", "configVersion", "refused", "health", "load", "metrics", "classes", "links",
                "clientRtts", "admin"));
        String role = r.oneOf(n, "role", ROLES, true);
        long version = r.count(n, "configVersion", true);
        Refusal refused = null;
        JsonNode ref = n.get("refused");
        if (ref != null && !ref.isNull()) {
            if (!ref.isObject()) {
                r.fail("refused", ref, "an object with version and reason, or null");
            } else {
                r.known(ref, "refused.", Set.of("version", "reason"));
                refused = new Refusal(r.count(ref, "refused.version", "version", true),
                        r.text(ref, "refused.reason", "reason", 2000, true));
            }
        }
        String health = r.oneOf(n, "health", HEALTH, false);
        double load = r.number(n, "load", "load", 0, 1e6, true);
        Map<String, Double> metrics = new LinkedHashMap<>();
        JsonNode m = n.get("metrics");
        if (m != null && !m.isNull()) {
            if (!m.isObject() || m.size() > MAX_ITEMS) {
                r.fail("metrics", m, "an object of at most " + MAX_ITEMS + " names to numbers");
            } else {
                for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!e.getKey().matches("[A-Za-z][A-Za-z0-9_]{0,63}")) {
                        r.fail("metrics." + e.getKey(), e.getKey(), "a name of letters, digits and '_'");
                    } else if (!e.getValue().isNumber() || !Double.isFinite(e.getValue().asDouble())) {
                        r.fail("metrics." + e.getKey(), e.getValue(), "a number");
                    } else {
                        metrics.put(e.getKey(), e.getValue().asDouble());
                    }
                }
            }
        }
        List<ClassStats> classes = new ArrayList<>();
        for (JsonNode c : r.list(n, "classes")) {
            String p = "classes[" + classes.size() + "]";
            r.known(c, p + ".", Set.of("name", "requestsPerSecond", "latencyMs"));
            classes.add(new ClassStats(r.text(c, p + ".name", "name", 63, true),
                    r.number(c, p + ".requestsPerSecond", "requestsPerSecond", 0, 1e12, true),
                    r.optionalNumber(c, p + ".latencyMs", "latencyMs", 0, 1e9)));
        }
        List<LinkStats> links = new ArrayList<>();
        for (JsonNode l : r.list(n, "links")) {
            String p = "links[" + links.size() + "]";
            r.known(l, p + ".", Set.of("peer", "up", "carrier", "rttMs", "lossRate", "windowPackets", "streams",
                    "sentBytesPerSecond", "receivedBytesPerSecond"));
            JsonNode up = l.get("up");
            if (up == null || !up.isBoolean()) {
                r.fail(p + ".up", up, "true or false");
            }
            Double streams = r.optionalNumber(l, p + ".streams", "streams", 0, Integer.MAX_VALUE);
            links.add(new LinkStats(r.text(l, p + ".peer", "peer", 63, true), up != null && up.asBoolean(),
                    r.text(l, p + ".carrier", "carrier", 16, false),
                    r.optionalNumber(l, p + ".rttMs", "rttMs", 0, 1e7),
                    r.optionalNumber(l, p + ".lossRate", "lossRate", 0, 1),
                    r.optionalNumber(l, p + ".windowPackets", "windowPackets", 0, 1e9),
                    streams == null ? null : streams.intValue(),
                    r.optionalNumber(l, p + ".sentBytesPerSecond", "sentBytesPerSecond", 0, 1e13),
                    r.optionalNumber(l, p + ".receivedBytesPerSecond", "receivedBytesPerSecond", 0, 1e13)));
        }
        List<ClientRtt> rtts = new ArrayList<>();
        for (JsonNode c : r.list(n, "clientRtts")) {
            String p = "clientRtts[" + rtts.size() + "]";
            r.known(c, p + ".", Set.of("prefix", "rttMs", "samples"));
            String prefix = r.text(c, p + ".prefix", "prefix", 50, true);
            if (prefix != null && !dev.braid.managers.config.ConfigValidator.isCidr(prefix)) {
                r.fail(p + ".prefix", c.get("prefix"), "a network in CIDR notation such as 203.0.113.0/24");
            }
            rtts.add(new ClientRtt(prefix, r.number(c, p + ".rttMs", "rttMs", 0, 1e7, true),
                    r.count(c, p + ".samples", "samples", false)));
        }
        String admin = r.text(n, "admin", "admin", 300, false);
        if (admin != null) {
            try {
                dev.braid.managers.config.HostPort.parseUnresolved("admin", admin);
            } catch (IllegalArgumentException e) {
                r.errors.add(e.getMessage());
            }
        }
        if (!r.errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", r.errors));
        }
        return new NodeReport(role, version, refused, health, load, metrics, classes, links, rtts, admin);
    }

    /** Collects every problem of a report. */
    private static final class Reader {
        final List<String> errors = new ArrayList<>();

        void fail(String path, Object value, String expected) {
            errors.add(path + ": " + show(value) + " (expected: " + expected + ")");
        }

        String show(Object v) {
            String s = String.valueOf(v);
            return s.length() > 80 ? s.substring(0, 77) + "..." : s;
        }

        void known(JsonNode n, String prefix, Set<String> fields) {
            if (!n.isObject()) {
                fail(prefix.isEmpty() ? "(root)" : prefix.substring(0, prefix.length() - 1), n, "an object");
                return;
            }
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!fields.contains(f)) {
                    errors.add(prefix + f + ": unknown field (expected one of: " + String.join(", ",
                            fields.stream().sorted().toList()) + ")");
                }
            }
        }

        String oneOf(JsonNode n, String field, List<String> allowed, boolean required) {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                if (required) {
                    fail(field, null, String.join(", ", allowed));
                }
                return null;
            }
            if (!v.isTextual() || !allowed.contains(v.asText())) {
                fail(field, v, String.join(", ", allowed));
                return null;
            }
            return v.asText();
        }

        long count(JsonNode n, String field, boolean required) {
            return count(n, field, field, required);
        }

        long count(JsonNode n, String path, String field, boolean required) {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                if (required) {
                    fail(path, null, "an integer >= 0");
                }
                return 0;
            }
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                fail(path, v, "an integer >= 0");
                return 0;
            }
            return v.asLong();
        }

        String text(JsonNode n, String path, String field, int maxLength, boolean required) {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                if (required) {
                    fail(path, null, "a string");
                }
                return null;
            }
            if (!v.isTextual() || v.asText().isEmpty() || v.asText().length() > maxLength) {
                fail(path, v, "a string of 1 to " + maxLength + " characters");
                return null;
            }
            return v.asText();
        }

        double number(JsonNode n, String path, String field, double min, double max, boolean required) {
            Double d = optionalNumber(n, path, field, min, max);
            if (d == null) {
                if (required && (n.get(field) == null || n.get(field).isNull())) {
                    fail(path, null, "a number " + min + ".." + max);
                }
                return 0;
            }
            return d;
        }

        Double optionalNumber(JsonNode n, String path, String field, double min, double max) {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
                fail(path, v, "a number " + min + ".." + max);
                return null;
            }
            return v.asDouble();
        }

        List<JsonNode> list(JsonNode n, String field) {
            JsonNode v = n.get(field);
            List<JsonNode> out = new ArrayList<>();
            if (v == null || v.isNull()) {
                return out;
            }
            if (!v.isArray() || v.size() > MAX_ITEMS) {
                fail(field, v, "a list of at most " + MAX_ITEMS + " objects");
                return out;
            }
            v.forEach(out::add);
            return out;
        }
    }
}
