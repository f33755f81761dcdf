package dev.braid.redirector;

import io.netty.util.NetUtil;

/**
 * A longest-prefix-match table of IP networks (a binary trie per address family) that also says
 * how much of the address the answer depended on: the shortest prefix of the looked-up address
 * inside which every address gets the same answer. That is the scope an EDNS Client Subnet answer
 * must carry (RFC 7871 §7.2.1): longer than the matched network when a more specific network
 * sits inside it, and above 0 even when nothing matches, if some network is near. Immutable once
 * built; lookups allocate nothing but their result.
 *
 * @param <V> what a network maps to
 */
final class PrefixTable<V> {

    private static final class Node {
        Node zero;
        Node one;
        Object value;
        boolean hasValue;
    }

    private final Node v4 = new Node();
    private final Node v6 = new Node();
    private int size;

    /** The value of the longest network containing the address (or null) and the scope of that answer. */
    record Match<V>(V value, int scope) {
    }

    /**
     * Adds {@code cidr} ({@code 198.51.100.0/24}, {@code 2001:db8::/32}).
     *
     * @throws IllegalArgumentException when it is not a network in CIDR notation
     */
    PrefixTable<V> put(String cidr, V value) {
        int slash = cidr.indexOf('/');
        byte[] network = slash > 0 ? NetUtil.createByteArrayFromIpAddressString(cidr.substring(0, slash)) : null;
        int length;
        try {
            length = network == null ? -1 : Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            length = -1;
        }
        if (network == null || length < 0 || length > network.length * 8) {
            throw new IllegalArgumentException("prefix: " + cidr + " (expected: a network in CIDR notation)");
        }
        return put(network, length, value);
    }

    PrefixTable<V> put(byte[] network, int length, V value) {
        Node n = network.length == 4 ? v4 : v6;
        for (int bit = 0; bit < length; bit++) {
            if (bit(network, bit)) {
                n = n.one != null ? n.one : (n.one = new Node());
            } else {
                n = n.zero != null ? n.zero : (n.zero = new Node());
            }
        }
        if (!n.hasValue) {
            size++;
        }
        n.value = value;
        n.hasValue = true;
        return this;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Looks up a 4- or 16-octet address. */
    @SuppressWarnings("unchecked")
    Match<V> lookup(byte[] address) {
        Node n = address.length == 4 ? v4 : v6;
        int bits = address.length * 8;
        Object value = n.hasValue ? n.value : null;
        int matched = 0;
        // The deepest point on the address's path where another branch leads to some network: an
        // address differing there may get another answer, so the scope must reach one bit past it.
        int divergence = -1;
        int depth = 0;
        while (true) {
            boolean b = depth < bits && bit(address, depth);
            Node other = b ? n.zero : n.one;
            if (other != null && depth < bits) {
                divergence = depth;
            }
            Node next = depth < bits ? (b ? n.one : n.zero) : null;
            if (next == null) {
                break;
            }
            n = next;
            depth++;
            if (n.hasValue) {
                value = n.value;
                matched = depth;
                divergence = -1; // only networks inside the longest match matter
            }
        }
        // Networks below the matched node but off the address's path also diverge within the path.
        int scope = Math.max(matched, divergence + 1);
        return new Match<>((V) value, scope);
    }

    private static boolean bit(byte[] a, int i) {
        return (a[i >>> 3] & (0x80 >>> (i & 7))) != 0;
    }
}
