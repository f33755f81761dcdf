package dev.braid.redirector;

import java.util.Arrays;

/**
 * One resource record of class IN with its RDATA in wire form. Immutable: the RDATA array is
 * shared between answers (a compiled view builds each record once), so it is never handed out for
 * writing; {@link #rdata()} returns a copy.
 */
public final class ResourceRecord {

    private final String name;
    private final int type;
    private final long ttl;
    private final byte[] rdata;

    /**
     * @param name  the owner name in presentation form
     * @param type  the record type
     * @param ttl   time to live in seconds, 0..2147483647 (RFC 2181 §8)
     * @param rdata the RDATA in wire form
     */
    public ResourceRecord(String name, int type, long ttl, byte[] rdata) {
        this(name, type, ttl, rdata.clone(), true);
    }

    private ResourceRecord(String name, int type, long ttl, byte[] rdata, boolean owned) {
        if (name == null) {
            throw new IllegalArgumentException("name: null (expected: a domain name)");
        }
        if (ttl < 0 || ttl > 0x7FFF_FFFFL) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: 0..2147483647)");
        }
        this.name = name;
        this.type = type;
        this.ttl = ttl;
        this.rdata = rdata;
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

    /** A copy of the RDATA in wire form. */
    public byte[] rdata() {
        return rdata.clone();
    }

    /** The RDATA itself, for the wire layer, which only reads it. */
    byte[] sharedRdata() {
        return rdata;
    }

    /** The same data under another owner name: answers carry the query's spelling of the name. */
    ResourceRecord withName(String owner) {
        return owner.equals(name) ? this : new ResourceRecord(owner, type, ttl, rdata, true);
    }

    /** Octets this record takes on the wire with its owner name written in full. */
    int wireSize() {
        return DomainNames.wireLength(name) + 10 + rdata.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResourceRecord r && r.name.equals(name) && r.type == type && r.ttl == ttl
                && Arrays.equals(r.rdata, rdata);
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + type) * 31 + Arrays.hashCode(rdata);
    }

    @Override
    public String toString() {
        return name + ' ' + ttl + " IN type" + type + ' ' + Arrays.toString(rdata);
    }
}
