package dev.braid.managers.etcd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/**
 * Elects one leader among processes campaigning on the same etcd key. The leader holds the key,
 * attached to a lease it keeps alive; when it dies the lease expires after {@code leaseSeconds}
 * and the next campaigner to try (every {@link #retryMillis()}) takes the key. So a dead leader is
 * replaced within about {@code leaseSeconds} plus one retry period; a leader that cannot renew its
 * lease in time steps down on its own before the lease can expire.
 *
 * <p>Campaigning runs on its own daemon thread. {@link #isLeader()} is safe from any thread.
 */
public final class LeaderElection implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaderElection.class);

    private final EtcdClient client;
    private final String key;
    private final String candidate;
    private final int leaseSeconds;
    private final Consumer<Boolean> onChange;
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean leader;
    private volatile String leaderName;
    private long lease;
    private long leaseRenewedAtNanos;

    /**
     * Starts campaigning.
     *
     * @param candidate this process's name, stored as the key's value while it leads
     * @param onChange  called with true when this process becomes leader and false when it stops,
     *                  on the election's thread
     */
    public LeaderElection(EtcdClient client, String key, String candidate, int leaseSeconds, Consumer<Boolean> onChange) {
        if (leaseSeconds < 2) {
            throw new IllegalArgumentException("leaseSeconds: " + leaseSeconds + " (expected: >= 2)");
        }
        this.client = client;
        this.key = key;
        this.candidate = candidate;
        this.leaseSeconds = leaseSeconds;
        this.onChange = onChange;
        this.thread = new Thread(this::run, "leader-election " + key);
        thread.setDaemon(true);
        thread.start();
    }

    public boolean isLeader() {
        return leader;
    }

    /** The leader as last seen (this process's name when it leads), or null when there is none. */
    public String leader() {
        return leaderName;
    }

    /** How often a follower tries to take the key, and a leader renews its lease, in milliseconds. */
    public long retryMillis() {
        return Math.max(200, leaseSeconds * 1000L / 4);
    }

    private void run() {
        while (!closed) {
            try {
                step();
            } catch (IOException | RuntimeException e) {
                log.debug("election on {}: {}", key, e.toString());
                if (leader && System.nanoTime() - leaseRenewedAtNanos > leaseSeconds * 1_000_000_000L * 2 / 3) {
                    // The lease may expire before etcd hears from us again: stop acting as leader first.
                    log.warn("election on {}: cannot renew the lease ({}); stepping down", key, e.toString());
                    setLeader(false, null);
                    lease = 0;
                }
            }
            try {
                Thread.sleep(retryMillis());
            } catch (InterruptedException e) {
                break;
            }
        }
        resign();
    }

    private void step() throws IOException {
        if (lease == 0) {
            lease = client.grantLease(leaseSeconds);
            leaseRenewedAtNanos = System.nanoTime();
        } else {
            long ttl = client.keepAlive(lease);
            if (ttl <= 0) {
                log.warn("election on {}: lease expired", key);
                lease = 0;
                setLeader(false, null);
                return;
            }
            leaseRenewedAtNanos = System.nanoTime();
        }
        EtcdClient.TxnResult r = client.txn(List.of(EtcdClient.Compare.createRevision(key, 0)),
                List.of(EtcdClient.Op.put(key, candidate, lease)), List.of(EtcdClient.Op.get(key)));
        if (r.succeeded()) {
            setLeader(true, candidate);
            return;
        }
        List<EtcdClient.KeyValue> kvs = r.ranges().isEmpty() ? List.of() : r.ranges().get(0);
        if (kvs.isEmpty()) {
            setLeader(false, null);
            return;
        }
        EtcdClient.KeyValue holder = kvs.get(0);
        setLeader(holder.lease() == lease && candidate.equals(holder.valueText()), holder.valueText());
    }

    private void setLeader(boolean now, String name) {
        leaderName = name;
        if (now != leader) {
            leader = now;
            log.info("election on {}: {} {}", key, candidate, now ? "is now the leader" : "is no longer the leader");
            try {
                onChange.accept(now);
            } catch (RuntimeException e) {
                log.warn("election on {}: leadership listener failed", key, e);
            }
        }
    }

    private void resign() {
        if (lease != 0) {
            try {
                // Revoking deletes the key at once, so a successor need not wait for the lease to expire.
                client.revoke(lease);
            } catch (IOException e) {
                log.debug("election on {}: cannot revoke lease: {}", key, e.toString());
            }
            lease = 0;
        }
        setLeader(false, null);
    }

    /** Stops campaigning; a leader gives the key up at once. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
