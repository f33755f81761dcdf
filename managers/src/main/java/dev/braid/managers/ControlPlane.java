package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.ManagersNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Region;
import dev.braid.managers.config.Site;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.managers.state.Assignment;
import dev.braid.managers.state.AssignmentPolicy;
import dev.braid.managers.state.Assignments;
import dev.braid.managers.state.NodeReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * The managers' live view of the system: the last report of every node, whether it is up (a node
 * that has not reported for {@link ManagersNode#MISSED_REPORTS_DOWN} report intervals is down),
 * the assignment layer, and the state snapshot ({@code GET /api/v1/state}) built from them for the
 * redirector and the console.
 *
 * <p>Every change visible in the snapshot — a report, a node going up or down, an assignment, a
 * configuration version — gives a new {@link #stateVersion()}, which long polls wait for.
 *
 * <p>{@link #tick()} runs periodically on one thread: it merges the reports other managers
 * received (in a cluster), recomputes up and down, and, in the leader only, runs the
 * {@link AssignmentPolicy}; followers adopt the leader's assignments. Thread-safe: every method
 * holds the object's lock briefly; I/O to the shared state happens outside it.
 */
final class ControlPlane {

    private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Up, down (missed reports) or unknown (never reported to this managers process). */
    static final String UP = "up";
    static final String DOWN = "down";
    static final String UNKNOWN = "unknown";

    /** A node's last report as received. */
    record Received(String role, String name, NodeReport report, long receivedAtMillis, String via) {

        String key() {
            return key(role, name);
        }

        static String key(String role, String name) {
            return role + "/" + name;
        }

        byte[] toJson() {
            ObjectNode n = JSON.createObjectNode();
            n.put("role", role);
            n.put("name", name);
            n.put("receivedAtMillis", receivedAtMillis);
            n.put("via", via);
            n.set("report", report.toJsonTree());
            try {
                return JSON.writeValueAsBytes(n);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        static Received fromJson(byte[] json) throws IOException {
            JsonNode n = JSON.readTree(json);
            return new Received(n.path("role").asText(), n.path("name").asText(),
                    NodeReport.fromTree(n.get("report")), n.path("receivedAtMillis").asLong(), n.path("via").asText());
        }
    }

    private final ConfigStore store;
    private volatile SharedState shared;
    private final LongSupplier clock;
    private final AssignmentPolicy policy = new AssignmentPolicy();
    private final Map<String, Received> reports = new HashMap<>();
    private final Map<String, String> statuses = new HashMap<>();
    private List<Assignment> assignments = List.of();
    private long stateVersion = 1;
    private CompletableFuture<Long> changed = new CompletableFuture<>();
    private boolean wasLeader;

    ControlPlane(ConfigStore store, SharedState shared, LongSupplier clock) {
        this.store = store;
        this.shared = shared;
        this.clock = clock;
        store.addListener(v -> bump());
    }

    /** Joins a cluster's shared state (once the process knows its name); before, it is on its own. */
    void join(SharedState state) {
        this.shared = Objects.requireNonNull(state);
        bump();
    }

    synchronized long stateVersion() {
        return stateVersion;
    }

    synchronized List<Assignment> assignments() {
        return assignments;
    }

    /** The configuration with the assignment layer applied. */
    BraidConfig effective() {
        List<Assignment> a;
        synchronized (this) {
            a = assignments;
        }
        return Assignments.effective(store.current().config(), a);
    }

    long reportIntervalMs() {
        return store.current().config().managers().reportIntervalMs();
    }

    /**
     * Records a node's report.
     *
     * @throws NoSuchElementException when the configuration has no node of that role and name
     */
    void accept(String name, NodeReport report) {
        BraidConfig config = store.current().config();
        boolean known = switch (report.role()) {
            case NodeReport.FRONT_END -> config.frontEnd(name) != null;
            case NodeReport.BACK_END -> config.backEnd(name) != null;
            default -> config.redirector(name) != null;
        };
        if (!known) {
            throw new NoSuchElementException("name: " + name + " (expected: a " + report.role()
                    + " of configuration version " + store.current().version() + ")");
        }
        Received r = new Received(report.role(), name, report, clock.getAsLong(), shared.self());
        synchronized (this) {
            reports.put(r.key(), r);
            statuses.put(r.key(), UP);
            bump();
        }
        shared.publishReport(r.key(), r.toJson());
    }

    /** Merges shared reports, recomputes liveness, and runs or follows the assignment policy. */
    void tick() {
        Map<String, byte[]> remote = Map.of();
        byte[] sharedAssignments = null;
        boolean leader = shared.isLeader();
        try {
            remote = shared.reports();
            if (!leader || !wasLeader) {
                sharedAssignments = shared.assignments();
            }
        } catch (IOException e) {
            log.debug("cannot read the shared state: {}", e.toString());
        }
        List<Assignment> publish = null;
        synchronized (this) {
            for (byte[] json : remote.values()) {
                try {
                    Received r = Received.fromJson(json);
                    Received mine = reports.get(r.key());
                    if (mine == null || r.receivedAtMillis() > mine.receivedAtMillis()) {
                        reports.put(r.key(), r);
                    }
                } catch (IOException | IllegalArgumentException e) {
                    log.debug("ignoring an unreadable shared report: {}", e.toString());
                }
            }
            long now = clock.getAsLong();
            BraidConfig config = store.current().config();
            boolean any = false;
            for (String key : allNodeKeys(config)) {
                String status = status(key, now, config);
                if (!status.equals(statuses.put(key, status))) {
                    any = true;
                    if (!UNKNOWN.equals(status)) {
                        log.info("node {} is {}", key, status);
                    }
                }
            }
            if (sharedAssignments != null) {
                List<Assignment> adopted = parseAssignments(sharedAssignments);
                if (!adopted.equals(assignments)) {
                    assignments = adopted;
                    any = true;
                }
            }
            if (leader) {
                List<Assignment> next = policy.step(now, config, loads(NodeReport.FRONT_END, config, now),
                        loads(NodeReport.BACK_END, config, now), assignments);
                if (!next.equals(assignments)) {
                    log.info("assignments: {} -> {}", describe(assignments), describe(next));
                    assignments = next;
                    publish = next;
                    any = true;
                }
            }
            wasLeader = leader;
            if (any) {
                bump();
            }
        }
        if (publish != null) {
            try {
                shared.publishAssignments(assignmentsJson(publish).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (IOException e) {
                log.warn("cannot publish the assignments: {}", e.toString());
            }
        }
    }

    /** A future completed with the state version once it is not {@code version} (at once if it already is not). */
    synchronized CompletableFuture<Long> nextAfter(long version) {
        if (stateVersion != version) {
            return CompletableFuture.completedFuture(stateVersion);
        }
        return changed.thenApply(v -> v);
    }

    private void bump() {
        CompletableFuture<Long> done;
        synchronized (this) {
            stateVersion++;
            done = changed;
            changed = new CompletableFuture<>();
        }
        done.complete(stateVersion);
    }

    private static List<String> allNodeKeys(BraidConfig config) {
        List<String> keys = new ArrayList<>();
        config.frontEnds().forEach(n -> keys.add(Received.key(NodeReport.FRONT_END, n.name())));
        config.backEnds().forEach(n -> keys.add(Received.key(NodeReport.BACK_END, n.name())));
        config.redirectors().forEach(n -> keys.add(Received.key(NodeReport.REDIRECTOR, n.name())));
        return keys;
    }

    private String status(String key, long now, BraidConfig config) {
        Received r = reports.get(key);
        if (r == null) {
            return UNKNOWN;
        }
        long limit = (long) ManagersNode.MISSED_REPORTS_DOWN * config.managers().reportIntervalMs();
        return now - r.receivedAtMillis() > limit ? DOWN : UP;
    }

    private Map<String, AssignmentPolicy.NodeLoad> loads(String role, BraidConfig config, long now) {
        Map<String, AssignmentPolicy.NodeLoad> out = new HashMap<>();
        List<String> names = NodeReport.FRONT_END.equals(role)
                ? config.frontEnds().stream().map(FrontEndNode::name).toList()
                : config.backEnds().stream().map(BackEndNode::name).toList();
        for (String name : names) {
            Received r = reports.get(Received.key(role, name));
            if (r != null) {
                boolean up = UP.equals(status(r.key(), now, config)) && !"failing".equals(r.report().health());
                out.put(name, new AssignmentPolicy.NodeLoad(up, r.report().load()));
            }
        }
        return out;
    }

    /** The state snapshot; {@code docs/managers.md} describes every field. */
    ObjectNode snapshot() {
        VersionedConfig v = store.current();
        long now = clock.getAsLong();
        synchronized (this) {
            BraidConfig config = v.config();
            BraidConfig effective = Assignments.effective(config, assignments);
            ObjectNode root = JSON.createObjectNode();
            root.put("stateVersion", stateVersion);
            root.put("generatedAt", Instant.ofEpochMilli(now).toString());
            root.put("configVersion", v.version());
            root.put("reportIntervalMs", config.managers().reportIntervalMs());
            root.put("leader", shared.leader());
            ArrayNode regions = root.putArray("regions");
            for (Region r : config.regions()) {
                ObjectNode o = regions.addObject();
                o.put("name", r.name());
                ArrayNode p = o.putArray("prefixes");
                r.prefixes().forEach(p::add);
            }
            ArrayNode sites = root.putArray("sites");
            for (Site s : config.sites()) {
                ObjectNode o = sites.addObject();
                o.put("name", s.name());
                ArrayNode h = o.putArray("hostnames");
                s.hostnames().forEach(h::add);
                o.put("dnsTtlSeconds", s.dnsTtlSeconds());
                ArrayNode fes = o.putArray("frontEnds");
                Assignments.frontEndsOf(effective, s.name()).forEach(fes::add);
                ArrayNode bes = o.putArray("backEnds");
                Assignments.backEndsOf(effective, s.name()).forEach(bes::add);
                ObjectNode load = o.putObject("load");
                putLoad(load, "frontEnds", siteLoad(NodeReport.FRONT_END, Assignments.frontEndsOf(effective, s.name()), now, config));
                putLoad(load, "backEnds", siteLoad(NodeReport.BACK_END, Assignments.backEndsOf(effective, s.name()), now, config));
            }
            ArrayNode fes = root.putArray("frontEnds");
            for (FrontEndNode fe : effective.frontEnds()) {
                ObjectNode o = node(fes, NodeReport.FRONT_END, fe.name(), now, config);
                o.put("publicAddress", fe.publicAddress());
                o.put("region", fe.region());
                o.put("capacity", fe.capacity());
                sitesOf(o, config.frontEnd(fe.name()).sites(), fe.sites());
                ArrayNode links = o.putArray("backEnds");
                fe.backEnds().forEach(links::add);
            }
            ArrayNode bes = root.putArray("backEnds");
            for (BackEndNode be : effective.backEnds()) {
                ObjectNode o = node(bes, NodeReport.BACK_END, be.name(), now, config);
                sitesOf(o, config.backEnd(be.name()).sites(), be.sites());
            }
            ArrayNode rds = root.putArray("redirectors");
            for (RedirectorNode rd : config.redirectors()) {
                node(rds, NodeReport.REDIRECTOR, rd.name(), now, config);
            }
            root.set("assignments", assignmentsJson(assignments).get("assignments"));
            ArrayNode classes = root.putArray("classes");
            for (ClientClass c : config.clientClasses()) {
                ObjectNode o = classes.addObject();
                o.put("name", c.name());
                o.put("ring", c.ring());
                o.put("weight", c.weight());
                double rps = 0;
                double weighted = 0;
                for (FrontEndNode fe : config.frontEnds()) {
                    Received r = reports.get(Received.key(NodeReport.FRONT_END, fe.name()));
                    if (r == null || !UP.equals(status(r.key(), now, config))) {
                        continue;
                    }
                    for (NodeReport.ClassStats cs : r.report().classes()) {
                        if (cs.name().equals(c.name())) {
                            rps += cs.requestsPerSecond();
                            if (cs.latencyMs() != null) {
                                weighted += cs.latencyMs() * cs.requestsPerSecond();
                            }
                        }
                    }
                }
                o.put("requestsPerSecond", rps);
                if (rps > 0) {
                    o.put("latencyMs", weighted / rps);
                } else {
                    o.putNull("latencyMs");
                }
            }
            return root;
        }
    }

    private static void putLoad(ObjectNode o, String field, double load) {
        if (Double.isFinite(load)) {
            o.put(field, load);
        } else {
            o.putNull(field);
        }
    }

    private double siteLoad(String role, List<String> names, long now, BraidConfig config) {
        double sum = 0;
        int up = 0;
        for (String n : names) {
            Received r = reports.get(Received.key(role, n));
            if (r != null && UP.equals(status(r.key(), now, config))) {
                sum += r.report().load();
                up++;
            }
        }
        return up == 0 ? Double.NaN : sum / up;
    }

    private static void sitesOf(ObjectNode o, List<String> own, List<String> effective) {
        ArrayNode sites = o.putArray("sites");
        effective.forEach(sites::add);
        ArrayNode lent = o.putArray("lentSites");
        effective.stream().filter(s -> !own.contains(s)).forEach(lent::add);
    }

    private ObjectNode node(ArrayNode into, String role, String name, long now, BraidConfig config) {
        ObjectNode o = into.addObject();
        o.put("name", name);
        String key = Received.key(role, name);
        Received r = reports.get(key);
        o.put("status", status(key, now, config));
        if (r == null) {
            o.putNull("health");
            o.putNull("load");
            o.putNull("configVersion");
            o.putNull("refused");
            o.putNull("lastReportAt");
            o.putNull("lastReportAgeMs");
            o.putObject("metrics");
            if (!NodeReport.REDIRECTOR.equals(role)) {
                o.putArray("links");
            }
            if (NodeReport.FRONT_END.equals(role)) {
                o.putArray("classes");
                o.putArray("clientRtts");
            }
            return o;
        }
        ObjectNode rep = r.report().toJsonTree();
        o.put("health", r.report().health());
        o.put("load", r.report().load());
        o.put("configVersion", r.report().configVersion());
        o.set("refused", rep.has("refused") ? rep.get("refused") : JSON.nullNode());
        o.put("lastReportAt", Instant.ofEpochMilli(r.receivedAtMillis()).toString());
        o.put("lastReportAgeMs", Math.max(0, now - r.receivedAtMillis()));
        o.put("reportedTo", r.via());
        if (r.report().admin() != null) {
            o.put("admin", r.report().admin());
        }
        o.set("metrics", rep.get("metrics"));
        if (!NodeReport.REDIRECTOR.equals(role)) {
            o.set("links", rep.get("links"));
        }
        if (NodeReport.FRONT_END.equals(role)) {
            o.set("classes", rep.get("classes"));
            o.set("clientRtts", rep.get("clientRtts"));
        }
        return o;
    }

    /** {@code {"assignments":[{"role","node","site","since"}, …]}}. */
    static ObjectNode assignmentsJson(List<Assignment> list) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode a = root.putArray("assignments");
        for (Assignment x : list) {
            ObjectNode o = a.addObject();
            o.put("role", x.role());
            o.put("node", x.node());
            o.put("site", x.site());
            o.put("since", Instant.ofEpochMilli(x.sinceMillis()).toString());
        }
        return root;
    }

    /** Reads what {@link #assignmentsJson} wrote; entries it cannot read are skipped. */
    static List<Assignment> parseAssignments(byte[] json) {
        List<Assignment> out = new ArrayList<>();
        try {
            for (JsonNode o : JSON.readTree(json).path("assignments")) {
                out.add(new Assignment(o.path("role").asText(), o.path("node").asText(), o.path("site").asText(),
                        Instant.parse(o.path("since").asText()).toEpochMilli()));
            }
        } catch (IOException | RuntimeException e) {
            log.warn("ignoring unreadable assignments: {}", e.toString());
        }
        return List.copyOf(out);
    }

    private static String describe(List<Assignment> list) {
        if (list.isEmpty()) {
            return "none";
        }
        StringBuilder sb = new StringBuilder();
        for (Assignment a : list) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(a.role()).append(' ').append(a.node()).append(" -> ").append(a.site());
        }
        return sb.toString();
    }

    /** The up/down status of every configured node, by {@code role/name}. */
    synchronized Map<String, String> statuses() {
        return Map.copyOf(statuses);
    }

    /** The last report of a node, or null. */
    synchronized Received report(String role, String name) {
        return reports.get(Received.key(role, name));
    }

    SharedState shared() {
        return Objects.requireNonNull(shared);
    }
}
