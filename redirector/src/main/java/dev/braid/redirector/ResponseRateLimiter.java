package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Response rate limiting (the RRL of authoritative servers such as NSD, BIND and Knot) against
 * reflection attacks over UDP. Answers are grouped by the client's network (IPv4 /24 and IPv6 /56
 * by default) and by what they are: the same name and type, the same zone's NXDOMAIN, or the same
 * error. Each group may send {@code responsesPerSecond} answers a second with one second of
 * burst; an answer over the rate is dropped, except every {@code slip}-th, which goes out empty
 * with TC set so that a real client behind a spoofed flood still gets through over TCP.
 *
 * <p>Each group is a GCRA cell (the "virtual scheduling" form of a token bucket): one long per
 * group holds the time at which the group's allowance is used up, advanced by
 * {@code 1 s / responsesPerSecond} per answer sent and never more than one second ahead of now.
 * One compare-and-set per answer makes the limiter exact across threads without a lock, so every
 * UDP socket of a redirector shares one limiter and a flood spread over the sockets is limited as
 * a whole. The table has a fixed size; groups that hash alike share a cell, which can only make
 * the limit stricter for them. Time comes in as a parameter (any {@link System#nanoTime} origin).
 */
final class ResponseRateLimiter {

    enum Verdict { SEND, SLIP, DROP }

    static final int TABLE_SIZE = 1 << 16;
    /** How far ahead of now a group's allowance may be spent: one second's worth of answers. */
    static final long BURST_NANOS = 1_000_000_000L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private final DnsSettings.RrlSettings settings;
    private final long intervalNanos;
    private final int slip;
    private final int v4Bits;
    private final int v6Bits;
    /** Per cell: when its allowance is used up (0: never used). */
    private final AtomicLongArray spentUntil;
    /** Per cell: answers over the rate, for the slip. */
    private final AtomicIntegerArray limited;

    ResponseRateLimiter(DnsSettings.RrlSettings settings) {
        if (settings.responsesPerSecond() < 1) {
            throw new IllegalArgumentException("responsesPerSecond: " + settings.responsesPerSecond()
                    + " (expected: >= 1; 0 means no limiter)");
        }
        this.settings = settings;
        this.intervalNanos = Math.max(1, BURST_NANOS / settings.responsesPerSecond());
        this.slip = settings.slip();
        this.v4Bits = settings.ipv4PrefixLength();
        this.v6Bits = settings.ipv6PrefixLength();
        this.spentUntil = new AtomicLongArray(TABLE_SIZE);
        this.limited = new AtomicIntegerArray(TABLE_SIZE);
    }

    /** The limiter for {@code settings}, or null when they turn limiting off. */
    static ResponseRateLimiter of(DnsSettings.RrlSettings settings) {
        return settings == null || settings.responsesPerSecond() <= 0 ? null : new ResponseRateLimiter(settings);
    }

    DnsSettings.RrlSettings settings() {
        return settings;
    }

    /** Whether to send {@code answer} to {@code client} (4 or 16 octets) at {@code nowNanos}. */
    Verdict check(byte[] client, Answer answer, long nowNanos) {
        long key = groupKey(client, answer);
        int cell = (int) (key ^ (key >>> 32)) & (TABLE_SIZE - 1);
        while (true) {
            long spent = spentUntil.get(cell);
            long from = spent == 0 || spent - nowNanos < 0 ? nowNanos : spent;
            long next = from + intervalNanos;
            if (next - nowNanos > BURST_NANOS) {
                int n = limited.incrementAndGet(cell);
                return slip > 0 && n % slip == 0 ? Verdict.SLIP : Verdict.DROP;
            }
            if (spentUntil.compareAndSet(cell, spent, next == 0 ? 1 : next)) {
                return Verdict.SEND;
            }
        }
    }

    private long groupKey(byte[] client, Answer answer) {
        long h = 0xcbf29ce484222325L;
        int bits = client.length == 4 ? v4Bits : v6Bits;
        for (int i = 0; i < client.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - i * 8));
            int b = client[i] & (0xFF00 >>> keep) & 0xFF;
            h = (h ^ b) * FNV_PRIME;
        }
        h = (h ^ client.length) * FNV_PRIME;
        int rcode = answer.rcode();
        h = (h ^ rcode) * FNV_PRIME;
        if (rcode == Dns.RCODE_NXDOMAIN && !answer.authority().isEmpty()) {
            // One group per zone (the SOA's owner): random names do not escape the limit.
            h = hashName(h, answer.authority().get(0).name());
        } else if (rcode == Dns.RCODE_NOERROR && !answer.questions().isEmpty()) {
            Query.Question q = answer.questions().get(0);
            h = hashName((h ^ q.type()) * FNV_PRIME, q.name());
        }
        return h;
    }

    /** Folds {@code name} into {@code h} without regard to ASCII case or a trailing dot. */
    private static long hashName(long h, String name) {
        int end = name.endsWith(".") ? name.length() - 1 : name.length();
        for (int i = 0; i < end; i++) {
            char c = name.charAt(i);
            h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * FNV_PRIME;
        }
        return h;
    }
}
