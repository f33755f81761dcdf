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
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
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
 *
 * <p>The back-end and the front-end can instead run as processes of their own ({@link Child}):
 * {@code braid back-end|front-end} in a child JVM ({@link NodeProcess}), started from the same
 * configuration (a file in the state directory, on ports chosen up front so that a restart finds
 * them again) and following the managers by URL. Their kill is SIGKILL, and the restart waits for
 * the new process's start line and {@code /health}. A back-end in a child is reached directly
 * (there is no {@link #relay}: the address the configuration names is the one it binds).
 */
final class ChaosSystem implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChaosSystem.class);

    static final String SITE_HOST = "www.shop.example";
    /** Bound on a child process's start, start line and {@code /health} included. */
    private static final long CHILD_START_MS = 30_000;

    /** The roles that can run as a process of their own. */
    enum Child {
        BACK_END, FRONT_END
    }

    /** A SIGKILL: the process, its exit status and how long it took to be gone. */
    record Kill(String process, int exitStatus, long millis) {
    }

    private final Transport transport;
    private final String carrier;
    private final Path stateDir;
    private final Set<Child> children;
    private final AtomicInteger starts = new AtomicInteger();
    private Path configFile;
    private NodeProcess backEndProcess;
    private NodeProcess frontEndProcess;
    /** The newest SIGKILL of a child, or null. */
    volatile Kill lastKill;
    /** Every child process started, in order. */
    private final List<ProcessHandle> started = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> always = new ArrayList<>();

    private final EventLoops originLoops;
    final CountingOrigin origin;
    /** Between front-end and back-end; null when the back-end runs in a child. */
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

    /** Every role in this JVM. */
    ChaosSystem(Transport transport, String carrier, Path stateDir) throws Exception {
        this(transport, carrier, stateDir, EnumSet.noneOf(Child.class));
    }

    /** The roles in {@code children} as processes of their own, the others in this JVM. */
    ChaosSystem(Transport transport, String carrier, Path stateDir, Set<Child> children) throws Exception {
        this.transport = transport;
        this.carrier = carrier;
        this.stateDir = stateDir;
        this.children = Set.copyOf(children);
        originLoops = EventLoops.create("origin", transport, 1);
        always.add(originLoops);
        origin = new CountingOrigin(originLoops);
        always.add(0, origin);
        try {
            // A process restarted by a supervisor binds what its configuration names: a port fixed up front.
            InetSocketAddress frontEndListen = this.children.contains(Child.FRONT_END) ? freePort()
                    : new InetSocketAddress("127.0.0.1", 0);
            if (this.children.contains(Child.BACK_END)) {
                backEndAddress = freePort();
                relay = null;
                config = config(backEndAddress, frontEndListen);
            } else {
                // The back-end binds first; the relay in front of it is the address the configuration names.
                backEndAddress = new InetSocketAddress("127.0.0.1", 0);
                BraidConfig bootstrap = config(new InetSocketAddress("127.0.0.1", 1), frontEndListen);
                backEnd = startBackEnd(bootstrap);
                backEndAddress = backEnd.node().localAddress();
                relay = new LinkRelay(backEndAddress);
                config = config(relay.address(), frontEndListen);
            }
            managersAddress = new InetSocketAddress("127.0.0.1", 0);
            managers = startManagers();
            managersAddress = managers.node().localAddress();
            if (!this.children.isEmpty()) {
                configFile = stateDir.resolve("braid.yaml");
                Files.writeString(configFile, ConfigLoader.toYaml(config));
            }
            if (this.children.contains(Child.BACK_END)) {
                backEndProcess = startProcess("back-end", "be-1");
            } else {
                BackEnd first = backEnd.node();
                backEnd = new Role<>(backEnd.loops(), first, follow("back-end", backEndVersion,
                        (c, v) -> first.update(c)));
            }
            frontEndAddress = frontEndListen;
            if (this.children.contains(Child.FRONT_END)) {
                frontEndProcess = startProcess("front-end", "fe-1");
            } else {
                frontEnd = startFrontEnd();
                frontEndAddress = frontEnd.node().localAddress();
            }
            dnsAddress = new InetSocketAddress("127.0.0.1", 0);
            redirector = startRedirector();
            dnsAddress = redirector.node().localAddress();
        } catch (Exception | Error e) {
            try {
                close();
            } catch (RuntimeException | Error closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    private BraidConfig config(InetSocketAddress backEndSeenByFrontEnd, InetSocketAddress frontEndListen) {
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
                "    listen: 127.0.0.1:" + frontEndListen.getPort(),
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

    /** Starts {@code braid ROLE --name NAME} in a child JVM and waits until it is ready. */
    private NodeProcess startProcess(String role, String name) throws Exception {
        NodeProcess p = new NodeProcess(name + "#" + starts.incrementAndGet(), role, name, configFile, managersUri());
        started.add(p.handle());
        try {
            p.awaitReady(CHILD_START_MS);
            return p;
        } catch (Exception | Error e) {
            p.close();
            throw e;
        }
    }

    /** SIGKILL, and the process is gone before this returns. */
    private void sigkill(NodeProcess p) {
        long start = System.nanoTime();
        try {
            int status = p.kill();
            lastKill = new Kill(p.toString(), status, (System.nanoTime() - start) / 1_000_000);
            if (p.isAlive()) {
                throw new AssertionError(p + " still alive after SIGKILL");
            }
        } finally {
            p.close();
        }
    }

    /**
     * A loopback port free for both UDP and TCP now (the back-end's TMP port takes both), for a
     * child to bind a moment later.
     */
    private static InetSocketAddress freePort() throws IOException {
        for (int attempt = 0; attempt < 20; attempt++) {
            try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
                 ServerSocket tcp = new ServerSocket()) {
                tcp.bind(new InetSocketAddress("127.0.0.1", udp.getLocalPort()));
                return new InetSocketAddress("127.0.0.1", udp.getLocalPort());
            } catch (IOException taken) {
                // TCP's port of that number is in use; another number
            }
        }
        throw new IOException("no loopback port free for both UDP and TCP");
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

    /** @return when the origin was back ({@link System#nanoTime()}) */
    long restartOrigin() {
        origin.restart();
        return System.nanoTime();
    }

    /** In this JVM: drains for zero time. In a child: SIGKILL. */
    void killBackEnd() {
        if (backEndProcess != null) {
            NodeProcess p = backEndProcess;
            backEndProcess = null;
            sigkill(p);
            return;
        }
        stopRole(backEnd, be -> be.drain(Duration.ZERO));
        backEnd = null;
    }

    /**
     * Stops the back-end as a crash would: its event loops go first, so no GOAWAY or reset leaves
     * it; then what it held is released. In a child: SIGKILL.
     */
    void crashBackEnd() {
        if (backEndProcess != null) {
            killBackEnd();
            return;
        }
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

    /**
     * @return when the back-end was back ({@link System#nanoTime()}): started in this JVM, or in a
     * child the instant its start line was read
     */
    long restartBackEnd() throws Exception {
        if (children.contains(Child.BACK_END)) {
            backEndProcess = startProcess("back-end", "be-1");
            return backEndProcess.readyNanos();
        }
        backEnd = startBackEnd(config);
        return System.nanoTime();
    }

    /** In this JVM: closes every connection at once. In a child: SIGKILL. */
    void killFrontEnd() {
        if (frontEndProcess != null) {
            NodeProcess p = frontEndProcess;
            frontEndProcess = null;
            sigkill(p);
            return;
        }
        stopRole(frontEnd, FrontEnd::close);
        frontEnd = null;
    }

    /** @return when the front-end was back, as {@link #restartBackEnd()} */
    long restartFrontEnd() throws Exception {
        if (children.contains(Child.FRONT_END)) {
            frontEndProcess = startProcess("front-end", "fe-1");
            return frontEndProcess.readyNanos();
        }
        frontEnd = startFrontEnd();
        return System.nanoTime();
    }

    void killManagers() {
        stopRole(managers, ManagersServer::close);
        managers = null;
    }

    /** @return when the managers were back ({@link System#nanoTime()}) */
    long restartManagers() throws IOException {
        managers = startManagers();
        return System.nanoTime();
    }

    void killRedirector() {
        stopRole(redirector, Redirector::close);
        redirector = null;
    }

    /** @return when the redirector was back ({@link System#nanoTime()}) */
    long restartRedirector() {
        redirector = startRedirector();
        return System.nanoTime();
    }

    /** Every child process this system started, the killed ones included. */
    List<ProcessHandle> startedProcesses() {
        return List.copyOf(started);
    }

    /** The back-end's process, or null when it runs in this JVM or is down. */
    NodeProcess backEndProcess() {
        return backEndProcess;
    }

    /** The front-end's process, or null when it runs in this JVM or is down. */
    NodeProcess frontEndProcess() {
        return frontEndProcess;
    }

    // --- addresses -------------------------------------------------------------------------

    /** What the front-end's watcher refused since the version it runs, or null. */
    ConfigWatcher.Refusal frontEndRefusal() {
        if (frontEnd == null) {
            throw new IllegalStateException("no front-end in this JVM");
        }
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

    /** Stops every role; child processes are killed even when stopping another role fails. */
    @Override
    public void close() {
        List<Runnable> steps = List.of(this::killFrontEnd, this::killRedirector, this::killBackEnd,
                this::killManagers, () -> {
                    if (relay != null) {
                        relay.close();
                    }
                });
        Throwable first = null;
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException | Error e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        always.forEach(ChaosSystem::closeQuietly);
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw (RuntimeException) first;
        }
    }
}
