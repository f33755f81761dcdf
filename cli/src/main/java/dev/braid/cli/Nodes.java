package dev.braid.cli;

import dev.braid.backend.BackEnd;
import dev.braid.frontend.FrontEnd;
import dev.braid.managers.config.ConfigWatcher;
import dev.braid.managers.ManagersServer;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.HostPort;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.redirector.Redirector;
import dev.braid.runtime.AdminServer;
import dev.braid.runtime.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.function.Consumer;

/**
 * Starts each role from a configuration: the role itself, its admin endpoint ({@code /metrics},
 * {@code /health}) and, when the managers' address is known, a watcher that applies every new
 * configuration version to the running role.
 */
final class Nodes {

    private static final Logger log = LoggerFactory.getLogger(Nodes.class);

    private Nodes() {
    }

    /** A started role: what to close, and where its admin endpoint listens. */
    record Started(String description, InetSocketAddress traffic, InetSocketAddress admin,
                   Consumer<VersionedConfig> apply) {
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
        return watch(rt, managers, new Started("front-end " + name, fe.localAddress(), admin.localAddress(),
                v -> fe.update(v.config())));
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
        return watch(rt, managers, new Started("back-end " + name, be.localAddress(), admin.localAddress(),
                v -> be.update(v.config())));
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
        return watch(rt, managers, new Started("redirector " + name, rd.localAddress(), admin.localAddress(),
                v -> rd.update(v.config(), v.version())));
    }

    static Started managers(NodeRuntime rt, BraidConfig config, InetSocketAddress listen, java.nio.file.Path stateDir,
                            String token) throws java.io.IOException {
        ManagersServer m = rt.add(ManagersServer.start(ManagersServer.Options.builder()
                .config(config).listen(listen).stateDir(stateDir).token(token).loops(rt.loops()).build()));
        return new Started("managers", m.localAddress(), m.localAddress(), v -> { });
    }

    /** Makes a started role follow the managers' configuration versions (when {@code managers} is set). */
    static Started watch(NodeRuntime rt, URI managers, Started node) {
        if (managers != null) {
            rt.add(ConfigWatcher.start(managers, v -> {
                node.apply().accept(v);
                log.info("{}: running configuration version {}", node.description(), v.version());
            }));
        }
        return node;
    }

    private static <T> T require(T node, String section, String name) {
        if (node == null) {
            throw new IllegalArgumentException("--name: " + name + " (expected: a node listed under " + section
                    + " in the configuration)");
        }
        return node;
    }
}
