package dev.braid.cli;

import dev.braid.backend.BackEnd;
import dev.braid.frontend.FrontEnd;
import dev.braid.managers.ManagersServer;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.ConfigWatcher;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.HostPort;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.managers.node.NodeReporter;
import dev.braid.managers.state.Assignment;
import dev.braid.managers.state.Assignments;
import dev.braid.managers.state.NodeReport;
import dev.braid.redirector.Redirector;
import dev.braid.runtime.AdminServer;
import dev.braid.runtime.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.function.ObjLongConsumer;
import java.util.function.Supplier;

/**
 * Starts each role from a configuration: the role itself, its admin endpoint ({@code /metrics},
 * {@code /health}) and, when the managers' address is known, a watcher that applies every new
 * configuration version to the running role and a reporter that sends the managers the role's
 * heartbeat (version run, refusal, health, load, links) every {@code managers.reportIntervalMs}.
 *
 * <p>A role applies the <em>effective</em> configuration: the version from the managers with the
 * assignment layer from the managers' answer to its reports on top ({@link Assignments}). A new
 * version or a new assignment layer is applied whole; a version the role refuses is kept out and
 * reported with its reason.
 *
 * <p>Reports carry the managers' bearer token when the environment variable
 * {@value #TOKEN_ENV} is set.
 */
final class Nodes {

    private static final Logger log = LoggerFactory.getLogger(Nodes.class);

    /** Environment variable holding the managers' bearer token, for node reports. */
    static final String TOKEN_ENV = "BRAID_MANAGERS_TOKEN";

    private Nodes() {
    }

    /**
     * A started role: what it is, where it listens, how it applies a configuration, and how it
     * reports (null for the managers).
     */
    record Started(String description, String role, String name, InetSocketAddress traffic, InetSocketAddress admin,
                   Metrics metrics, BraidConfig config, ObjLongConsumer<BraidConfig> apply,
                   Function<NodeReports.Versions, Supplier<NodeReport>> reports) {
    }

    static Started frontEnd(NodeRuntime rt, BraidConfig config, String name, InetSocketAddress listen,
                            InetSocketAddress adminListen, URI managers) {
        FrontEndNode node = require(config.frontEnd(name), "frontEnds", name);
        Metrics metrics = new Metrics();
        FrontEnd fe = rt.add(FrontEnd.start(new FrontEnd.Options(name, listen, rt.loops(), metrics, config)));
        // Serve once the TMP links are up (a UDP handshake may fall back to TCP after 2 s), but do not
        // let a back-end that is down hold the role's start: requests then get a 502 until it is up.
        fe.awaitLinks(java.time.Duration.ofSeconds(3));
        AdminServer admin = rt.add(fe.adminRoutes(AdminServer.builder(metrics)).bind(rt.loops(),
                adminListen != null ? adminListen : HostPort.parse("frontEnds[" + name + "].admin", node.admin())));
        return watch(rt, managers, new Started("front-end " + name, NodeReport.FRONT_END, name, fe.localAddress(),
                admin.localAddress(), metrics, config, (c, version) -> fe.update(c),
                versions -> NodeReports.frontEnd(name, metrics, admin.localAddress(), versions)));
    }

    static Started backEnd(NodeRuntime rt, BraidConfig config, String name, InetSocketAddress listen,
                           InetSocketAddress adminListen, URI managers) {
        BackEndNode node = require(config.backEnd(name), "backEnds", name);
        Metrics metrics = new Metrics();
        BackEnd be = rt.add(BackEnd.start(new BackEnd.Options(name,
                listen != null ? listen : HostPort.parse("backEnds[" + name + "].listen", node.listen()),
                rt.loops(), metrics, config)));
        AdminServer admin = rt.add(AdminServer.builder(metrics).bind(rt.loops(),
                adminListen != null ? adminListen : HostPort.parse("backEnds[" + name + "].admin", node.admin())));
        return watch(rt, managers, new Started("back-end " + name, NodeReport.BACK_END, name, be.localAddress(),
                admin.localAddress(), metrics, config, (c, version) -> be.update(c),
                versions -> NodeReports.backEnd(name, be, metrics, admin.localAddress(), versions)));
    }

