package dev.braid.cli.reliability;

import dev.braid.backend.BackEnd;
import dev.braid.frontend.FrontEnd;
import dev.braid.managers.ManagersServer;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.ConfigWatcher;
import dev.braid.redirector.Redirector;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A whole Braid system for the chaos tests, every role on its own event loops so that each can be
 * killed and restarted alone: a {@link CountingOrigin}, a back-end, a front-end that reaches the
 * back-end through a {@link LinkRelay}, the managers (versions kept in a state directory, as in
 * production) and the redirector. The front-end, back-end and redirector follow the managers.
 *
 * <p>A kill stops a role without grace: the front-end closes its client connections at once
 * ({@code drainTimeoutMillis: 0}), the back-end drains for zero time (open streams are reset
 * with LINK_LOST), the origin drops its connections, the managers and the redirector stop
 * serving. A restart binds the same port again, as a supervisor restarting the process would.
 */
final class ChaosSystem implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChaosSystem.class);

    static final String SITE_HOST = "www.shop.example";

    private final Transport transport;
    private final String carrier;
    private final Path stateDir;
    private final List<AutoCloseable> always = new ArrayList<>();

    private final EventLoops originLoops;
    final CountingOrigin origin;
    final LinkRelay relay;
    private InetSocketAddress backEndAddress;
    private InetSocketAddress frontEndAddress;
    private InetSocketAddress managersAddress;
    private InetSocketAddress dnsAddress;
    private final BraidConfig config;

    private Role<BackEnd> backEnd;
    private Role<FrontEnd> frontEnd;
    private Role<ManagersServer> managers;
    private Role<Redirector> redirector;
    /** The running front-end's and back-end's metrics (replaced when they restart). */
    volatile Metrics frontEndMetrics;
    volatile Metrics backEndMetrics;
    /** Newest configuration version each follower applied. */
    final AtomicLong frontEndVersion = new AtomicLong();
    final AtomicLong backEndVersion = new AtomicLong();
    final AtomicLong redirectorVersion = new AtomicLong();

    /** A running role: its loops, the role itself and its watcher of the managers (or null). */
    private record Role<T extends AutoCloseable>(EventLoops loops, T node, ConfigWatcher watcher) {
    }

    ChaosSystem(Transport transport, String carrier, Path stateDir) throws Exception {
        this.transport = transport;
        this.carrier = carrier;
        this.stateDir = stateDir;
        originLoops = EventLoops.create("origin", transport, 1);
        always.add(originLoops);
        origin = new CountingOrigin(originLoops);
        always.add(0, origin);
        try {
            // The back-end binds first; the relay in front of it is the address the configuration names.
            backEndAddress = new InetSocketAddress("127.0.0.1", 0);
            BraidConfig bootstrap = config(new InetSocketAddress("127.0.0.1", 1));
            backEnd = startBackEnd(bootstrap);
            backEndAddress = backEnd.node().localAddress();
            relay = new LinkRelay(backEndAddress);
            config = config(relay.address());
            managersAddress = new InetSocketAddress("127.0.0.1", 0);
            managers = startManagers();
            managersAddress = managers.node().localAddress();
            BackEnd first = backEnd.node();
            backEnd = new Role<>(backEnd.loops(), first, follow("back-end", backEndVersion, (c, v) -> first.update(c)));
            frontEndAddress = new InetSocketAddress("127.0.0.1", 0);
            frontEnd = startFrontEnd();
            frontEndAddress = frontEnd.node().localAddress();
            dnsAddress = new InetSocketAddress("127.0.0.1", 0);
            redirector = startRedirector();
            dnsAddress = redirector.node().localAddress();
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    private BraidConfig config(InetSocketAddress backEndSeenByFrontEnd) {
        String yaml = String.join("\n",
                "sites:",
                "  - name: shop",
                "    hostnames: [" + SITE_HOST + "]",
                "    queue: {timeoutMillis: 2000}",
                "    origins:",
                "      - name: origin-1",
                "        url: http://127.0.0.1:" + origin.address().getPort(),
                "        maxInFlight: 64",
                "        connectTimeoutMillis: 500",
                "        responseTimeoutMillis: 3000",
                "        health: {path: /health, intervalMillis: 200, timeoutMillis: 500, rise: 1, fall: 2}",
                "frontEnds:",
                "  - name: fe-1",
                "    listen: 127.0.0.1:0",
                "    publicAddress: 127.0.0.1",
                "    admin: 127.0.0.1:0",
                "    sites: [shop]",
                "    backEnds: [be-1]",
                "    capacity: 20000",
                "    limits: {drainTimeoutMillis: 0}",
                "backEnds:",
                "  - name: be-1",
                "    listen: 127.0.0.1:" + backEndSeenByFrontEnd.getPort(),
                "    admin: 127.0.0.1:0",
                "    sites: [shop]",
                "clientClasses:",
                "  - name: gold",
                "    ring: 0",
                "    weight: 8",
                "    rules: [{pathPrefix: /order}]",
                "  - name: standard",
                "    ring: 2",
                "    weight: 1",
                "redirectors:",
                "  - name: rd-1",
                "    listen: 127.0.0.1:0",
                "    admin: 127.0.0.1:0",
                "managers:",
                "  listen: 127.0.0.1:0",
                "  reportIntervalMs: 500",
                "tmp:",
                "  carrier: " + carrier,
                "");
        return ConfigLoader.parse(yaml, ConfigLoader.Format.YAML);
    }

    private URI managersUri() {
        return URI.create("http://127.0.0.1:" + managersAddress.getPort());
    }

    private ConfigWatcher follow(String who, AtomicLong applied, java.util.function.ObjLongConsumer<BraidConfig> apply) {
        return ConfigWatcher.start(managersUri(), v -> {
            apply.accept(v.config(), v.version());
            applied.set(v.version());
        }, ConfigWatcher.Settings.DEFAULT.withClientName("chaos " + who)
                .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)));
    }

    private Role<BackEnd> startBackEnd(BraidConfig c) {
        EventLoops loops = EventLoops.create("be", transport, 2);
        try {
            Metrics metrics = new Metrics();
            BackEnd be = BackEnd.start(new BackEnd.Options("be-1", backEndAddress, loops, metrics, c));
            backEndMetrics = metrics;
            ConfigWatcher w = managers == null ? null : follow("back-end", backEndVersion, (next, v) -> be.update(next));
            return new Role<>(loops, be, w);
        } catch (RuntimeException e) {
            loops.close();
            throw e;
        }
    }

    private Role<FrontEnd> startFrontEnd() {
        EventLoops loops = EventLoops.create("fe", transport, 2);
        try {
            Metrics metrics = new Metrics();
            FrontEnd fe = FrontEnd.start(new FrontEnd.Options("fe-1", frontEndAddress, loops, metrics, config));
            frontEndMetrics = metrics;
            fe.awaitLinks(Duration.ofSeconds(3));
            return new Role<>(loops, fe, follow("front-end", frontEndVersion, (c, v) -> fe.update(c)));
        } catch (RuntimeException e) {
            loops.close();
            throw e;
        }
    }

    private Role<ManagersServer> startManagers() throws IOException {
        EventLoops loops = EventLoops.create("mgr", transport, 1);
        try {
            return new Role<>(loops, ManagersServer.start(ManagersServer.Options.builder().config(config)
                    .listen(managersAddress).stateDir(stateDir).loops(loops).build()), null);
        } catch (IOException | RuntimeException e) {
            loops.close();
            throw e;
        }
    }

    private Role<Redirector> startRedirector() {
        EventLoops loops = EventLoops.create("rd", transport, 1);
        try {
            Redirector rd = Redirector.start(Redirector.Options.builder(loops).listen(dnsAddress)
                    .metrics(new Metrics()).nodeName("rd-1").config(config, 1).build());
            return new Role<>(loops, rd, follow("redirector", redirectorVersion, rd::update));
        } catch (RuntimeException e) {
            loops.close();
            throw e;
        }
    }

    private static <T extends AutoCloseable> void stopRole(Role<T> role,
                                                           java.util.function.Consumer<T> stop) {
        if (role == null) {
            return;
        }
        if (role.watcher() != null) {
            role.watcher().close();
        }
        try {
            stop.accept(role.node());
        } finally {
            role.loops().close();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            log.warn("closing {} failed: {}", c, e.toString());
        }
    }

    // --- faults ----------------------------------------------------------------------------

    void killOrigin() {
        origin.kill();
    }

    void restartOrigin() {
        origin.restart();
    }

    void killBackEnd() {
        stopRole(backEnd, be -> be.drain(Duration.ZERO));
        backEnd = null;
    }

    /**
     * Stops the back-end as a crash would: its event loops go first, so no GOAWAY or reset leaves
     * it; then what it held is released.
     */
    void crashBackEnd() {
        Role<BackEnd> role = backEnd;
        backEnd = null;
        if (role.watcher() != null) {
            role.watcher().close();
        }
        role.loops().close();
        try {
            role.node().drain(Duration.ZERO);
        } catch (RuntimeException e) {
            log.info("back-end after its crash: {}", e.toString());
        }
    }

    void restartBackEnd() {
        backEnd = startBackEnd(config);
    }

    void killFrontEnd() {
        stopRole(frontEnd, FrontEnd::close);
        frontEnd = null;
    }

    void restartFrontEnd() {
        frontEnd = startFrontEnd();
    }

    void killManagers() {
        stopRole(managers, ManagersServer::close);
        managers = null;
    }

    void restartManagers() throws IOException {
        managers = startManagers();
    }

    void killRedirector() {
        stopRole(redirector, Redirector::close);
        redirector = null;
    }

    void restartRedirector() {
        redirector = startRedirector();
    }

    // --- addresses -------------------------------------------------------------------------

    /** What the front-end's watcher refused since the version it runs, or null. */
    ConfigWatcher.Refusal frontEndRefusal() {
        return frontEnd.watcher().refused();
    }

    InetSocketAddress frontEnd() {
        return frontEndAddress;
    }

    InetSocketAddress managers() {
        return managersAddress;
    }

    InetSocketAddress dns() {
        return dnsAddress;
    }

    BraidConfig config() {
        return config;
    }

    @Override
    public void close() {
        killFrontEnd();
        killRedirector();
        killBackEnd();
        killManagers();
        if (relay != null) {
            relay.close();
        }
        always.forEach(ChaosSystem::closeQuietly);
    }
}
