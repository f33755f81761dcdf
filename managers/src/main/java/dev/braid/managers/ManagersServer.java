package dev.braid.managers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.EtcdSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.HostPort;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.managers.etcd.EtcdClient;
import dev.braid.managers.state.NodeReport;
import dev.braid.runtime.AdminServer.Request;
import dev.braid.runtime.AdminServer.Response;
import dev.braid.runtime.AdminServer;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The managers role: holds the versioned configuration in a {@link ConfigStore} (memory, a state
 * directory, or etcd for a cluster of managers), the live state of the nodes ({@link ControlPlane}),
 * and serves both over the admin API (JSON over HTTP) and the ops console on one
 * {@link AdminServer}. {@code docs/config.md} and {@code docs/managers.md} describe every route;
 * in short:
 *
 * <ul>
 *   <li>{@code GET /api/v1/config} (long poll with {@code ?after=N&timeoutMs=T}), {@code PUT
 *       /api/v1/config} (conditional with {@code If-Match: "N"}: 412 unless version N is current),
 *       {@code POST /api/v1/config/rollback}, {@code GET /api/v1/config/history},
 *       {@code GET /api/v1/version}: the versioned configuration.</li>
 *   <li>{@code GET /api/v1/pki/crl}: the CRLs of the current configuration ({@code pki.crls}) as PEM.</li>
 *   <li>{@code PUT /api/v1/classes/{name}/weight}: a new version with one class's weight changed.</li>
 *   <li>{@code POST /api/v1/nodes/{name}/report}: a node's heartbeat; the answer carries the
 *       assignment layer. {@code GET /api/v1/nodes}, {@code GET /api/v1/links}: what nodes reported.</li>
 *   <li>{@code GET /api/v1/state} (long poll with {@code ?after=K}): the snapshot the redirector follows.</li>
 *   <li>{@code POST /api/v1/cache/purge}: forwarded to the front-ends' admin endpoints.</li>
 *   <li>{@code GET /api/v1/audit}: who changed what, when.</li>
 *   <li>{@code GET /console}: the ops console; its chart library comes from a WebJar on the class path.</li>
 * </ul>
 *
 * <p>Writes need {@code Authorization: Bearer <token>} when the managers have a token (node
 * reports too). Long polls hold no thread: each is a future completed on the change, with a timer
 * on an event loop for the 304. Configuration changes are parsed, validated and written on one
 * dedicated thread, so file system and etcd waits never reach an event loop; the control loop
 * (liveness, assignment policy, cluster sync) runs on another.
 *
 * <p>Metrics: {@code braid_managers_config_version}, {@code braid_managers_config_changes_total{result}},
 * {@code braid_managers_config_watchers}, {@code braid_managers_state_version},
 * {@code braid_managers_nodes{role,status}}, {@code braid_managers_reports_total{result}},
 * {@code braid_managers_leader}, {@code braid_managers_assignments}.
 */
