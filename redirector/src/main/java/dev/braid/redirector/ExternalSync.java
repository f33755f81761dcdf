package dev.braid.redirector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What an external authoritative server must be told, and when: the pure core of the RFC 2136
 * updater ({@link ExternalUpdater}). It keeps what the server was last told successfully, per
 * site name, and compares it with what the redirector would answer now. Each zone's differences
 * become one {@link Push} (one UPDATE message, applied by the server atomically, RFC 2136 §3.4.1).
 *
 * <ul>
 *   <li><b>On change</b>: a name whose addresses or TTL differ from what was last pushed, or that
 *       is no longer a site name (its records are deleted), is pushed at the next call.</li>
 *   <li><b>Re-asserted</b>: every {@code reassertNanos}, a zone's every name is pushed again,
 *       changed or not, so a server that lost or altered the records is brought back.</li>
 *   <li><b>Retried</b>: a zone whose push failed waits {@code minBackoffNanos}, doubling per
 *       failure in a row up to {@code maxBackoffNanos}; a success resets it. Meanwhile its names
 *       count as not pushed, so the retry carries the newest decision, not the failed one.</li>
 * </ul>
 * No I/O, no clock (time comes in), no threads: confined to the updater's thread.
 */
final class ExternalSync {

    /**
     * The records a site name should have on the external server.
     *
     * @param zone the zone the name is in (the UPDATE's zone section)
     * @param ttl  seconds, the site's {@code dnsTtlSeconds}
     * @param ipv4 A record addresses, in presentation form, sorted (order is not kept by servers)
     * @param ipv6 AAAA record addresses, likewise
     */
    record Records(String zone, long ttl, Set<String> ipv4, Set<String> ipv6) {
        Records {
            ipv4 = java.util.Collections.unmodifiableSet(new TreeSet<>(ipv4));
            ipv6 = java.util.Collections.unmodifiableSet(new TreeSet<>(ipv6));
        }
    }

    /**
     * One name's change: its new records, or null to delete its A and AAAA records.
     *
     * @param name the site name, lowercase, without the trailing dot
     */
    record Change(String name, Records records) {
    }

    /**
     * The changes of one zone, to go out as one UPDATE.
     *
     * @param reassert whether this push re-asserts every name of the zone
     */
    record Push(String zone, List<Change> changes, boolean reassert) {
    }

    private final long reassertNanos;
    private final long minBackoffNanos;
    private final long maxBackoffNanos;
    /** A name in a zone: a name that moves to another zone is deleted from the old one. */
    private record Key(String zone, String name) {
    }

    /** What the server was last told successfully, by zone and name. */
    private final Map<Key, Records> pushed = new HashMap<>();
    private final Map<String, Long> lastReassert = new HashMap<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final Map<String, Long> retryAt = new HashMap<>();

    ExternalSync(long reassertNanos, long minBackoffNanos, long maxBackoffNanos) {
        if (reassertNanos <= 0 || minBackoffNanos <= 0 || maxBackoffNanos < minBackoffNanos) {
            throw new IllegalArgumentException("reassertNanos: " + reassertNanos + ", minBackoffNanos: "
                    + minBackoffNanos + ", maxBackoffNanos: " + maxBackoffNanos
                    + " (expected: > 0, > 0, >= minBackoffNanos)");
        }
        this.reassertNanos = reassertNanos;
        this.minBackoffNanos = minBackoffNanos;
        this.maxBackoffNanos = maxBackoffNanos;
    }

