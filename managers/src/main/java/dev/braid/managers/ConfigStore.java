package dev.braid.managers;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.managers.etcd.EtcdClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The managers' store of the configuration: the current {@link VersionedConfig}, the last
 * {@link #historyLimit()} versions before it, and the audit log of every change.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>Every change is validated whole ({@link ConfigValidator}); an invalid one throws a
 *       {@link ConfigException} with all its reasons and changes nothing.</li>
 *   <li>A change whose canonical content equals the current one is a no-op: same version, no
 *       audit entry.</li>
 *   <li>Versions grow by one per change. Each version is made durable by the backend — memory, a
 *       state directory (temp file, fsync, rename, fsync directory), or etcd (one transaction) —
 *       together with its audit entry, <em>before</em> it becomes current, so a restart resumes at
 *       the same version and a failed write leaves the store as it was.</li>
 *   <li>With a shared backend (etcd) a change is a compare-and-swap on the current version; when
 *       another managers process wrote first, the store adopts its version and re-applies the
 *       change on top (a whole-configuration {@code PUT} replaces it, an edit such as a class
 *       weight is re-done on the newer configuration). Versions written by other managers are
 *       adopted as they appear.</li>
 *   <li>Listeners and {@link #nextAfter} waiters see every version in order, on the applying
 *       thread, after it is durable.</li>
 *   <li>Thread-safe. Reads ({@link #current()}, {@link #history()}) never block; {@link #nextAfter}
 *       never waits for a change being written, so event loops may call it.</li>
 * </ul>
 */
public final class ConfigStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConfigStore.class);

    /** Versions kept, the current one included. */
    public static final int DEFAULT_HISTORY_LIMIT = 100;

    /** How often a change is retried when other managers keep writing first. */
    private static final int MAX_CONFLICT_RETRIES = 20;

    private final StateBackend backend;
    private final int historyLimit;

    private final Object applyLock = new Object();
    private final Object waitersLock = new Object();
    private volatile VersionedConfig current;
    private volatile List<VersionedConfig> history;
    private final List<Consumer<VersionedConfig>> listeners = new CopyOnWriteArrayList<>();
    private final Map<CompletableFuture<VersionedConfig>, Long> waiters = new HashMap<>();

    private ConfigStore(StateBackend backend, int historyLimit, List<VersionedConfig> loaded) {
        this.backend = backend;
        this.historyLimit = historyLimit;
        List<VersionedConfig> kept = new ArrayList<>(loaded);
        while (kept.size() > historyLimit) {
            kept.remove(0);
        }
        this.history = List.copyOf(kept);
        this.current = kept.isEmpty() ? VersionedConfig.EMPTY : kept.get(kept.size() - 1);
    }

    /** A store that keeps everything in memory, starting at version 0 (the empty configuration). */
    public static ConfigStore inMemory() {
        return new ConfigStore(new MemoryBackend(DEFAULT_HISTORY_LIMIT), DEFAULT_HISTORY_LIMIT, List.of());
    }

    /** Opens (or creates) the store in {@code stateDir}, keeping {@link #DEFAULT_HISTORY_LIMIT} versions. */
    public static ConfigStore open(Path stateDir) throws IOException {
        return open(stateDir, DEFAULT_HISTORY_LIMIT);
    }

    /**
     * Opens (or creates) the store in {@code stateDir}. It resumes at the newest version found
     * there, or at version 0 when the directory is new. Remains of an interrupted write are
     * removed; audit entries a crash kept out of the log are restored from their version files.
     *
     * @param historyLimit versions kept, the current one included (at least 1)
     * @throws IOException when the directory cannot be used, is locked by another store, or its
     *                     newest version cannot be read (never silently rolls back)
     */
    public static ConfigStore open(Path stateDir, int historyLimit) throws IOException {
        checkLimit(historyLimit);
        FileBackend backend = FileBackend.open(stateDir, historyLimit);
        try {
            return new ConfigStore(backend, historyLimit, backend.load());
        } catch (IOException | RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    /**
     * Opens the store kept in etcd under {@code prefix}, shared by every managers process that opens
     * the same prefix. Resumes at the newest version there and follows versions others write.
     *
     * @throws IOException when etcd cannot be reached or holds an unreadable newest version
     */
    public static ConfigStore etcd(EtcdClient client, String prefix, int historyLimit) throws IOException {
        checkLimit(historyLimit);
        EtcdBackend backend = new EtcdBackend(client, prefix, historyLimit);
        ConfigStore store;
        try {
            store = new ConfigStore(backend, historyLimit, backend.load());
        } catch (IOException | RuntimeException e) {
            backend.close();
            throw e;
        }
        backend.watch(store::adoptRemote);
        return store;
    }

    private static void checkLimit(int historyLimit) {
        if (historyLimit < 1) {
            throw new IllegalArgumentException("historyLimit: " + historyLimit + " (expected: >= 1)");
        }
    }

    /** The current version; version 0 is the empty configuration. Never null, never blocks. */
    public VersionedConfig current() {
        return current;
    }

    /** The versions kept, oldest first, the current one last (empty at version 0). Never blocks. */
    public List<VersionedConfig> history() {
        return history;
    }

    public int historyLimit() {
        return historyLimit;
    }

    /** The state directory, or null for a store in memory or etcd. */
    public Path stateDir() {
        return backend.stateDir();
    }

    /** Where versions are kept, for logs and the admin API ({@code memory}, a directory, etcd endpoints). */
    public String describe() {
        return backend.describe();
    }

    /**
     * Validates {@code config} whole and makes it the current version, unless its content equals
     * the current one (then the current version is returned unchanged). Audited as
     * {@code config.put}.
     *
     * @param author who asked for the change, recorded with the version and in the audit log
     * @throws ConfigException      with every reason when the configuration is invalid; nothing changes
     * @throws UncheckedIOException when the new version cannot be written; nothing changes
     */
    public VersionedConfig apply(BraidConfig config, String author) {
        Objects.requireNonNull(config, "config");
        return update("config.put", author, before -> config);
    }

    /**
     * Derives the next configuration from the current one and makes it current, as
     * {@link #apply} does. With a shared backend {@code change} may run more than once, each time on
     * a newer configuration, so it must be a pure function of its argument.
     *
     * @param action what the change is, for the audit log ({@code class.weight}, ...)
     * @param change the edit; it may throw {@link ConfigException} or {@link IllegalArgumentException}
     *               to refuse it
     */
    public VersionedConfig update(String action, String author, UnaryOperator<BraidConfig> change) {
        return update(action, author, change, null);
    }

    /**
     * Makes a kept version's configuration current again, as a new version (the history is never
     * rewritten). Audited as {@code config.rollback}.
     *
     * @throws NoSuchElementException when {@code version} is not kept
     */
    public VersionedConfig rollback(long version, String author) {
        VersionedConfig target = version(version);
        if (target == null) {
            List<VersionedConfig> kept = history;
            throw new NoSuchElementException("version: " + version + " (expected: a kept version, "
                    + (kept.isEmpty() ? "none is kept yet" : kept.get(0).version() + ".." + kept.get(kept.size() - 1).version())
                    + ")");
        }
        return update("config.rollback", author, before -> target.config(), "rollback to version " + version);
    }

    /** A kept version, or null when it is not (or no longer) kept. */
    public VersionedConfig version(long version) {
        if (version == 0) {
            return null;
        }
        for (VersionedConfig v : history) {
            if (v.version() == version) {
                return v;
            }
        }
        try {
            return backend.read(version);
        } catch (IOException e) {
            throw new UncheckedIOException("state: cannot read version " + version + ": " + e.getMessage(), e);
        }
    }

    /**
     * Records an action that changes no configuration (such as a cache purge) in the audit log.
     *
     * @throws UncheckedIOException when the entry cannot be written
     */
    public AuditEntry audit(String action, String who, String detail) {
        long v = current.version();
        AuditEntry entry = new AuditEntry(Instant.now(), who, action, v, v, detail);
        try {
            backend.appendAudit(entry);
        } catch (IOException e) {
            throw new UncheckedIOException("state: cannot write the audit log: " + e.getMessage(), e);
        }
        return entry;
    }

    /** The last {@code limit} audit entries, oldest first. */
    public List<AuditEntry> auditLog(int limit) {
        try {
            return backend.audit(limit);
        } catch (IOException e) {
            throw new UncheckedIOException("state: cannot read the audit log: " + e.getMessage(), e);
        }
    }

    private VersionedConfig update(String action, String author, UnaryOperator<BraidConfig> change, String note) {
        Objects.requireNonNull(change, "change");
        synchronized (applyLock) {
            for (int attempt = 0; ; attempt++) {
                VersionedConfig before = current;
                BraidConfig config = Objects.requireNonNull(change.apply(before.config()), "changed configuration");
                List<String> errors = ConfigValidator.validate(config);
                if (!errors.isEmpty()) {
                    throw new ConfigException(errors);
                }
                String sha = VersionedConfig.sha256Of(config);
                if (before.sha256().equals(sha)) {
                    return before;
                }
                Instant now = Instant.now();
                VersionedConfig next = new VersionedConfig(before.version() + 1, config, now, sha, author);
                String detail = before.version() == 0 ? firstSummary(config) : ConfigDiff.summary(before.config(), config);
                AuditEntry entry = new AuditEntry(now, author, action, before.version(), next.version(),
                        note == null ? detail : note + ": " + detail);
                boolean stored;
                try {
                    stored = backend.store(before, next, entry);
                } catch (IOException e) {
                    throw new UncheckedIOException("state: cannot write version " + next.version() + ": " + e.getMessage(), e);
                }
                if (stored) {
                    adopt(next);
                    return next;
                }
                if (attempt >= MAX_CONFLICT_RETRIES) {
                    throw new UncheckedIOException(new IOException("state: version " + next.version()
                            + " was taken by other managers " + attempt + " times in a row"));
                }
                VersionedConfig newer;
                try {
                    newer = backend.latest();
                } catch (IOException e) {
                    throw new UncheckedIOException("state: cannot read the newest version: " + e.getMessage(), e);
                }
                log.info("configuration version {} was written by other managers first; re-applying {} on version {}",
                        next.version(), action, newer == null ? "?" : newer.version());
                if (newer != null && newer.version() > current.version()) {
                    adopt(newer);
                }
            }
        }
    }

    /** A version another managers process stored: adopted when newer than the current one. */
    void adoptRemote(VersionedConfig v) {
        synchronized (applyLock) {
            if (v.version() > current.version()) {
                log.info("configuration version {} from {} (by {})", v.version(), backend.describe(), v.author());
                adopt(v);
            }
        }
    }

    /** Called with {@link #applyLock} held. */
    private void adopt(VersionedConfig next) {
        List<VersionedConfig> kept = new ArrayList<>(history);
        kept.add(next);
        while (kept.size() > historyLimit) {
            kept.remove(0);
        }
        history = List.copyOf(kept);
        current = next;
        log.info("configuration version {} applied by {} (sha256 {})", next.version(), next.author(), next.sha256());
        for (Consumer<VersionedConfig> listener : listeners) {
            try {
                listener.accept(next);
            } catch (RuntimeException e) {
                log.warn("configuration listener {} failed on version {}", listener, next.version(), e);
            }
        }
        wake(next);
    }

    /**
     * A future completed with the first version newer than {@code version}: at once when the
     * current one already is, else on the change that makes it so. Cancelling the future (say, on
     * a long-poll timeout) forgets it. Never blocks.
     */
    public CompletableFuture<VersionedConfig> nextAfter(long version) {
        synchronized (waitersLock) {
            VersionedConfig now = current;
            if (now.version() > version) {
                return CompletableFuture.completedFuture(now);
            }
            CompletableFuture<VersionedConfig> future = new CompletableFuture<>();
            waiters.put(future, version);
            future.whenComplete((v, error) -> {
                if (error != null) {
                    synchronized (waitersLock) {
                        waiters.remove(future);
                    }
                }
            });
            return future;
        }
    }

    /** How many {@link #nextAfter} futures are waiting (long polls in progress). */
    public int waiting() {
        synchronized (waitersLock) {
            return waiters.size();
        }
    }

    /**
     * Calls {@code listener} with every new version, in order, on the applying thread, while the
     * store is locked: it must be quick and must not change the store. A listener that throws is
     * logged and does not affect the change or other listeners.
     */
    public void addListener(Consumer<VersionedConfig> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeListener(Consumer<VersionedConfig> listener) {
        listeners.remove(listener);
    }

    /** Releases the backend (the state directory's lock, etcd's watch). The store keeps answering reads. */
    @Override
    public void close() {
        backend.close();
    }

    private void wake(VersionedConfig next) {
        List<CompletableFuture<VersionedConfig>> ready = new ArrayList<>();
        // The new version is already current: a waiter registering after this pass sees it directly.
        synchronized (waitersLock) {
            waiters.entrySet().removeIf(e -> {
                if (next.version() > e.getValue()) {
                    ready.add(e.getKey());
                    return true;
                }
                return false;
            });
        }
        for (CompletableFuture<VersionedConfig> f : ready) {
            f.complete(next);
        }
    }

    private static String firstSummary(BraidConfig c) {
        return "first configuration: " + c.sites().size() + " site(s), " + c.frontEnds().size() + " front-end(s), "
                + c.backEnds().size() + " back-end(s), " + c.redirectors().size() + " redirector(s), "
                + c.clientClasses().size() + " client class(es), " + c.regions().size() + " region(s)";
    }

    static String fileName(long version) {
        return FileBackend.fileName(version);
    }

    /** Recomputes a stored version's hash, so that it always matches this build's canonical form. */
    static VersionedConfig rehash(VersionedConfig v, String where) {
        VersionedConfig rehashed = new VersionedConfig(v.version(), v.config(), v.appliedAt(), null, v.author());
        if (!rehashed.sha256().equals(v.sha256())) {
            log.info("state {}: canonical form changed since it was written; sha256 {} is now {}", where,
                    v.sha256(), rehashed.sha256());
        }
        return rehashed;
    }
}
