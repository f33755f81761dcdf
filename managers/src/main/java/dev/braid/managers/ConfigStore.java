package dev.braid.managers;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.VersionedConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The managers' store of the configuration: the current {@link VersionedConfig} and the last
 * {@link #historyLimit()} versions before it.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>Every change is validated whole ({@link ConfigValidator}); an invalid one throws a
 *       {@link ConfigException} with all its reasons and changes nothing.</li>
 *   <li>A change whose canonical content equals the current one is a no-op: same version.</li>
 *   <li>Versions grow by one per change. With a state directory each version is written to
 *       {@code versions/<version>.json} atomically (temp file, fsync, rename, fsync directory)
 *       <em>before</em> it becomes current, so a restart resumes at the same version and a failed
 *       write leaves the store as it was. Without one, the store lives in memory only.</li>
 *   <li>Listeners and {@link #nextAfter} waiters see every version in order, on the applying
 *       thread, after it is durable.</li>
 *   <li>Thread-safe. Reads ({@link #current()}, {@link #history()}) never block; {@link #nextAfter}
 *       never waits for a change being written, so event loops may call it.</li>
 * </ul>
 * A state directory is locked while a store has it open, so two managers never write one history.
 */
public final class ConfigStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConfigStore.class);

    /** Versions kept in memory and on disk, the current one included. */
    public static final int DEFAULT_HISTORY_LIMIT = 100;

    private static final String VERSIONS = "versions";
    private static final String LOCK = "lock";
    private static final Pattern VERSION_FILE = Pattern.compile("(\\d{20})\\.json");

    private final Path stateDir;
    private final Path versionsDir;
    private final FileChannel lockChannel;
    private final int historyLimit;

    private final Object applyLock = new Object();
    private final Object waitersLock = new Object();
    private volatile VersionedConfig current;
    private volatile List<VersionedConfig> history;
    private final List<Consumer<VersionedConfig>> listeners = new CopyOnWriteArrayList<>();
    private final Map<CompletableFuture<VersionedConfig>, Long> waiters = new HashMap<>();

    private ConfigStore(Path stateDir, FileChannel lockChannel, int historyLimit, VersionedConfig current,
                        List<VersionedConfig> history) {
        this.stateDir = stateDir;
        this.versionsDir = stateDir == null ? null : stateDir.resolve(VERSIONS);
        this.lockChannel = lockChannel;
        this.historyLimit = historyLimit;
        this.current = current;
        this.history = List.copyOf(history);
    }

    /** A store that keeps everything in memory, starting at version 0 (the empty configuration). */
    public static ConfigStore inMemory() {
        return new ConfigStore(null, null, DEFAULT_HISTORY_LIMIT, VersionedConfig.EMPTY, List.of());
    }

    /** Opens (or creates) the store in {@code stateDir}, keeping {@link #DEFAULT_HISTORY_LIMIT} versions. */
    public static ConfigStore open(Path stateDir) throws IOException {
        return open(stateDir, DEFAULT_HISTORY_LIMIT);
    }

    /**
     * Opens (or creates) the store in {@code stateDir}. It resumes at the newest version found
     * there, or at version 0 when the directory is new. Remains of an interrupted write are
     * removed.
     *
     * @param historyLimit versions kept, the current one included (at least 1)
     * @throws IOException when the directory cannot be used, is locked by another store, or its
     *                     newest version cannot be read (never silently rolls back)
     */
    public static ConfigStore open(Path stateDir, int historyLimit) throws IOException {
        if (historyLimit < 1) {
            throw new IllegalArgumentException("historyLimit: " + historyLimit + " (expected: >= 1)");
        }
        Path versionsDir = stateDir.resolve(VERSIONS);
        Files.createDirectories(versionsDir);
        FileChannel lockChannel = lock(stateDir.resolve(LOCK));
        try {
            removeTempFiles(versionsDir);
            NavigableMap<Long, Path> files = versionFiles(versionsDir);
            VersionedConfig current = VersionedConfig.EMPTY;
            List<VersionedConfig> history = new ArrayList<>();
            if (!files.isEmpty()) {
                current = read(files.lastEntry().getValue(), files.lastKey());
                for (Map.Entry<Long, Path> e : files.descendingMap().entrySet()) {
                    if (history.size() == historyLimit) {
                        delete(e.getValue());
                    } else if (e.getKey() == current.version()) {
                        history.add(0, current);
                    } else {
                        try {
                            history.add(0, read(e.getValue(), e.getKey()));
                        } catch (IOException ex) {
                            log.warn("state {}: skipping unreadable old version: {}", e.getValue(), ex.getMessage());
                        }
                    }
                }
                List<String> errors = ConfigValidator.validate(current.config());
                if (!errors.isEmpty()) {
                    log.warn("state {}: version {} no longer passes validation; serving it until the next change: {}",
                            stateDir, current.version(), errors);
                }
                log.info("state {}: resuming at configuration version {} (sha256 {})", stateDir,
                        current.version(), current.sha256());
            } else {
                log.info("state {}: new, starting at version 0", stateDir);
            }
            return new ConfigStore(stateDir, lockChannel, historyLimit, current, history);
        } catch (IOException | RuntimeException e) {
            lockChannel.close();
            throw e;
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

    /** The state directory, or null for an in-memory store. */
    public Path stateDir() {
        return stateDir;
    }

    /**
     * Validates {@code config} whole and makes it the current version, unless its content equals
     * the current one (then the current version is returned unchanged).
     *
     * @param author who asked for the change, recorded with the version
     * @throws ConfigException       with every reason when the configuration is invalid; nothing changes
     * @throws UncheckedIOException  when the new version cannot be written; nothing changes
     */
    public VersionedConfig apply(BraidConfig config, String author) {
        Objects.requireNonNull(config, "config");
        List<String> errors = ConfigValidator.validate(config);
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        String sha = VersionedConfig.sha256Of(config);
        synchronized (applyLock) {
            VersionedConfig before = current;
            if (before.sha256().equals(sha)) {
                return before;
            }
            VersionedConfig next = new VersionedConfig(before.version() + 1, config, Instant.now(), sha, author);
            if (versionsDir != null) {
                persist(next);
            }
            List<VersionedConfig> kept = new ArrayList<>(history);
            kept.add(next);
            while (kept.size() > historyLimit) {
                kept.remove(0);
            }
            history = List.copyOf(kept);
            current = next;
            log.info("configuration version {} applied by {} (sha256 {})", next.version(), next.author(), sha);
            for (Consumer<VersionedConfig> listener : listeners) {
                try {
                    listener.accept(next);
                } catch (RuntimeException e) {
                    log.warn("configuration listener {} failed on version {}", listener, next.version(), e);
                }
            }
            wake(next);
            return next;
        }
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
     * store is locked: it must be quick and must not call {@link #apply}. A listener that throws
     * is logged and does not affect the change or other listeners.
     */
    public void addListener(Consumer<VersionedConfig> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeListener(Consumer<VersionedConfig> listener) {
        listeners.remove(listener);
    }

    /** Releases the state directory's lock. The store keeps answering reads but must not be applied to. */
    @Override
    public void close() {
        if (lockChannel != null) {
            try {
                lockChannel.close();
            } catch (IOException e) {
                log.warn("state {}: cannot release lock: {}", stateDir, e.toString());
            }
        }
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

    private void persist(VersionedConfig v) {
        Path target = versionsDir.resolve(fileName(v.version()));
        try {
            AtomicFile.write(target, v.toJson().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("state " + target + ": cannot write version " + v.version() + ": " + e, e);
        }
        if (v.version() > historyLimit) {
            delete(versionsDir.resolve(fileName(v.version() - historyLimit)));
        }
    }

    static String fileName(long version) {
        return String.format("%020d.json", version);
    }

    private static FileChannel lock(Path lockFile) throws IOException {
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            ch.close();
            throw new IOException("state " + lockFile.getParent() + ": in use by another managers store");
        }
        return ch;
    }

    private static void removeTempFiles(Path dir) throws IOException {
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*" + AtomicFile.TEMP_SUFFIX)) {
            for (Path temp : stream) {
                log.warn("state {}: removing {}, left by a write that did not complete", dir, temp.getFileName());
                delete(temp);
            }
        }
    }

    private static NavigableMap<Long, Path> versionFiles(Path dir) throws IOException {
        NavigableMap<Long, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                Matcher m = VERSION_FILE.matcher(p.getFileName().toString());
                if (m.matches()) {
                    files.put(Long.parseLong(m.group(1)), p);
                }
            }
        }
        return files;
    }

    private static VersionedConfig read(Path file, long expectedVersion) throws IOException {
        VersionedConfig v;
        try {
            v = VersionedConfig.parseJson(Files.readString(file, StandardCharsets.UTF_8));
        } catch (ConfigException e) {
            throw new IOException("state " + file + ": unreadable: " + String.join("; ", e.errors()), e);
        }
        if (v.version() != expectedVersion) {
            throw new IOException("state " + file + ": holds version " + v.version() + " (expected: " + expectedVersion + ")");
        }
        // The hash is recomputed so that it always matches this build's canonical form.
        VersionedConfig rehashed = new VersionedConfig(v.version(), v.config(), v.appliedAt(), null, v.author());
        if (!rehashed.sha256().equals(v.sha256())) {
            log.info("state {}: canonical form changed since it was written; sha256 {} is now {}", file,
                    v.sha256(), rehashed.sha256());
        }
        return rehashed;
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("state: cannot delete {}: {}", p, e.toString());
        }
    }
}
