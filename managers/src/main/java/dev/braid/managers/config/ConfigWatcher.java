package dev.braid.managers.config;

import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * How a node follows the configuration: it hands each new {@link VersionedConfig} to the node's
 * listener, which applies it atomically (all of it, or nothing by throwing).
 *
 * <p>Three sources:
 * <ul>
 *   <li>{@link #start(URI, Consumer, Settings)}: long-polls the managers' admin API. Each new
 *       version is delivered once and in order; versions that came and went between two polls
 *       are skipped (a configuration is always whole, so the newest one is all a node needs).
 *       When the managers are unreachable the watcher keeps the last configuration and retries
 *       with jittered exponential backoff. When the managers come back with a lower version
 *       (they lost their state) the node follows them.</li>
 *   <li>{@link #file(Path, Consumer, Settings)}: a node started with {@code --config FILE} and no
 *       managers. The file is read at once (an invalid file fails the start) and re-read every
 *       {@link Settings#filePollInterval()}; each changed content becomes the next local version.</li>
 *   <li>{@link #fixed(VersionedConfig, Consumer)}: one configuration, delivered once.</li>
 * </ul>
 *
 * <p>A configuration the node cannot use — unreadable, invalid by this build's
 * {@link ConfigValidator}, or refused by the listener — is not applied: the watcher logs
 * {@code "kept version X: reason"} and goes on watching. The listener runs on the watcher's own
 * thread, never two at a time.
 */
public final class ConfigWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);

    /**
     * @param pollTimeout      how long one long poll may wait at the managers (default 25 s, 100 ms..60 s)
     * @param minBackoff       first retry delay after a failure (default 200 ms)
     * @param maxBackoff       largest retry delay (default 10 s)
     * @param filePollInterval how often a configuration file is re-read (default 2 s)
     * @param clientName       sent as the User-Agent, so the managers' logs name the node (default braid-node)
     */
    public record Settings(Duration pollTimeout, Duration minBackoff, Duration maxBackoff, Duration filePollInterval,
                           String clientName) {

        public static final Settings DEFAULT = new Settings(null, null, null, null, null);

        public Settings {
            pollTimeout = pollTimeout == null ? Duration.ofSeconds(25) : pollTimeout;
            minBackoff = minBackoff == null ? Duration.ofMillis(200) : minBackoff;
            maxBackoff = maxBackoff == null ? Duration.ofSeconds(10) : maxBackoff;
            filePollInterval = filePollInterval == null ? Duration.ofSeconds(2) : filePollInterval;
            clientName = clientName == null ? "braid-node" : clientName;
            if (pollTimeout.toMillis() < 100 || pollTimeout.toMillis() > 60_000) {
                throw new IllegalArgumentException("pollTimeout: " + pollTimeout + " (expected: 100 ms..60 s)");
            }
            if (minBackoff.toMillis() < 1 || maxBackoff.compareTo(minBackoff) < 0) {
                throw new IllegalArgumentException("backoff: " + minBackoff + ".." + maxBackoff
                        + " (expected: 1 ms <= minBackoff <= maxBackoff)");
            }
            if (filePollInterval.toMillis() < 10) {
                throw new IllegalArgumentException("filePollInterval: " + filePollInterval + " (expected: >= 10 ms)");
            }
        }

        public Settings withPollTimeout(Duration d) {
            return new Settings(d, minBackoff, maxBackoff, filePollInterval, clientName);
        }

        public Settings withBackoff(Duration min, Duration max) {
            return new Settings(pollTimeout, min, max, filePollInterval, clientName);
        }

        public Settings withFilePollInterval(Duration d) {
            return new Settings(pollTimeout, minBackoff, maxBackoff, d, clientName);
        }

        public Settings withClientName(String name) {
            return new Settings(pollTimeout, minBackoff, maxBackoff, filePollInterval, name);
        }
    }

    private final String source;
    private final Consumer<VersionedConfig> onChange;
    private final Settings settings;
    private final CompletableFuture<VersionedConfig> first = new CompletableFuture<>();
    private volatile VersionedConfig current;
    private volatile Refusal refused;
    private volatile boolean closed;
    private Thread thread;

    private ConfigWatcher(String source, Consumer<VersionedConfig> onChange, Settings settings) {
        this.source = source;
        this.onChange = Objects.requireNonNull(onChange, "onChange");
        this.settings = settings;
    }

    /** Watches the managers at {@code managersBaseUri} (such as {@code http://10.0.0.5:9180}) with default settings. */
    public static ConfigWatcher start(URI managersBaseUri, Consumer<VersionedConfig> onChange) {
        return start(managersBaseUri, onChange, Settings.DEFAULT);
    }

    /**
     * Watches the managers at {@code managersBaseUri}. Returns at once; the first configuration
     * arrives on the watcher's thread (see {@link #firstApplied()}).
     */
    public static ConfigWatcher start(URI managersBaseUri, Consumer<VersionedConfig> onChange, Settings settings) {
        String scheme = managersBaseUri.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme) || managersBaseUri.getHost() == null) {
            throw new IllegalArgumentException("managers: " + managersBaseUri + " (expected: http://host:port)");
        }
        String base = managersBaseUri.toString().replaceAll("/+$", "");
        ConfigWatcher w = new ConfigWatcher(base, onChange, settings);
        ManagersPoller poller = w.new ManagersPoller(URI.create(base + "/api/v1/config"));
        w.startThread("braid-config-watcher", poller::run);
        return w;
    }

    /**
     * Reads {@code file} now and delivers it as version 1 on the calling thread, then re-reads it
     * in the background. An invalid file, or a listener that throws on it, fails this call.
     *
     * @throws ConfigException naming the file and every problem in it
     */
    public static ConfigWatcher file(Path file, Consumer<VersionedConfig> onChange, Settings settings) {
        ConfigWatcher w = new ConfigWatcher(file.toString(), onChange, settings);
        FilePoller poller = w.new FilePoller(file);
        poller.initial();
        w.startThread("braid-config-file-watcher", poller::run);
        return w;
    }

    /**
     * Delivers {@code config} once, on the calling thread; an invalid configuration or a listener
     * that throws fails this call. Nothing is watched afterwards.
     *
     * @throws ConfigException with every reason when {@code config} is invalid
     */
    public static ConfigWatcher fixed(VersionedConfig config, Consumer<VersionedConfig> onChange) {
        ConfigWatcher w = new ConfigWatcher("fixed", onChange, Settings.DEFAULT);
        List<String> errors = ConfigValidator.validate(config.config());
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        onChange.accept(config);
        w.applied(config);
        return w;
    }

    /**
     * A version the node did not apply, and why.
     *
     * @param version the refused version's number
     * @param reason  every reason, joined with "; "
     */
    public record Refusal(long version, String reason) {
    }

    /**
     * The newest version refused after the one applied, or null when the node runs the newest
     * version it has seen. The node reports it to the managers, so that operators see which node
     * kept which version, and why.
     */
    public Refusal refused() {
        return refused;
    }

    /** The configuration the listener last accepted, or null before the first. */
    public VersionedConfig current() {
        return current;
    }

    /** Completes with the first configuration the listener accepts. */
    public CompletableFuture<VersionedConfig> firstApplied() {
        return first;
    }

    /** Stops watching and waits (up to five seconds) for the watcher's thread to end. */
    @Override
    public void close() {
        closed = true;
        Thread t = thread;
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void startThread(String name, Runnable body) {
        thread = new Thread(() -> {
            try {
                body.run();
            } catch (RuntimeException | Error e) {
                log.error("{}: configuration watcher stopped", source, e);
                throw e;
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }

    private void applied(VersionedConfig v) {
        current = v;
        Refusal r = refused;
        if (r != null && r.version() <= v.version()) {
            refused = null;
        }
        first.complete(v);
    }

    /** Offers {@code v} to the listener; returns whether it was applied. */
    private boolean offer(VersionedConfig v) {
        List<String> errors = ConfigValidator.validate(v.config());
        if (!errors.isEmpty()) {
            kept(v.version(), String.join("; ", errors));
            return false;
        }
        try {
            onChange.accept(v);
        } catch (RuntimeException e) {
            kept(v.version(), e instanceof ConfigException ce ? String.join("; ", ce.errors()) : e.toString());
            return false;
        }
        applied(v);
        log.info("{}: applied configuration version {} (sha256 {})", source, v.version(), v.sha256());
        return true;
    }

    private void kept(long refused, String reason) {
        this.refused = new Refusal(refused, reason);
        VersionedConfig c = current;
        log.warn("{}: kept version {}: version {} refused: {}", source, c == null ? "none" : c.version(), refused, reason);
    }

    private boolean sleep(Duration d) {
        try {
            Thread.sleep(Math.max(1, d.toMillis()));
            return !closed;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private Duration backoff(int failures) {
        long min = settings.minBackoff().toMillis();
        long max = settings.maxBackoff().toMillis();
        long base = min << Math.min(failures - 1, 20);
        base = Math.min(max, base);
        // Half fixed, half random: spreads the retries of many nodes after the managers restart.
        return Duration.ofMillis(base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1));
    }

    /** Long-polls {@code GET /api/v1/config}. */
    private final class ManagersPoller {
        private final URI endpoint;
        private final HttpClient client;
        /** The newest version seen (applied or refused); -1 before the first answer. */
        private long seen = -1;

        ManagersPoller(URI endpoint) {
            this.endpoint = endpoint;
            this.client = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
        }

        void run() {
            int failures = 0;
            while (!closed) {
                try {
                    URI uri = seen < 0 ? endpoint
                            : URI.create(endpoint + "?after=" + seen + "&timeoutMs=" + settings.pollTimeout().toMillis());
                    HttpRequest request = HttpRequest.newBuilder(uri)
                            .timeout(settings.pollTimeout().plusSeconds(10))
                            .header("Accept", "application/json")
                            .header("User-Agent", settings.clientName())
                            .GET()
                            .build();
                    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() == 200) {
                        long before = seen;
                        receive(response.body());
                        if (seen == before && !sleep(settings.minBackoff())) {
                            break;
                        }
                    } else if (response.statusCode() != 304) {
                        throw new IOException("HTTP " + response.statusCode() + ": " + abbreviate(response.body()));
                    }
                    if (failures > 0) {
                        log.info("{}: managers reachable again", source);
                        failures = 0;
                    }
                } catch (InterruptedException e) {
                    break;
                } catch (IOException | RuntimeException e) {
                    if (closed) {
                        break;
                    }
                    failures++;
                    Duration delay = backoff(failures);
                    VersionedConfig c = current;
                    String message = "{}: managers unavailable ({}); keeping version {}, retrying in {} ms";
                    Object[] args = {source, e.toString(), c == null ? "none" : c.version(), delay.toMillis()};
                    if (failures == 1) {
                        log.warn(message, args);
                    } else {
                        log.debug(message, args);
                    }
                    if (!sleep(delay)) {
                        break;
                    }
                }
            }
        }

        private void receive(String body) {
            JsonNode envelope;
            long version;
            try {
                envelope = ConfigLoader.readTree(body, ConfigLoader.Format.JSON);
                version = VersionedConfig.versionOf(envelope);
            } catch (ConfigException e) {
                throw new IllegalStateException("unreadable answer: " + String.join("; ", e.errors()));
            }
            if (version == seen) {
                return;
            }
            VersionedConfig c = current;
            if (version < seen) {
                log.warn("{}: managers went back from version {} to {} (state lost?); following them", source, seen, version);
            }
            seen = version;
            if (version == 0) {
                // Version 0 is "no configuration yet", not an empty one to apply: wait for version 1.
                log.info("{}: managers have no configuration yet; keeping version {}", source, c == null ? "none" : c.version());
                return;
            }
            VersionedConfig v;
            try {
                v = VersionedConfig.fromTree(envelope);
            } catch (ConfigException e) {
                kept(version, String.join("; ", e.errors()));
                return;
            }
            if (c != null && c.sha256().equals(v.sha256()) && c.config().equals(v.config())) {
                // Same content under another number (the managers restarted): nothing to apply.
                applied(v);
                return;
            }
            offer(v);
        }
    }

    /** Re-reads a configuration file; every new content is the next local version. */
    private final class FilePoller {
        private final Path file;
        private byte[] lastDigest;

        FilePoller(Path file) {
            this.file = file;
        }

        void initial() {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new ConfigException(file.toString(), List.of("cannot read: " + e), e);
            }
            lastDigest = digest(bytes);
            BraidConfig config = ConfigLoader.parseFile(file, bytes);
            List<String> errors = ConfigValidator.validate(config);
            if (!errors.isEmpty()) {
                throw new ConfigException(file.toString(), errors, null);
            }
            VersionedConfig v = new VersionedConfig(1, config, Instant.now(), null, file.toString());
            onChange.accept(v);
            applied(v);
            log.info("{}: applied configuration version 1 (sha256 {})", source, v.sha256());
        }

        void run() {
            while (sleep(settings.filePollInterval())) {
                byte[] bytes;
                try {
                    bytes = Files.readAllBytes(file);
                } catch (IOException e) {
                    // Editors often replace a file by renaming; a missing file is usually back by the next poll.
                    log.debug("{}: cannot read ({}); keeping version {}", source, e.toString(), current.version());
                    continue;
                }
                byte[] d = digest(bytes);
                if (MessageDigest.isEqual(d, lastDigest)) {
                    continue;
                }
                lastDigest = d;
                long next = current.version() + 1;
                BraidConfig config;
                try {
                    config = ConfigLoader.parseFile(file, bytes);
                } catch (ConfigException e) {
                    kept(next, String.join("; ", e.errors()));
                    continue;
                }
                VersionedConfig v = new VersionedConfig(next, config, Instant.now(), null, file.toString());
                if (!v.sha256().equals(current.sha256())) {
                    offer(v);
                }
            }
        }

        private byte[] digest(byte[] bytes) {
            try {
                return MessageDigest.getInstance("SHA-256").digest(bytes);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is required of every Java platform", e);
            }
        }
    }

    private static String abbreviate(String s) {
        String oneLine = s.replaceAll("\\s+", " ").strip();
        return oneLine.length() > 200 ? oneLine.substring(0, 197) + "..." : oneLine;
    }
}