    static Started redirector(NodeRuntime rt, VersionedConfig config, String name, InetSocketAddress listen,
                              InetSocketAddress adminListen, URI managers) {
        RedirectorNode node = require(config.config().redirector(name), "redirectors", name);
        Metrics metrics = new Metrics();
        Redirector rd = rt.add(Redirector.start(Redirector.Options.builder(rt.loops())
                .listen(listen != null ? listen : HostPort.parse("redirectors[" + name + "].listen", node.listen()))
                .metrics(metrics)
                .nodeName(name)
                .config(config.config(), config.version())
                .build()));
        AdminServer admin = rt.add(AdminServer.builder(metrics).bind(rt.loops(),
                adminListen != null ? adminListen : HostPort.parse("redirectors[" + name + "].admin", node.admin())));
        return watch(rt, managers, new Started("redirector " + name, NodeReport.REDIRECTOR, name, rd.localAddress(),
                admin.localAddress(), metrics, config.config(), rd::update,
                versions -> NodeReports.redirector(metrics, admin.localAddress(), versions)));
    }

    static Started managers(NodeRuntime rt, BraidConfig config, InetSocketAddress listen, Path stateDir,
                            String token) throws IOException {
        ManagersServer m = rt.add(ManagersServer.start(ManagersServer.Options.builder()
                .config(config).listen(listen).stateDir(stateDir).token(token).loops(rt.loops()).build()));
        return new Started("managers", "managers", m.name(), m.localAddress(), m.localAddress(), m.metrics(),
                config, (c, version) -> { }, null);
    }

    /** Makes a started role follow the managers' configuration versions and report to them (when {@code managers} is set). */
    static Started watch(NodeRuntime rt, URI managers, Started node) {
        if (managers == null || node.reports() == null) {
            return node;
        }
        Follower follower = new Follower(node);
        ConfigWatcher watcher = rt.add(ConfigWatcher.start(managers, follower::onVersion,
                ConfigWatcher.Settings.DEFAULT.withClientName("braid " + node.description())));
        follower.watcher = watcher;
        node.metrics().gauge("braid_node_config_version", "Configuration version this node runs (0: none from the managers yet)",
                follower::running);
        node.metrics().gauge("braid_node_config_refused_version",
                "Newest configuration version this node refused (0: none since the one it runs)", () -> {
                    ConfigWatcher.Refusal r = follower.refused();
                    return r == null ? 0 : r.version();
                });
        Supplier<NodeReport> reports = node.reports().apply(follower);
        rt.add(NodeReporter.start(managers, node.name(), System.getenv(TOKEN_ENV),
                Duration.ofMillis(follower.effective().managers().reportIntervalMs()), reports, follower::onAssignments));
        return node;
    }

    /**
     * Holds what a role runs: the newest configuration version it accepted and the assignment
     * layer, and applies their combination whenever either changes. One at a time: the watcher's
     * and the reporter's threads both come through here.
     */
    private static final class Follower implements NodeReports.Versions {
        private final Started node;
        private volatile ConfigWatcher watcher;
        private volatile VersionedConfig version;
        private volatile List<Assignment> lent = List.of();
        private volatile BraidConfig effective;

        Follower(Started node) {
            this.node = node;
            this.effective = node.config();
        }

        /** The watcher's listener: throws to refuse the version. */
        synchronized void onVersion(VersionedConfig v) {
            BraidConfig e = effective(v.config(), lent);
            node.apply().accept(e, v.version());
            version = v;
            effective = e;
            log.info("{}: running configuration version {}", node.description(), v.version());
        }

        synchronized void onAssignments(List<Assignment> assignments) {
            lent = assignments;
            VersionedConfig v = version;
            if (v == null) {
                return;
            }
            BraidConfig e = effective(v.config(), assignments);
            if (e.equals(effective)) {
                return;
            }
            try {
                node.apply().accept(e, v.version());
                effective = e;
                log.info("{}: applied assignments {} on version {}", node.description(), assignments, v.version());
            } catch (RuntimeException ex) {
                log.warn("{}: cannot apply assignments {}; keeping the previous ones: {}", node.description(),
                        assignments, ex.toString());
            }
        }

        private BraidConfig effective(BraidConfig config, List<Assignment> assignments) {
            BraidConfig e = Assignments.effective(config, assignments);
            if (e != config && !ConfigValidator.validate(e).isEmpty()) {
                log.warn("{}: assignments {} do not fit version's configuration: {}; applying it without them",
                        node.description(), assignments, ConfigValidator.validate(e));
                return config;
            }
            return e;
        }

        @Override
        public long running() {
            VersionedConfig v = version;
            return v == null ? 0 : v.version();
        }

        @Override
        public ConfigWatcher.Refusal refused() {
            ConfigWatcher w = watcher;
            return w == null ? null : w.refused();
        }

        @Override
        public BraidConfig effective() {
            return effective;
        }
    }

    private static <T> T require(T node, String section, String name) {
        if (node == null) {
            throw new IllegalArgumentException("--name: " + name + " (expected: a node listed under " + section
                    + " in the configuration)");
        }
        return node;
    }
}
