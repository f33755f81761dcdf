package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;

/**
 * Response rate limiting (the RRL of authoritative servers such as NSD, BIND and Knot) against
 * reflection attacks over UDP. Answers are grouped by the client's network (IPv4 /24 and IPv6 /56
 * by default) and by what they are: the same name and type, the same zone's NXDOMAIN, or the same
 * error. Each group has a token bucket refilled at {@code responsesPerSecond} with one second of
 * burst; an answer over the rate is dropped, except every {@code slip}-th, which goes out empty
 * with TC set so that a real client behind a spoofed flood still gets through over TCP.
 *
 * <p>The table has a fixed size; groups that hash alike share a bucket, which can only make the
 * limit stricter for them. Pure (time comes in) and confined to one thread.
 */
final class ResponseRateLimiter {

    enum Verdict { SEND, SLIP, DROP }

    static final int TABLE_SIZE = 1 << 16;

    private final double rate;
    private final int slip;
    private final int v4Bits;
    private final int v6Bits;
    private final long[] keys = new long[TABLE_SIZE];
    private final double[] tokens = new double[TABLE_SIZE];
    private final long[] stamps = new long[TABLE_SIZE];
    private final int[] limited = new int[TABLE_SIZE];

    ResponseRateLimiter(DnsSettings.RrlSettings settings) {
        this.rate = settings.responsesPerSecond();
        this.slip = settings.slip();
        this.v4Bits = settings.ipv4PrefixLength();
        this.v6Bits = settings.ipv6PrefixLength();
    }

    boolean enabled() {
        return rate > 0;
    }

    /** Whether to send {@code answer} to {@code client} (4 or 16 octets) at {@code nowNanos}. */
    Verdict check(byte[] client, Answer answer, long nowNanos) {
        if (rate <= 0) {
            return Verdict.SEND;
        }
        long key = groupKey(client, answer);
        int slot = (int) (key ^ (key >>> 32)) & (TABLE_SIZE - 1);
        if (keys[slot] != key || stamps[slot] == 0) {
            keys[slot] = key;
            tokens[slot] = rate;
            stamps[slot] = nowNanos | 1;
            limited[slot] = 0;
        } else {
            double elapsed = Math.max(0, nowNanos - stamps[slot]) / 1e9;
            tokens[slot] = Math.min(rate, tokens[slot] + elapsed * rate);
            stamps[slot] = nowNanos | 1;
        }
        if (tokens[slot] >= 1) {
            tokens[slot] -= 1;
            return Verdict.SEND;
        }
        int n = ++limited[slot];
        return slip > 0 && n % slip == 0 ? Verdict.SLIP : Verdict.DROP;
    }

    private long groupKey(byte[] client, Answer answer) {
        long h = 0xcbf29ce484222325L;
        int bits = client.length == 4 ? v4Bits : v6Bits;
        for (int i = 0; i < client.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - i * 8));
            int b = client[i] & (0xFF00 >>> keep) & 0xFF;
            h = (h ^ b) * 0x100000001b3L;
        }
        h = (h ^ client.length) * 0x100000001b3L;
        int rcode = answer.rcode();
        h = (h ^ rcode) * 0x100000001b3L;
        String what;
        if (rcode == Dns.RCODE_NXDOMAIN && !answer.authority().isEmpty()) {
            what = answer.authority().get(0).name(); // one group per zone: random names do not escape
        } else if (rcode == Dns.RCODE_NOERROR && !answer.questions().isEmpty()) {
            Query.Question q = answer.questions().get(0);
            what = DomainNames.key(q.name());
            h = (h ^ q.type()) * 0x100000001b3L;
        } else {
            what = "";
        }
        for (int i = 0; i < what.length(); i++) {
            char c = what.charAt(i);
            h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3L;
        }
        return h;
    }
}
