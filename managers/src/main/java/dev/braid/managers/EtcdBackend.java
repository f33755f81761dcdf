package dev.braid.managers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.managers.etcd.EtcdClient;
import dev.braid.managers.etcd.EtcdClient.Compare;
import dev.braid.managers.etcd.EtcdClient.KeyValue;
import dev.braid.managers.etcd.EtcdClient.Op;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * Keeps versions and the audit log in etcd, shared by every managers process of a cluster.
 * Under the prefix {@code P}:
 * <ul>
 *   <li>{@code P/config/version}: the current version number, as decimal text;</li>
 *   <li>{@code P/config/versions/<version, 20 digits>}: each kept version's envelope;</li>
 *   <li>{@code P/audit/<epoch ms, 15 digits>-<version, 20 digits>-<random>}: one audit entry each.</li>
 * </ul>
 * A new version is one transaction: if {@code P/config/version} still holds the version the
 * change was made on, write the new number, the version, its audit entry, and drop the version
 * that falls out of the history; else write nothing. So two managers never both get a version
 * number, and an acknowledged change is in etcd (replicated to a majority) before it is served.
 */
final class EtcdBackend implements StateBackend {

    private static final Logger log = LoggerFactory.getLogger(EtcdBackend.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final EtcdClient client;
    private final String prefix;
    private final int historyLimit;
    private final String versionKey;
    private final String versionsPrefix;
    private final String auditPrefix;
    private volatile EtcdClient.Watch watch;

    EtcdBackend(EtcdClient client, String prefix, int historyLimit) {
        this.client = client;
        this.prefix = prefix;
        this.historyLimit = historyLimit;
        this.versionKey = prefix + "/config/version";
        this.versionsPrefix = prefix + "/config/versions/";
        this.auditPrefix = prefix + "/audit/";
    }

    @Override
    public List<VersionedConfig> load() throws IOException {
        List<KeyValue> kvs = client.range(versionsPrefix, historyLimit, true);
        List<VersionedConfig> history = new ArrayList<>();
        for (KeyValue kv : kvs) {
            try {
                history.add(parse(kv));
            } catch (IOException e) {
                if (history.isEmpty()) {
                    throw e;
                }
                log.warn("{}: skipping unreadable old version: {}", describe(), e.getMessage());
            }
        }
        Collections.reverse(history);
        log.info("{}: {}", describe(), history.isEmpty() ? "new, starting at version 0"
                : "resuming at configuration version " + history.get(history.size() - 1).version());
        return history;
    }

    @Override
    public boolean store(VersionedConfig previous, VersionedConfig next, AuditEntry audit) throws IOException {
        ObjectNode envelope = next.toJsonTree();
        envelope.set("audit", audit.toJsonTree());
        List<Op> ops = new ArrayList<>();
        ops.add(Op.put(versionKey, Long.toString(next.version()).getBytes(StandardCharsets.US_ASCII)));
        ops.add(Op.put(versionKey(next.version()), JSON.writeValueAsBytes(envelope)));
        ops.add(Op.put(auditKey(audit), audit.toJson().getBytes(StandardCharsets.UTF_8)));
        if (next.version() > historyLimit) {
            ops.add(Op.delete(versionKey(next.version() - historyLimit)));
        }
        Compare unchanged = previous.version() == 0
                ? Compare.createRevision(versionKey, 0)
                : Compare.value(versionKey, Long.toString(previous.version()));
        return client.txn(List.of(unchanged), ops, List.of()).succeeded();
    }

    @Override
    public VersionedConfig latest() throws IOException {
        KeyValue v = client.get(versionKey);
        return v == null ? null : read(Long.parseLong(v.valueText()));
    }

    @Override
    public VersionedConfig read(long version) throws IOException {
        KeyValue kv = client.get(versionKey(version));
        return kv == null ? null : parse(kv);
    }

    @Override
    public void appendAudit(AuditEntry entry) throws IOException {
        client.put(auditKey(entry), entry.toJson().getBytes(StandardCharsets.UTF_8), 0);
    }

    @Override
    public List<AuditEntry> audit(int limit) throws IOException {
        List<AuditEntry> out = new ArrayList<>();
        for (KeyValue kv : client.range(auditPrefix, limit, true)) {
            try {
                out.add(AuditEntry.parseJson(kv.valueText()));
            } catch (IllegalArgumentException e) {
                log.warn("{}: skipping unreadable audit entry {}: {}", describe(), kv.key(), e.getMessage());
            }
        }
        Collections.reverse(out);
        return out;
    }

    @Override
    public void watch(Consumer<VersionedConfig> remote) {
        Runnable catchUp = () -> {
            try {
                VersionedConfig v = latest();
                if (v != null) {
                    remote.accept(v);
                }
            } catch (IOException e) {
                log.warn("{}: cannot read the newest version: {}", describe(), e.getMessage());
            }
        };
        watch = client.watch(versionsPrefix, 0, event -> {
            if (event.delete()) {
                return;
            }
            try {
                remote.accept(parse(event.kv()));
            } catch (IOException e) {
                log.warn("{}: ignoring unreadable version {}: {}", describe(), event.kv().key(), e.getMessage());
            }
        }, catchUp);
        // A version stored between load() and the watch's start is not in the watch: read it now.
        catchUp.run();
    }

    @Override
    public String describe() {
        return "etcd " + client.endpoints() + " under " + prefix;
    }

    @Override
    public void close() {
        EtcdClient.Watch w = watch;
        if (w != null) {
            w.close();
        }
    }

    private String versionKey(long version) {
        return versionsPrefix + String.format("%020d", version);
    }

    private String auditKey(AuditEntry e) {
        byte[] random = new byte[4];
        ThreadLocalRandom.current().nextBytes(random);
        return auditPrefix + String.format("%015d-%020d-", e.at().toEpochMilli(), e.toVersion())
                + HexFormat.of().formatHex(random);
    }

    private VersionedConfig parse(KeyValue kv) throws IOException {
        try {
            return ConfigStore.rehash(VersionedConfig.parseJson(kv.valueText()), kv.key());
        } catch (ConfigException e) {
            throw new IOException("etcd " + kv.key() + ": unreadable: " + String.join("; ", e.errors()), e);
        }
    }
}
