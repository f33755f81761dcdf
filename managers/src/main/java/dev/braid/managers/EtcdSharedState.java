package dev.braid.managers;

import dev.braid.managers.etcd.EtcdClient;
import dev.braid.managers.etcd.LeaderElection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * The cluster's shared state in etcd, under the prefix {@code P}: {@code P/leader} (the leader's
 * name, on its lease), {@code P/nodes/<role>/<name>} (each node's last report as received by any
 * managers process), {@code P/assignments} (the leader's assignment layer).
 */
final class EtcdSharedState implements SharedState {

    private static final Logger log = LoggerFactory.getLogger(EtcdSharedState.class);

    private final EtcdClient client;
    private final String self;
    private final String nodesPrefix;
    private final String assignmentsKey;
    private final LeaderElection election;
    private final ExecutorService publisher;

    EtcdSharedState(EtcdClient client, String prefix, String self, int leaseSeconds) {
        this.client = client;
        this.self = self;
        this.nodesPrefix = prefix + "/nodes/";
        this.assignmentsKey = prefix + "/assignments";
        this.publisher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "managers-report-publisher");
            t.setDaemon(true);
            return t;
        });
        this.election = new LeaderElection(client, prefix + "/leader", self, leaseSeconds, leading -> { });
    }

    @Override
    public boolean isLeader() {
        return election.isLeader();
    }

    @Override
    public String leader() {
        return election.leader();
    }

    @Override
    public String self() {
        return self;
    }

    @Override
    public void publishReport(String key, byte[] entry) {
        try {
            publisher.execute(() -> {
                try {
                    client.put(nodesPrefix + key, entry, 0);
                } catch (IOException e) {
                    log.debug("cannot publish report {}: {}", key, e.toString());
                }
            });
        } catch (RejectedExecutionException e) {
            // Shutting down: the report stays local.
        }
    }

    @Override
    public Map<String, byte[]> reports() throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        for (EtcdClient.KeyValue kv : client.range(nodesPrefix, 0, false)) {
            out.put(kv.key().substring(nodesPrefix.length()), kv.value());
        }
        return out;
    }

    @Override
    public void publishAssignments(byte[] json) throws IOException {
        client.put(assignmentsKey, json, 0);
    }

    @Override
    public byte[] assignments() throws IOException {
        EtcdClient.KeyValue kv = client.get(assignmentsKey);
        return kv == null ? null : kv.value();
    }

    @Override
    public void close() {
        publisher.shutdown();
        election.close();
    }
}
