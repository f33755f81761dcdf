package dev.braid.managers;

import dev.braid.managers.config.VersionedConfig;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** Keeps versions and the audit log in memory: lost at restart, for tests and single-use managers. */
final class MemoryBackend implements StateBackend {

    /** Audit entries kept in memory. */
    static final int AUDIT_LIMIT = 10_000;

    private final Deque<AuditEntry> audit = new ArrayDeque<>();
    private final Deque<VersionedConfig> versions = new ArrayDeque<>();
    private final int historyLimit;

    MemoryBackend(int historyLimit) {
        this.historyLimit = historyLimit;
    }

    @Override
    public List<VersionedConfig> load() {
        return List.of();
    }

    @Override
    public synchronized boolean store(VersionedConfig previous, VersionedConfig next, AuditEntry entry) {
        versions.addLast(next);
        while (versions.size() > historyLimit) {
            versions.removeFirst();
        }
        appendAudit(entry);
        return true;
    }

    @Override
    public synchronized VersionedConfig latest() {
        return versions.peekLast();
    }

    @Override
    public synchronized VersionedConfig read(long version) {
        return versions.stream().filter(v -> v.version() == version).findFirst().orElse(null);
    }

    @Override
    public synchronized void appendAudit(AuditEntry entry) {
        audit.addLast(entry);
        while (audit.size() > AUDIT_LIMIT) {
            audit.removeFirst();
        }
    }

    @Override
    public synchronized List<AuditEntry> audit(int limit) {
        List<AuditEntry> all = new ArrayList<>(audit);
        return List.copyOf(all.subList(Math.max(0, all.size() - limit), all.size()));
    }

    @Override
    public String describe() {
        return "memory";
    }

    @Override
    public void close() {
    }
}
