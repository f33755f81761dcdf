package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.VersionedConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps versions in a local state directory: {@code versions/<version, 20 digits>.json}, each
 * written atomically ({@link AtomicFile}) with its audit entry inside, and {@code audit.jsonl},
 * one audit entry per line, appended and fsynced after the version. A crash between the two is
 * repaired at the next open: the entry is copied from the version file, so the log never misses
 * a version that exists. A partial last line (a crash inside an append that was never
 * acknowledged) is cut off. A {@code lock} file keeps a second process out.
 */
final class FileBackend implements StateBackend {

    private static final Logger log = LoggerFactory.getLogger(FileBackend.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    static final String VERSIONS = "versions";
    static final String AUDIT = "audit.jsonl";
    private static final String LOCK = "lock";
    private static final Pattern VERSION_FILE = Pattern.compile("(\\d{20})\\.json");

    private final Path stateDir;
    private final Path versionsDir;
    private final Path auditFile;
    private final FileChannel lockChannel;
    private final int historyLimit;

    private FileBackend(Path stateDir, FileChannel lockChannel, int historyLimit) {
        this.stateDir = stateDir;
        this.versionsDir = stateDir.resolve(VERSIONS);
        this.auditFile = stateDir.resolve(AUDIT);
        this.lockChannel = lockChannel;
        this.historyLimit = historyLimit;
    }

    static FileBackend open(Path stateDir, int historyLimit) throws IOException {
        Files.createDirectories(stateDir.resolve(VERSIONS));
        FileChannel lock = lock(stateDir.resolve(LOCK));
        return new FileBackend(stateDir, lock, historyLimit);
    }

    static String fileName(long version) {
        return String.format("%020d.json", version);
    }

    @Override
    public Path stateDir() {
        return stateDir;
    }

    @Override
    public String describe() {
        return "state directory " + stateDir;
    }

    @Override
    public List<VersionedConfig> load() throws IOException {
        removeTempFiles(versionsDir);
        NavigableMap<Long, Path> files = versionFiles(versionsDir);
        List<VersionedConfig> history = new ArrayList<>();
        if (files.isEmpty()) {
            log.info("state {}: new, starting at version 0", stateDir);
            repairAuditTail();
            return history;
        }
        VersionedConfig current = read(files.lastEntry().getValue(), files.lastKey());
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
        repairAuditTail();
        reconcileAudit(files);
        log.info("state {}: resuming at configuration version {} (sha256 {})", stateDir,
                current.version(), current.sha256());
        return history;
    }

    @Override
    public boolean store(VersionedConfig previous, VersionedConfig next, AuditEntry audit) throws IOException {
        ObjectNode envelope = next.toJsonTree();
        envelope.set("audit", audit.toJsonTree());
        AtomicFile.write(versionsDir.resolve(fileName(next.version())),
                JSON.writeValueAsBytes(envelope));
        append(audit);
        CrashPoints.reach(CrashPoints.AUDIT_APPENDED);
        if (next.version() > historyLimit) {
            delete(versionsDir.resolve(fileName(next.version() - historyLimit)));
        }
        return true;
    }

    @Override
    public VersionedConfig latest() throws IOException {
        NavigableMap<Long, Path> files = versionFiles(versionsDir);
        return files.isEmpty() ? null : read(files.lastEntry().getValue(), files.lastKey());
    }

    @Override
    public VersionedConfig read(long version) throws IOException {
        Path p = versionsDir.resolve(fileName(version));
        return Files.exists(p) ? read(p, version) : null;
    }

    @Override
    public synchronized void appendAudit(AuditEntry entry) throws IOException {
        append(entry);
    }

    @Override
    public synchronized List<AuditEntry> audit(int limit) throws IOException {
        List<AuditEntry> all = readAudit();
        return List.copyOf(all.subList(Math.max(0, all.size() - limit), all.size()));
    }

    @Override
    public void close() {
        try {
            lockChannel.close();
        } catch (IOException e) {
            log.warn("state {}: cannot release lock: {}", stateDir, e.toString());
        }
    }

    private synchronized void append(AuditEntry entry) throws IOException {
        byte[] line = (entry.toJson() + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(auditFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(line);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    private List<AuditEntry> readAudit() throws IOException {
        List<AuditEntry> entries = new ArrayList<>();
        if (!Files.exists(auditFile)) {
            return entries;
        }
        for (String line : Files.readAllLines(auditFile, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            try {
                entries.add(AuditEntry.parseJson(line));
            } catch (IllegalArgumentException e) {
                log.warn("state {}: skipping unreadable audit line: {}", auditFile, e.getMessage());
            }
        }
        return entries;
    }

    /** Cuts a last line that has no newline: the remains of an append that never completed. */
    private void repairAuditTail() throws IOException {
        if (!Files.exists(auditFile)) {
            return;
        }
        try (FileChannel ch = FileChannel.open(auditFile, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long keep = size;
            ByteBuffer one = ByteBuffer.allocate(1);
            while (keep > 0) {
                one.clear();
                ch.read(one, keep - 1);
                if (one.get(0) == '\n') {
                    break;
                }
                keep--;
            }
            if (keep < size) {
                log.warn("state {}: cutting {} bytes of an audit line that was never completed", auditFile, size - keep);
                ch.truncate(keep);
                ch.force(true);
            }
        }
    }

    /** Appends the audit entries of versions written after the last logged one (a crash in between). */
    private void reconcileAudit(NavigableMap<Long, Path> files) throws IOException {
        long logged = readAudit().stream().mapToLong(AuditEntry::toVersion).max().orElse(0);
        for (Map.Entry<Long, Path> e : files.tailMap(logged, false).entrySet()) {
            JsonNode audit = JSON.readTree(Files.readString(e.getValue(), StandardCharsets.UTF_8)).get("audit");
            if (audit == null) {
                continue;
            }
            try {
                append(AuditEntry.fromTree(audit));
                log.info("state {}: audit entry of version {} restored from its version file", stateDir, e.getKey());
            } catch (IllegalArgumentException ex) {
                log.warn("state {}: version {} carries an unreadable audit entry: {}", stateDir, e.getKey(),
                        ex.getMessage());
            }
        }
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
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        if (v.version() != expectedVersion) {
            throw new IOException("state " + file + ": holds version " + v.version() + " (expected: " + expectedVersion + ")");
        }
        return ConfigStore.rehash(v, file.toString());
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("state: cannot delete {}: {}", p, e.toString());
        }
    }
}