    /**
     * The pushes due at {@code nowNanos} for the {@code wanted} records (by site name), one per zone
     * with something to say, zones in name order. Zones waiting out a backoff are left out.
     */
    List<Push> due(Map<String, Records> wanted, long nowNanos) {
        Map<String, List<Change>> byZone = new TreeMap<>();
        Map<String, List<String>> namesOfZone = new HashMap<>();
        for (Map.Entry<String, Records> e : wanted.entrySet()) {
            namesOfZone.computeIfAbsent(e.getValue().zone(), z -> new ArrayList<>()).add(e.getKey());
            if (!e.getValue().equals(pushed.get(new Key(e.getValue().zone(), e.getKey())))) {
                byZone.computeIfAbsent(e.getValue().zone(), z -> new ArrayList<>()).add(new Change(e.getKey(), e.getValue()));
            }
        }
        for (Key k : pushed.keySet()) {
            Records now = wanted.get(k.name());
            if (now == null || !now.zone().equals(k.zone())) {
                // Gone from this zone (the site or the name went away, or moved zone): delete it there.
                byZone.computeIfAbsent(k.zone(), z -> new ArrayList<>()).add(new Change(k.name(), null));
            }
        }
        List<Push> out = new ArrayList<>();
        Set<String> zones = new TreeSet<>(byZone.keySet());
        zones.addAll(namesOfZone.keySet());
        for (String zone : zones) {
            Long retry = retryAt.get(zone);
            if (retry != null && nowNanos - retry < 0) {
                continue;
            }
            Long last = lastReassert.get(zone);
            boolean reassert = last == null || nowNanos - last >= reassertNanos;
            List<Change> changes = byZone.getOrDefault(zone, List.of());
            if (reassert) {
                Map<String, Change> all = new LinkedHashMap<>();
                for (Change c : changes) {
                    all.put(c.name(), c);
                }
                for (String name : namesOfZone.getOrDefault(zone, List.of())) {
                    all.putIfAbsent(name, new Change(name, wanted.get(name)));
                }
                changes = new ArrayList<>(all.values());
            }
            if (!changes.isEmpty()) {
                changes = new ArrayList<>(changes);
                changes.sort(java.util.Comparator.comparing(Change::name));
                out.add(new Push(zone, List.copyOf(changes), reassert));
            }
        }
        return out;
    }

    /** The server applied {@code push} at {@code nowNanos}. */
    void succeeded(Push push, long nowNanos) {
        for (Change c : push.changes()) {
            if (c.records() == null) {
                pushed.remove(new Key(push.zone(), c.name()));
            } else {
                pushed.put(new Key(push.zone(), c.name()), c.records());
            }
        }
        if (push.reassert()) {
            lastReassert.put(push.zone(), nowNanos);
        }
        failures.remove(push.zone());
        retryAt.remove(push.zone());
    }

    /**
     * The server did not apply {@code push}. Its names count as not pushed (a name may have been
     * half applied by a server that does not honour RFC 2136 atomicity); the zone waits.
     *
     * @return how long the zone now waits before its next try, in nanoseconds
     */
    long failed(Push push, long nowNanos) {
        for (Change c : push.changes()) {
            if (c.records() != null) {
                pushed.remove(new Key(push.zone(), c.name()));
            }
        }
        int n = failures.merge(push.zone(), 1, Integer::sum);
        long wait = minBackoffNanos << Math.min(n - 1, 30);
        wait = wait <= 0 || wait > maxBackoffNanos ? maxBackoffNanos : wait;
        retryAt.put(push.zone(), nowNanos + wait);
        return wait;
    }

    /** When the next push may fall due without any change of decision: a retry or a re-assertion. */
    long nextDueNanos(long nowNanos) {
        long next = nowNanos + reassertNanos;
        for (long t : retryAt.values()) {
            if (t - next < 0) {
                next = t;
            }
        }
        for (long t : lastReassert.values()) {
            long at = t + reassertNanos;
            if (at - next < 0) {
                next = at;
            }
        }
        return next;
    }

    /** Names whose records on the server differ from {@code wanted} (or that the server still has and should not). */
    int pending(Map<String, Records> wanted) {
        int n = 0;
        for (Map.Entry<String, Records> e : wanted.entrySet()) {
            if (!Objects.equals(e.getValue(), pushed.get(new Key(e.getValue().zone(), e.getKey())))) {
                n++;
            }
        }
        for (Key k : pushed.keySet()) {
            Records now = wanted.get(k.name());
            if (now == null || !now.zone().equals(k.zone())) {
                n++;
            }
        }
        return n;
    }
}
