package dev.braid.managers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.HostPort;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.runtime.AdminServer;
import dev.braid.runtime.AdminServer.Request;
import dev.braid.runtime.AdminServer.Response;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The managers role: holds the versioned configuration in a {@link ConfigStore} and serves it over
 * the admin API (JSON over HTTP) on an {@link AdminServer}:
 *
 * <ul>
 *   <li>{@code GET /api/v1/config}: the current version,
 *       {@code {"version":N,"sha256":"…","appliedAt":"…","author":"…","config":{…}}}.</li>
 *   <li>{@code GET /api/v1/config?after=N&timeoutMs=T}: a long poll. Answers as soon as the
 *       version differs from N (at once when it already does), else 304 after T ms (default
 *       25 000, at most 60 000). A version lower than N is answered at once too: the managers
 *       lost their state, and the node should follow them.</li>
 *   <li>{@code PUT /api/v1/config}, body JSON or YAML: validates the whole configuration; 200 with
 *       the resulting version and {@code "changed"} (false when the content was identical), or
 *       400 with {@code {"errors":[…]}}. With a token configured it needs
 *       {@code Authorization: Bearer <token>}: 401 without credentials, 403 with wrong ones.</li>
 *   <li>{@code GET /api/v1/version}: the current version without the configuration.</li>
 *   <li>{@code GET /api/v1/config/history}: the versions kept, without their configurations.</li>
 * </ul>
 *
 * <p>Long polls hold no thread: each is a future the store completes on the next change, with a
 * timer on an event loop for the 304. Changes are parsed, validated and written on one dedicated
 * thread, so file system waits never reach an event loop.
 *
 * <p>Metrics: {@code braid_managers_config_version}, {@code braid_managers_config_changes_total{result}},
 * {@code braid_managers_config_watchers}.
 */
public final class ManagersServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ManagersServer.class);

    public static final long DEFAULT_POLL_TIMEOUT_MS = 25_000;
    public static final long MAX_POLL_TIMEOUT_MS = 60_000;
    /** Optional request header naming who makes a change; recorded with the version. */
    public static final String AUTHOR_HEADER = "Braid-Author";
    /** Response header carrying the configuration version, on every configuration answer. */
    public static final String VERSION_HEADER = "Braid-Config-Version";

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
     */
    public record Options(BraidConfig config, Path configFile, Path stateDir, InetSocketAddress listen, String token,
                          EventLoops loops, Metrics metrics) {

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

            public Options build() {
                return new Options(config, configFile, stateDir, listen, token, loops, metrics);
            }
        }
    }

    private record Cached(long version, byte[] json) {
    }

    private final ConfigStore store;
    private final EventLoops loops;
    private final boolean ownLoops;
    private final Metrics metrics;
    private final Metrics.Counter changes;
    private final byte[] token;
    private final ExecutorService writer;
    private final Set<CompletableFuture<Response>> polls = ConcurrentHashMap.newKeySet();
    private volatile Cached cached;
    private volatile boolean closed;
    private AdminServer admin;

    private ManagersServer(ConfigStore store, EventLoops loops, boolean ownLoops, Metrics metrics, String token) {
        this.store = store;
        this.loops = loops;
        this.ownLoops = ownLoops;
        this.metrics = metrics;
        this.token = token == null ? null : token.getBytes(StandardCharsets.US_ASCII);
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "managers-config-writer");
            t.setDaemon(true);
            return t;
        });
        metrics.gauge("braid_managers_config_version", "Version of the configuration the managers serve",
                () -> store.current().version());
        metrics.gauge("braid_managers_config_watchers", "Long polls waiting for the next configuration version",
                store::waiting);
        this.changes = metrics.counter("braid_managers_config_changes_total",
                "Configuration changes submitted, by result (accepted or rejected)", "result");
        changes.labels("accepted");
        changes.labels("rejected");
        store.addListener(v -> cached = new Cached(v.version(), v.toJson().getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Opens the store, applies the initial configuration when the store is new, and binds the
     * admin API.
     *
     * @throws ConfigException when the initial configuration is unreadable or invalid
     * @throws IOException     when the state directory cannot be used
     */
    public static ManagersServer start(Options options) throws IOException {
        BraidConfig initial = options.config();
        String source = "initial configuration";
        if (options.configFile() != null) {
            initial = ConfigLoader.load(options.configFile());
            source = options.configFile().toString();
        }
        ConfigStore store = options.stateDir() != null ? ConfigStore.open(options.stateDir()) : ConfigStore.inMemory();
        EventLoops loops = options.loops();
        boolean ownLoops = loops == null;
        ManagersServer server = null;
        try {
            if (initial != null) {
                if (store.current().version() == 0) {
                    store.apply(initial, source);
                } else if (!store.current().sha256().equals(VersionedConfig.sha256Of(initial))) {
                    log.warn("state {} holds version {}; the {} differs and is not applied (PUT it to apply it)",
                            store.stateDir(), store.current().version(), source);
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
            log.info("managers: admin API on {}, configuration version {}{}", server.localAddress(),
                    store.current().version(), options.token() != null ? ", writes need a bearer token" : "");
            return server;
        } catch (Throwable e) {
            // Netty reports a failed bind (a checked exception) without declaring it: clean up on anything.
            if (server != null) {
                server.writer.shutdownNow();
            }
            store.close();
            if (ownLoops && loops != null) {
                loops.close();
            }
            throw e;
        }
    }

    private void bind(InetSocketAddress listen) {
        admin = AdminServer.builder(metrics)
                .route("GET", "/api/v1/config", this::getConfig)
                .route("PUT", "/api/v1/config", this::putConfig)
                .route("GET", "/api/v1/config/history", req -> done(history()))
                .route("GET", "/api/v1/version", req -> done(version()))
                .bind(loops, listen);
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

    /**
     * Stops serving: waiting long polls get 503, connections still open get 503 for anything
     * else, the listening socket closes, and the state directory is released.
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
        writer.shutdown();
        try {
            if (!writer.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("managers: a configuration change was still being written at shutdown");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
        if (ownLoops) {
            loops.close();
        }
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
        String text = req.bodyText();
        return CompletableFuture.supplyAsync(() -> change(text, contentType, author), writer);
    }

    private Response change(String text, String contentType, String author) {
        try {
            BraidConfig config = format(contentType) == null ? ConfigLoader.parse(text)
                    : ConfigLoader.parse(text, format(contentType));
            long before = store.current().version();
            VersionedConfig v = store.apply(config, author);
            changes.inc("accepted");
            ObjectNode body = v.toJsonTree();
            body.put("changed", v.version() != before);
            return json(200, body).withHeader(VERSION_HEADER, Long.toString(v.version()));
        } catch (ConfigException e) {
            changes.inc("rejected");
            log.info("configuration change by {} rejected: {}", author, e.errors());
            return errors(400, e.errors());
        } catch (UncheckedIOException e) {
            changes.inc("rejected");
            log.error("configuration change by {} could not be stored", author, e);
            return errors(500, List.of("state: " + e.getMessage() + " (the configuration is unchanged)"));
        }
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
        return new Response(200, "application/json", body, Map.of(VERSION_HEADER, Long.toString(v.version())));
    }

    private static Response notModified(VersionedConfig v) {
        return new Response(304, "application/json", new byte[0], Map.of(VERSION_HEADER, Long.toString(v.version())));
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
