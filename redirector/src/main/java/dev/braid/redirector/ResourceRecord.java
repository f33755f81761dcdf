package dev.braid.redirector;

import java.util.Arrays;
import java.util.List;

/**
 * One resource record of class IN. Its RDATA is kept as the domain names it starts with (written
 * compressed where RFC 3597 §4 allows it: NS, CNAME, SOA) followed by fixed octets (the address of
 * an A or AAAA record, the five counters of an SOA). Immutable and shared between answers.
 */
public final class ResourceRecord {

    private final String name;
    private final int type;
    private final long ttl;
    private final String[] rdataNames;
    private final byte[] rdataTail;

    private ResourceRecord(String name, int type, long ttl, String[] rdataNames, byte[] rdataTail) {
        if (name == null) {
            throw new IllegalArgumentException("name: null (expected: a domain name)");
        }
        if (ttl < 0 || ttl > 0x7FFF_FFFFL) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: 0..2147483647)");
        }
        this.name = name;
        this.type = type;
        this.ttl = ttl;
        this.rdataNames = rdataNames;
        this.rdataTail = rdataTail;
    }

    /** A record whose RDATA holds no names (A, AAAA, or any type carried opaquely). */
    public static ResourceRecord of(String name, int type, long ttl, byte[] rdata) {
        return new ResourceRecord(name, type, ttl, new String[0], rdata.clone());
    }

    /** An NS or CNAME record pointing at {@code target} (presentation form). */
    public static ResourceRecord pointer(String name, int type, long ttl, String target) {
        return new ResourceRecord(name, type, ttl, new String[] {target}, new byte[0]);
    }

    /** An SOA record: two names, then serial, refresh, retry, expire and minimum. */
    public static ResourceRecord soa(String name, long ttl, String mname, String rname, long serial, long refresh,
                                     long retry, long expire, long minimum) {
        byte[] tail = new byte[20];
        long[] values = {serial, refresh, retry, expire, minimum};
        for (int i = 0; i < 5; i++) {
            for (int b = 0; b < 4; b++) {
                tail[i * 4 + b] = (byte) (values[i] >>> (24 - 8 * b));
            }
        }
        return new ResourceRecord(name, Dns.TYPE_SOA, ttl, new String[] {mname, rname}, tail);
    }

    public String name() {
        return name;
    }

    public int type() {
        return type;
    }

    public long ttl() {
        return ttl;
    }

    /** The domain names at the start of the RDATA, in presentation form (empty for A and AAAA). */
    public List<String> rdataNames() {
        return List.of(rdataNames);
    }

    /** A copy of the RDATA octets after its names (the whole RDATA of A and AAAA). */
    public byte[] rdataTail() {
        return rdataTail.clone();
    }

    String[] sharedNames() {
        return rdataNames;
    }

    byte[] sharedTail() {
        return rdataTail;
    }

    /** The same data under another owner name: answers carry the query's spelling of the name. */
    ResourceRecord withName(String owner) {
        return owner.equals(name) ? this : new ResourceRecord(owner, type, ttl, rdataNames, rdataTail);
    }

    /** The same record with another TTL (negative answers cap the SOA's TTL, RFC 2308 §3). */
    ResourceRecord withTtl(long newTtl) {
        return newTtl == ttl ? this : new ResourceRecord(name, type, newTtl, rdataNames, rdataTail);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResourceRecord r && r.name.equals(name) && r.type == type && r.ttl == ttl
                && Arrays.equals(r.rdataNames, rdataNames) && Arrays.equals(r.rdataTail, rdataTail);
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + type) * 31 + Arrays.hashCode(rdataTail);
    }

    @Override
    public String toString() {
        return name + ' ' + ttl + " IN type" + type + ' ' + String.join(" ", rdataNames) + ' '
                + Arrays.toString(rdataTail);
    }
}
