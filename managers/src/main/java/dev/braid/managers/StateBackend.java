package dev.braid.managers;

import dev.braid.managers.config.VersionedConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where a {@link ConfigStore} keeps its versions and audit log: memory, a local state directory,
 * or etcd. The store serialises calls to {@link #store}; a backend shared by several managers
 * (etcd) makes {@link #store} a compare-and-swap, so two managers never both write one version.
 */
interface StateBackend extends AutoCloseable {

    /** The versions kept, oldest first; empty when the backend is new. */
    List<VersionedConfig> load() throws IOException;

    /**
     * Makes {@code next} durable, with its audit entry, as the successor of {@code previous}.
     *
     * @return false when another writer stored a version after {@code previous} first (nothing was
     *         written; reload with {@link #latest})
     * @throws IOException when nothing could be stored
     */
    boolean store(VersionedConfig previous, VersionedConfig next, AuditEntry audit) throws IOException;

    /** The newest version stored, or null when none is. */
    VersionedConfig latest() throws IOException;

    /** A kept version, or null when it is not (or no longer) kept. */
    VersionedConfig read(long version) throws IOException;

    /** Records an action that changes no configuration. */
    void appendAudit(AuditEntry entry) throws IOException;

    /** The last {@code limit} audit entries, oldest first. */
    List<AuditEntry> audit(int limit) throws IOException;

    /** Calls {@code remote} with versions that other writers store (shared backends only). */
    default void watch(Consumer<VersionedConfig> remote) {
    }

    /** The state directory, for a file backend; else null. */
    default Path stateDir() {
        return null;
    }

    /** What the store is, for logs. */
    String describe();

    @Override
    void close();
}