public final class ManagersServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ManagersServer.class);

    public static final long DEFAULT_POLL_TIMEOUT_MS = 25_000;
    public static final long MAX_POLL_TIMEOUT_MS = 60_000;
    /** Optional request header naming who makes a change; recorded with the version. */
    public static final String AUTHOR_HEADER = "Braid-Author";
    /** Response header carrying the configuration version, on every configuration answer. */
    public static final String VERSION_HEADER = "Braid-Config-Version";
    /** Response header carrying the state version, on every state answer. */
    public static final String STATE_VERSION_HEADER = "Braid-State-Version";
    /** The route serving the current configuration's CRLs as PEM. */
    public static final String CRL_PATH = "/api/v1/pki/crl";
    /** What a PUT of the configuration answers when its {@code If-Match} version is not the current one. */
    public static final int VERSION_CONFLICT = 412;
    /** The front-ends' admin route a cache purge is forwarded to. */
    public static final String PURGE_PATH = "/api/v1/cache/purge";
    /** Most audit entries one request returns. */
    public static final int MAX_AUDIT_LIMIT = 10_000;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Response SHUTTING_DOWN = errors(503, List.of("managers: shutting down"))
            .withHeader(HttpHeaderNames.CONNECTION.toString(), "close");

    /**
     * How to start the managers.
     *
     * @param config     the initial configuration, or null
     * @param configFile a file to read the initial configuration from, or null (not both)
     * @param stateDir   where versions are kept across restarts, or null to keep them in memory;
     *                   when it already holds a version, that version wins over the initial configuration
     * @param listen     admin API address, or null for the configuration's {@code managers.listen}
     * @param token      bearer token required by write APIs, or null for none
     * @param loops      event loops to serve on, or null for a private single loop closed with the server
     * @param metrics    registry to add the managers' metrics to, or null for a private one
     * @param etcd       the cluster store, or null for the initial configuration's {@code managers.etcd};
     *                   with endpoints, versions live in etcd and {@code stateDir} is not used
     */
    public record Options(BraidConfig config, Path configFile, Path stateDir, InetSocketAddress listen, String token,
                          EventLoops loops, Metrics metrics, EtcdSettings etcd) {

        public Options(BraidConfig config, Path configFile, Path stateDir, InetSocketAddress listen, String token,
                       EventLoops loops, Metrics metrics) {
            this(config, configFile, stateDir, listen, token, loops, metrics, null);
        }

        public Options {
            if (config != null && configFile != null) {
                throw new IllegalArgumentException("configFile: " + configFile
                        + " (expected: either a configuration or a file, not both)");
            }
            if (token != null && (token.isEmpty() || token.chars().anyMatch(c -> c <= ' ' || c >= 0x7f))) {
                throw new IllegalArgumentException("token: " + (token.isEmpty() ? "\"\"" : "(hidden)")
                        + " (expected: non-empty, printable ASCII without spaces)");
            }
        }

        public static Builder builder() {
            return new Builder();
        }

        /** Builds {@link Options}; every setting is optional. */
        public static final class Builder {
            private BraidConfig config;
            private Path configFile;
            private Path stateDir;
            private InetSocketAddress listen;
            private String token;
            private EventLoops loops;
            private Metrics metrics;
            private EtcdSettings etcd;

            public Builder config(BraidConfig config) {
                this.config = config;
                return this;
            }

            public Builder configFile(Path configFile) {
                this.configFile = configFile;
                return this;
            }

            public Builder stateDir(Path stateDir) {
                this.stateDir = stateDir;
                return this;
            }

            public Builder listen(InetSocketAddress listen) {
                this.listen = listen;
                return this;
            }

            public Builder token(String token) {
                this.token = token;
                return this;
            }

            public Builder loops(EventLoops loops) {
                this.loops = loops;
                return this;
            }

            public Builder metrics(Metrics metrics) {
                this.metrics = metrics;
                return this;
            }

            public Builder etcd(EtcdSettings etcd) {
                this.etcd = etcd;
                return this;
            }

            public Options build() {
                return new Options(config, configFile, stateDir, listen, token, loops, metrics, etcd);
            }
        }
    }

    private record Cached(long version, byte[] json) {
    }

    private final ConfigStore store;
    private final ControlPlane control;
    private final Console console = new Console();
    private volatile SharedState shared;
    private final EventLoops loops;
    private final boolean ownLoops;
    private final Metrics metrics;
    private final Metrics.Counter changes;
    private final Metrics.Counter reports;
    private final byte[] token;
    private final ExecutorService writer;
    private final ScheduledExecutorService controlLoop;
    private final Set<CompletableFuture<Response>> polls = ConcurrentHashMap.newKeySet();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(3)).build();
    private volatile Cached cached;
    private volatile boolean closed;
    private AdminServer admin;

    private ManagersServer(ConfigStore store, EventLoops loops, boolean ownLoops, Metrics metrics, String token) {
        this.store = store;
        this.shared = SharedState.alone("starting");
        this.control = new ControlPlane(store, shared, System::currentTimeMillis);
        this.loops = loops;
        this.ownLoops = ownLoops;
        this.metrics = metrics;
        this.token = token == null ? null : token.getBytes(StandardCharsets.US_ASCII);
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "managers-config-writer");
            t.setDaemon(true);
            return t;
        });
        this.controlLoop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "managers-control");
            t.setDaemon(true);
            return t;
        });
        metrics.gauge("braid_managers_config_version", "Version of the configuration the managers serve",
                () -> store.current().version());
        metrics.gauge("braid_managers_config_watchers", "Long polls waiting for the next configuration version",
                store::waiting);
        metrics.gauge("braid_managers_state_version", "Version of the state snapshot (nodes, loads, assignments)",
                control::stateVersion);
        metrics.gauge("braid_managers_leader", "1 while this managers process runs the assignment loop",
                () -> shared.isLeader() ? 1 : 0);
        metrics.gauge("braid_managers_assignments", "Spare nodes lent to sites by the assignment policy",
                () -> control.assignments().size());
        metrics.gauges("braid_managers_nodes", "Configured nodes by role and status (up, down, unknown)",
                this::nodeCounts, "role", "status");
        this.changes = metrics.counter("braid_managers_config_changes_total",
                "Configuration changes submitted, by result (accepted or rejected)", "result");
        changes.labels("accepted");
        changes.labels("rejected");
        this.reports = metrics.counter("braid_managers_reports_total",
                "Node reports received, by result (accepted or rejected)", "result");
        reports.labels("accepted");
        reports.labels("rejected");
        store.addListener(v -> cached = new Cached(v.version(), v.toJson().getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Opens the store, applies the initial configuration when the store is new, and binds the
     * admin API.
     *
     * @throws ConfigException when the initial configuration is unreadable or invalid
     * @throws IOException     when the state directory or etcd cannot be used
     */
    public static ManagersServer start(Options options) throws IOException {
        BraidConfig initial = options.config();
        String source = "initial configuration";
        if (options.configFile() != null) {
            initial = ConfigLoader.load(options.configFile());
            source = options.configFile().toString();
        }
        if (initial != null) {
            List<String> errors = ConfigValidator.validate(initial);
            if (!errors.isEmpty()) {
                throw new ConfigException(source, errors, null);
            }
        }
        EtcdSettings etcd = options.etcd() != null ? options.etcd()
                : initial != null ? initial.managers().etcd() : EtcdSettings.DEFAULT;
        EtcdClient etcdClient = etcd.enabled()
                ? EtcdClient.create(etcd.endpoints().stream().map(URI::create).toList()) : null;
        ConfigStore store = etcdClient != null
                ? ConfigStore.etcd(etcdClient, etcd.prefix(), ConfigStore.DEFAULT_HISTORY_LIMIT)
                : options.stateDir() != null ? ConfigStore.open(options.stateDir()) : ConfigStore.inMemory();
        EventLoops loops = options.loops();
        boolean ownLoops = loops == null;
        ManagersServer server = null;
        SharedState shared = null;
        try {
            if (initial != null) {
                if (store.current().version() == 0) {
                    BraidConfig first = initial;
                    store.update("config.initial", source, c -> first);
                } else if (!store.current().sha256().equals(VersionedConfig.sha256Of(initial))) {
                    log.warn("{} holds version {}; the {} differs and is not applied (PUT it to apply it)",
                            store.describe(), store.current().version(), source);
                }
            }
            InetSocketAddress listen = options.listen() != null ? options.listen()
                    : HostPort.parse("managers.listen", store.current().config().managers().listen());
            if (ownLoops) {
                loops = EventLoops.create("managers", null, 1);
            }
            server = new ManagersServer(store, loops, ownLoops,
                    options.metrics() != null ? options.metrics() : new Metrics(), options.token());
            server.bind(listen);
            // The process's name in a cluster is its admin address, known once bound.
            String self = selfName(server.localAddress());
            shared = etcdClient != null
                    ? new EtcdSharedState(etcdClient, etcd.prefix(), self, etcd.leaseSeconds())
                    : SharedState.alone(self);
            server.shared = shared;
            server.control.join(shared);
            server.scheduleTick(0);
            log.info("managers {}: admin API and console on {}, configuration version {} in {}{}", self,
                    server.localAddress(), store.current().version(), store.describe(),
                    options.token() != null ? ", writes need a bearer token" : "");
            return server;
        } catch (Throwable e) {
            // Netty reports a failed bind (a checked exception) without declaring it: clean up on anything.
            if (server != null) {
                server.writer.shutdownNow();
                server.controlLoop.shutdownNow();
                if (server.admin != null) {
                    server.admin.close();
                }
            }
            if (shared != null) {
                shared.close();
            }
            store.close();
            if (etcdClient != null) {
                etcdClient.close();
            }
            if (ownLoops && loops != null) {
                loops.close();
            }
            throw e;
        }
    }

    private static String selfName(InetSocketAddress bound) {
        String host = bound.getAddress().isAnyLocalAddress() ? localHostName() : bound.getAddress().getHostAddress();
        return host + ":" + bound.getPort();
    }

    private static String localHostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }

    private void bind(InetSocketAddress listen) {
        admin = AdminServer.builder(metrics)
                .route("GET", "/api/v1/config", this::getConfig)
                .route("PUT", "/api/v1/config", this::putConfig)
                .route("POST", "/api/v1/config/rollback", this::rollback)
                .route("GET", "/api/v1/config/history", req -> done(history()))
                .prefixRoute("GET", "/api/v1/config/versions/", this::getVersion)
                .route("GET", "/api/v1/version", req -> done(version()))
                .route("GET", CRL_PATH, req -> done(crls()))
                .prefixRoute("PUT", "/api/v1/classes/", this::setClassWeight)
                .prefixRoute("POST", "/api/v1/nodes/", this::report)
                .route("GET", "/api/v1/nodes", req -> done(json(200, nodes())))
                .route("GET", "/api/v1/links", req -> done(json(200, links())))
                .route("GET", "/api/v1/state", this::getState)
                .route("GET", "/api/v1/audit", this::audit)
                .route("POST", "/api/v1/cache/purge", this::purge)
                .route("GET", "/console", req -> done(console.page()))
                .prefixRoute("GET", "/console/", req -> done(console.asset(req.path())))
                .bind(loops, listen);
    }

    private void scheduleTick(long delayMillis) {
        if (closed) {
            return;
        }
        try {
            controlLoop.schedule(() -> {
                try {
                    control.tick();
                } catch (RuntimeException e) {
                    log.warn("managers: control loop step failed", e);
                }
                long interval = store.current().config().managers().reportIntervalMs();
                scheduleTick(Math.max(50, Math.min(1000, interval / 4)));
            }, delayMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closing.
        }
    }

    private Map<List<String>, Double> nodeCounts() {
        Map<List<String>, Double> out = new java.util.HashMap<>();
        for (String role : NodeReport.ROLES) {
            for (String status : List.of(ControlPlane.UP, ControlPlane.DOWN, ControlPlane.UNKNOWN)) {
                out.put(List.of(role, status), 0.0);
            }
        }
        control.statuses().forEach((key, status) -> {
            String role = key.substring(0, key.indexOf('/'));
            out.merge(List.of(role, status), 1.0, Double::sum);
        });
        return out;
    }

    private CompletionStage<Response> getConfig(Request req) {
        if (closed) {
            return done(SHUTTING_DOWN);
        }
        String afterText = req.queryParam("after");
        String timeoutText = req.queryParam("timeoutMs");
        VersionedConfig now = store.current();
        if (afterText == null) {
            if (timeoutText != null) {
                return done(errors(400, List.of("timeoutMs: " + timeoutText + " (expected: only with after)")));
            }
            return done(envelope(now));
        }
        long after = parseLong(afterText);
        if (after < 0) {
            return done(errors(400, List.of("after: " + afterText + " (expected: a version number >= 0)")));
        }
        long timeoutMs = timeoutText == null ? DEFAULT_POLL_TIMEOUT_MS : parseLong(timeoutText);
        if (timeoutMs < 0 || timeoutMs > MAX_POLL_TIMEOUT_MS) {
            return done(errors(400, List.of("timeoutMs: " + timeoutText + " (expected: 0.." + MAX_POLL_TIMEOUT_MS + ")")));
        }
        if (now.version() != after) {
            return done(envelope(now));
        }
        CompletableFuture<VersionedConfig> next = store.nextAfter(after);
        CompletableFuture<Response> response = next.thenApply(this::envelope);
        polls.add(response);
        ScheduledFuture<?> timer = loops.group().next().schedule(
                () -> response.complete(notModified(now)), timeoutMs, TimeUnit.MILLISECONDS);
        response.whenComplete((r, e) -> {
            polls.remove(response);
            timer.cancel(false);
            next.cancel(false);
        });
        if (closed) {
            response.complete(SHUTTING_DOWN);
        }
        return response;
    }

    public ConfigStore store() {
        return store;
    }

    public Metrics metrics() {
        return metrics;
    }

    public InetSocketAddress localAddress() {
        return admin.localAddress();
    }

    /** This process's name among the managers of a cluster: its admin address. */
    public String name() {
        return shared.self();
    }

    /** Whether this process runs the assignment loop (always, without a cluster). */
    public boolean isLeader() {
        return shared.isLeader();
    }

    /** The state snapshot served at {@code GET /api/v1/state}. */
    public ObjectNode state() {
        return control.snapshot();
    }

    /**
     * Stops serving: waiting long polls get 503, connections still open get 503 for anything
     * else, the listening socket closes, a leader gives up its lease, and the store is released.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (CompletableFuture<Response> poll : polls) {
            poll.complete(SHUTTING_DOWN);
        }
        admin.close();
        controlLoop.shutdownNow();
        writer.shutdown();
        try {
            if (!writer.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("managers: a configuration change was still being written at shutdown");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        shared.close();
        store.close();
        if (ownLoops) {
            loops.close();
        }
    }

    private CompletionStage<Response> putConfig(Request req) {
        if (closed) {
            return done(SHUTTING_DOWN);
        }
        Response denied = authorize(req);
        if (denied != null) {
            return done(denied);
        }
        String author = author(req);
        String contentType = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        String ifMatch = req.headers().get(HttpHeaderNames.IF_MATCH);
        long expected = ifMatch == null ? -1 : expectedVersion(ifMatch);
        if (ifMatch != null && expected < 0) {
            return done(errors(400, List.of("If-Match: " + ifMatch + " (expected: one configuration version in quotes, "
                    + "such as \"7\", as the ETag of GET /api/v1/config gives it)")));
        }
        String text = req.bodyText();
        return CompletableFuture.supplyAsync(() -> change(text, contentType, author, expected), writer);
    }

    /** The version an {@code If-Match} names: {@code "7"} (or {@code 7}, or weak {@code W/"7"}); -1 if it names none. */
    static long expectedVersion(String ifMatch) {
        String v = ifMatch.strip();
        if (v.startsWith("W/")) {
            v = v.substring(2);
        }
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1);
        }
        return parseLong(v);
    }

    /** A conditional write whose expected version is no longer current. */
    private static final class VersionConflict extends RuntimeException {
        private static final long serialVersionUID = 1L;

        VersionConflict(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Applies a configuration sent whole; with {@code expected >= 0} only while that version is
     * current. The check runs inside the store's update, so it holds against changes through other
     * managers of a cluster too (a lost race re-runs it on the newer version, and it then fails).
     */
    private Response change(String text, String contentType, String author, long expected) {
        return change(author, () -> {
            BraidConfig config = format(contentType) == null ? ConfigLoader.parse(text)
                    : ConfigLoader.parse(text, format(contentType));
            if (expected < 0) {
                return store.apply(config, author);
            }
            return store.update("config.put", author, before -> {
                long current = store.current().version();
                if (current != expected) {
                    throw new VersionConflict("If-Match: \"" + expected + "\" (expected: the current version \""
                            + current + "\"; the configuration changed since it was read: read it again, re-apply "
                            + "the change and retry)");
                }
                return config;
            });
        });
    }

    /** Runs a change of the configuration on the writer thread's behalf and answers for it. */
    private Response change(String author, java.util.function.Supplier<VersionedConfig> change) {
        try {
            long before = store.current().version();
            VersionedConfig v = change.get();
            changes.inc("accepted");
            ObjectNode body = v.toJsonTree();
            body.put("changed", v.version() != before);
            return json(200, body).withHeader(VERSION_HEADER, Long.toString(v.version()));
        } catch (VersionConflict e) {
            changes.inc("conflict");
            log.info("configuration change by {} refused: {}", author, e.getMessage());
            return errors(VERSION_CONFLICT, List.of(e.getMessage()))
                    .withHeader(VERSION_HEADER, Long.toString(store.current().version()));
        } catch (ConfigException e) {
            changes.inc("rejected");
            log.info("configuration change by {} rejected: {}", author, e.errors());
            return errors(400, e.errors());
        } catch (NoSuchElementException e) {
            changes.inc("rejected");
            return errors(404, List.of(e.getMessage()));
        } catch (IllegalArgumentException e) {
            changes.inc("rejected");
            return errors(400, List.of(e.getMessage()));
        } catch (UncheckedIOException e) {
            changes.inc("rejected");
            log.error("configuration change by {} could not be stored", author, e);
            return errors(500, List.of("state: " + e.getMessage() + " (the configuration is unchanged)"));
        }
    }

    private CompletionStage<Response> getVersion(Request req) {
        String text = req.path().substring("/api/v1/config/versions/".length());
        long n = parseLong(text);
        if (n < 1) {
            return done(errors(404, List.of("version: " + text + " (expected: a kept version number >= 1)")));
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                VersionedConfig v = store.version(n);
                return v == null ? errors(404, List.of("version: " + n + " (expected: a kept version)")) : envelope(v);
            } catch (UncheckedIOException e) {
                return errors(500, List.of("state: " + e.getMessage()));
            }
        }, writer);
    }

    private CompletionStage<Response> rollback(Request req) {
        Response denied = guard(req);
        if (denied != null) {
            return done(denied);
        }
        JsonNode body;
        try {
            body = parseBody(req, "a JSON object such as {\"version\": 3}");
        } catch (IllegalArgumentException e) {
            return done(errors(400, List.of(e.getMessage())));
        }
        JsonNode v = body.get("version");
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 1) {
            return done(errors(400, List.of("version: " + v + " (expected: a kept version number >= 1)")));
        }
        String author = author(req);
        return CompletableFuture.supplyAsync(() -> change(author, () -> store.rollback(v.asLong(), author)), writer);
    }

    private CompletionStage<Response> setClassWeight(Request req) {
        Response denied = guard(req);
        if (denied != null) {
            return done(denied);
        }
        String rest = req.path().substring("/api/v1/classes/".length());
        if (!rest.endsWith("/weight") || rest.indexOf('/') != rest.length() - "/weight".length()) {
            return done(errors(404, List.of("path: " + req.path() + " (expected: /api/v1/classes/{name}/weight)")));
        }
        String name = rest.substring(0, rest.length() - "/weight".length());
        JsonNode body;
        try {
            body = parseBody(req, "a JSON object such as {\"weight\": 12}");
        } catch (IllegalArgumentException e) {
            return done(errors(400, List.of(e.getMessage())));
        }
        JsonNode w = body.get("weight");
        if (w == null || !w.isIntegralNumber() || !w.canConvertToInt()
                || w.asInt() < 1 || w.asInt() > ConfigValidator.MAX_CLASS_WEIGHT) {
            return done(errors(400, List.of("weight: " + w + " (expected: an integer 1.."
                    + ConfigValidator.MAX_CLASS_WEIGHT + ")")));
        }
        String author = author(req);
        return CompletableFuture.supplyAsync(() -> change(author,
                () -> store.update("class.weight", author, c -> withClassWeight(c, name, w.asInt()))), writer);
    }

    /**
     * {@code config} with class {@code name}'s weight set to {@code weight}, and with it every class
     * on the same ring: a ring is blended with one weight.
     *
     * @throws NoSuchElementException when there is no such class
     */
    static BraidConfig withClassWeight(BraidConfig config, String name, int weight) {
        ClientClass target = config.clientClass(name);
        if (target == null) {
            throw new NoSuchElementException("class: " + name + " (expected: one of "
                    + config.clientClasses().stream().map(ClientClass::name).toList() + ")");
        }
        List<ClientClass> classes = config.clientClasses().stream()
                .map(c -> c.ring().equals(target.ring()) ? new ClientClass(c.name(), c.ring(), weight, c.rules()) : c)
                .toList();
        return config.withClientClasses(classes);
    }

    private CompletionStage<Response> report(Request req) {
        Response denied = guard(req);
        if (denied != null) {
            reports.inc("rejected");
            return done(denied);
        }
        String rest = req.path().substring("/api/v1/nodes/".length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || !rest.substring(slash).equals("/report")) {
            reports.inc("rejected");
            return done(errors(404, List.of("path: " + req.path() + " (expected: /api/v1/nodes/{name}/report)")));
        }
        String name = rest.substring(0, slash);
        try {
            NodeReport report = NodeReport.fromTree(parseBody(req, "a node report object"));
            control.accept(name, report);
        } catch (IllegalArgumentException e) {
            reports.inc("rejected");
            return done(errors(400, List.of(e.getMessage().split("\n"))));
        } catch (NoSuchElementException e) {
            reports.inc("rejected");
            return done(errors(404, List.of(e.getMessage())));
        }
        reports.inc("accepted");
        ObjectNode answer = ControlPlane.assignmentsJson(control.assignments());
        answer.put("stateVersion", control.stateVersion());
        answer.put("configVersion", store.current().version());
        answer.put("reportIntervalMs", control.reportIntervalMs());
        return done(json(200, answer));
    }

    private ObjectNode nodes() {
        ObjectNode state = control.snapshot();
        ObjectNode out = JSON.createObjectNode();
        ArrayNode list = out.putArray("nodes");
        for (String[] group : new String[][] {{"frontEnds", NodeReport.FRONT_END}, {"backEnds", NodeReport.BACK_END},
                {"redirectors", NodeReport.REDIRECTOR}}) {
            for (JsonNode n : state.get(group[0])) {
                ObjectNode o = list.addObject();
                o.put("role", group[1]);
                for (String f : List.of("name", "status", "health", "load", "configVersion", "refused", "lastReportAt",
                        "lastReportAgeMs", "sites", "lentSites")) {
                    if (n.has(f)) {
                        o.set(f, n.get(f));
                    }
                }
            }
        }
        out.put("configVersion", state.get("configVersion").asLong());
        return out;
    }

    private ObjectNode links() {
        ObjectNode state = control.snapshot();
        ObjectNode out = JSON.createObjectNode();
        ArrayNode list = out.putArray("links");
        for (String[] group : new String[][] {{"frontEnds", NodeReport.FRONT_END}, {"backEnds", NodeReport.BACK_END}}) {
            for (JsonNode n : state.get(group[0])) {
                for (JsonNode l : n.path("links")) {
                    ObjectNode o = list.addObject();
                    o.put("node", n.get("name").asText());
                    o.put("role", group[1]);
                    o.put("nodeStatus", n.get("status").asText());
                    l.fields().forEachRemaining(e -> o.set(e.getKey(), e.getValue()));
                }
            }
        }
        return out;
    }

    private CompletionStage<Response> getState(Request req) {
        if (closed) {
            return done(SHUTTING_DOWN);
        }
        String afterText = req.queryParam("after");
        String timeoutText = req.queryParam("timeoutMs");
        if (afterText == null) {
            if (timeoutText != null) {
                return done(errors(400, List.of("timeoutMs: " + timeoutText + " (expected: only with after)")));
            }
            return done(stateResponse());
        }
        long after = parseLong(afterText);
        if (after < 0) {
            return done(errors(400, List.of("after: " + afterText + " (expected: a state version >= 0)")));
        }
        long timeoutMs = timeoutText == null ? DEFAULT_POLL_TIMEOUT_MS : parseLong(timeoutText);
        if (timeoutMs < 0 || timeoutMs > MAX_POLL_TIMEOUT_MS) {
            return done(errors(400, List.of("timeoutMs: " + timeoutText + " (expected: 0.." + MAX_POLL_TIMEOUT_MS + ")")));
        }
        CompletableFuture<Long> next = control.nextAfter(after);
        if (next.isDone()) {
            return done(stateResponse());
        }
        CompletableFuture<Response> response = next.thenApply(v -> stateResponse());
        polls.add(response);
        ScheduledFuture<?> timer = loops.group().next().schedule(() -> response.complete(
                new Response(304, "application/json", new byte[0], Map.of(STATE_VERSION_HEADER, Long.toString(after)))),
                timeoutMs, TimeUnit.MILLISECONDS);
        response.whenComplete((r, e) -> {
            polls.remove(response);
            timer.cancel(false);
            next.cancel(false);
        });
        if (closed) {
            response.complete(SHUTTING_DOWN);
        }
        return response;
    }

    private Response stateResponse() {
        ObjectNode state = control.snapshot();
        return json(200, state).withHeader(STATE_VERSION_HEADER, state.get("stateVersion").asText());
    }

    private CompletionStage<Response> audit(Request req) {
        String limitText = req.queryParam("limit");
        long limit = limitText == null ? 100 : parseLong(limitText);
        if (limit < 1 || limit > MAX_AUDIT_LIMIT) {
            return done(errors(400, List.of("limit: " + limitText + " (expected: 1.." + MAX_AUDIT_LIMIT + ")")));
        }
        return CompletableFuture.supplyAsync(() -> {
            ObjectNode out = JSON.createObjectNode();
            ArrayNode entries = out.putArray("entries");
            try {
                store.auditLog((int) limit).forEach(e -> entries.add(e.toJsonTree()));
            } catch (UncheckedIOException e) {
                return errors(500, List.of("audit: " + e.getMessage()));
            }
            return json(200, out);
        }, writer);
    }

    private CompletionStage<Response> purge(Request req) {
        Response denied = guard(req);
        if (denied != null) {
            return done(denied);
        }
        BraidConfig effective = control.effective();
        List<String> wanted = req.query().getOrDefault("frontEnd", List.of());
        List<String> targets = new ArrayList<>();
        for (String name : wanted) {
            if (effective.frontEnd(name) == null) {
                return done(errors(404, List.of("frontEnd: " + name + " (expected: one of "
                        + effective.frontEnds().stream().map(FrontEndNode::name).toList() + ")")));
            }
            targets.add(name);
        }
        if (targets.isEmpty()) {
            effective.frontEnds().forEach(fe -> targets.add(fe.name()));
        }
        byte[] body = req.body();
        String contentType = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        String authorization = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        String author = author(req);
        List<CompletableFuture<ObjectNode>> calls = new ArrayList<>();
        for (String name : targets) {
            calls.add(purgeOne(effective.frontEnd(name), body, contentType, authorization));
        }
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).thenApplyAsync(x -> {
            ObjectNode out = JSON.createObjectNode();
            ArrayNode results = out.putArray("frontEnds");
            int failed = 0;
            for (CompletableFuture<ObjectNode> c : calls) {
                ObjectNode r = c.join();
                results.add(r);
                if (r.path("status").asInt(0) / 100 != 2) {
                    failed++;
                }
            }
            String detail = "front-ends " + targets + ", request " + abbreviate(new String(body, StandardCharsets.UTF_8))
                    + ", " + (targets.size() - failed) + " of " + targets.size() + " accepted";
            try {
                store.audit("cache.purge", author, detail);
            } catch (UncheckedIOException e) {
                log.warn("cache purge by {} not audited: {}", author, e.getMessage());
            }
            return json(failed == 0 ? 200 : 502, out);
        }, writer);
    }

    private CompletableFuture<ObjectNode> purgeOne(FrontEndNode fe, byte[] body, String contentType,
                                                   String authorization) {
        ObjectNode result = JSON.createObjectNode();
        result.put("name", fe.name());
        ControlPlane.Received r = control.report(NodeReport.FRONT_END, fe.name());
        String admin = r != null && r.report().admin() != null ? r.report().admin() : fe.admin();
        InetSocketAddress address = HostPort.parseUnresolved("frontEnds[" + fe.name() + "].admin", admin);
        String host = address.getHostString();
        if (host.equals("0.0.0.0") || host.equals("::")) {
            host = fe.publicAddress();
        }
        String authority = (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
        result.put("admin", authority);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + authority + PURGE_PATH))
                .timeout(Duration.ofSeconds(5))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        b.header("Content-Type", contentType != null ? contentType : "application/json");
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString()).handle((resp, error) -> {
            if (error != null) {
                result.put("status", 0);
                result.put("error", String.valueOf(error.getCause() != null ? error.getCause() : error));
            } else {
                result.put("status", resp.statusCode());
                try {
                    result.set("body", JSON.readTree(resp.body()));
                } catch (IOException | RuntimeException e) {
                    result.put("body", abbreviate(resp.body()));
                }
            }
            return result;
        });
    }

    /** Refuses while closing, and without the token when one is set. */
    private Response guard(Request req) {
        if (closed) {
            return SHUTTING_DOWN;
        }
        return authorize(req);
    }

    private static JsonNode parseBody(Request req, String expected) {
        try {
            JsonNode n = JSON.readTree(req.body());
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException("body: " + (n == null ? "empty" : abbreviate(n.toString()))
                        + " (expected: " + expected + ")");
            }
            return n;
        } catch (IOException e) {
            throw new IllegalArgumentException("body: not JSON (expected: " + expected + ")");
        }
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() > 200 ? one.substring(0, 197) + "..." : one;
    }

    private static ConfigLoader.Format format(String contentType) {
        if (contentType == null) {
            return null;
        }
        String ct = contentType.toLowerCase(Locale.ROOT);
        return ct.contains("json") ? ConfigLoader.Format.JSON : ct.contains("yaml") ? ConfigLoader.Format.YAML : null;
    }

    private Response authorize(Request req) {
        if (token == null) {
            return null;
        }
        String header = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return errors(401, List.of("authorization: " + (header == null ? "missing" : "(not a bearer token)")
                    + " (expected: Bearer <token>)"))
                    .withHeader(HttpHeaderNames.WWW_AUTHENTICATE.toString(), "Bearer realm=\"braid-managers\"");
        }
        byte[] given = header.substring(7).strip().getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(token, given)) {
            log.warn("configuration change from {} refused: wrong bearer token", req.remote());
            return errors(403, List.of("authorization: (hidden) (expected: the managers' bearer token)"));
        }
        return null;
    }

    private static String author(Request req) {
        String named = req.headers().get(AUTHOR_HEADER);
        StringBuilder sb = new StringBuilder();
        if (named != null) {
            named.chars().filter(c -> c >= ' ' && c < 0x7f).limit(64).forEach(c -> sb.append((char) c));
        }
        if (sb.length() == 0) {
            sb.append("api");
        }
        if (req.remote() != null) {
            sb.append('@').append(req.remote().getAddress().getHostAddress());
        }
        return sb.toString();
    }

    private Response envelope(VersionedConfig v) {
        Cached c = cached;
        byte[] body = c != null && c.version() == v.version() ? c.json() : v.toJson().getBytes(StandardCharsets.UTF_8);
        return new Response(200, "application/json", body, versionHeaders(v));
    }

    private static Response notModified(VersionedConfig v) {
        return new Response(304, "application/json", new byte[0], versionHeaders(v));
    }

    /** The version as {@link #VERSION_HEADER} and as the ETag a conditional PUT sends back in {@code If-Match}. */
    private static Map<String, String> versionHeaders(VersionedConfig v) {
        return Map.of(VERSION_HEADER, Long.toString(v.version()), "ETag", "\"" + v.version() + "\"");
    }

    /**
     * {@code GET /api/v1/pki/crl}: the current configuration's CRLs ({@code pki.crls}, as
     * {@code braid keys publish} put them there), concatenated PEM, with the configuration version
     * in {@link #VERSION_HEADER}; 404 with the reason when it carries none.
     */
    private Response crls() {
        VersionedConfig v = store.current();
        List<String> crls = v.config().pki().crls();
        if (crls.isEmpty()) {
            return errors(404, List.of("pki.crls: [] in configuration version " + v.version()
                    + " (expected: at least one CRL; publish them with braid keys publish)"))
                    .withHeader(VERSION_HEADER, Long.toString(v.version()));
        }
        StringBuilder pem = new StringBuilder();
        for (String crl : crls) {
            pem.append(crl.strip()).append('\n');
        }
        return new Response(200, "application/x-pem-file", pem.toString().getBytes(StandardCharsets.US_ASCII),
                Map.of(VERSION_HEADER, Long.toString(v.version())));
    }

    private Response version() {
        VersionedConfig v = store.current();
        return json(200, summary(v)).withHeader(VERSION_HEADER, Long.toString(v.version()));
    }

    private Response history() {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode versions = body.putArray("versions");
        for (VersionedConfig v : store.history()) {
            versions.add(summary(v));
        }
        return json(200, body);
    }

    private static ObjectNode summary(VersionedConfig v) {
        ObjectNode node = JSON.createObjectNode();
        node.put("version", v.version());
        node.put("sha256", v.sha256());
        node.put("appliedAt", v.appliedAt().toString());
        node.put("author", v.author());
        return node;
    }

    private static Response errors(int status, List<String> errors) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode list = body.putArray("errors");
        errors.forEach(list::add);
        return json(status, body);
    }

    private static Response json(int status, ObjectNode body) {
        try {
            return new Response(status, "application/json", JSON.writeValueAsBytes(body), Map.of());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long parseLong(String s) {
        if (s.isEmpty() || s.length() > 18 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        return Long.parseLong(s);
    }

    private static CompletionStage<Response> done(Response r) {
        return CompletableFuture.completedFuture(r);
    }
}
