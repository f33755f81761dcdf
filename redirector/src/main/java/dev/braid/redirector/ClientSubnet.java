package dev.braid.redirector;

import java.util.Arrays;

/**
 * The EDNS Client Subnet option (RFC 7871 §6): the network of the client a resolver asks for.
 * In a query the scope is 0; the answer echoes family, source prefix and address and sets the
 * scope to the prefix length the answer depended on.
 *
 * @param family       1 (IPv4) or 2 (IPv6)
 * @param sourcePrefix how many leading bits of {@code address} are the client's network
 * @param scopePrefix  in an answer, how many leading bits the answer depended on
 * @param address      the address octets as sent: exactly ceil(sourcePrefix / 8) of them
 */
public record ClientSubnet(int family, int sourcePrefix, int scopePrefix, byte[] address) {

    public static final int OPTION_CODE = 8;
    public static final int FAMILY_IPV4 = 1;
    public static final int FAMILY_IPV6 = 2;

    public ClientSubnet {
        address = address.clone();
    }

    /** The same subnet with the answer's scope. */
    public ClientSubnet withScope(int scope) {
        return new ClientSubnet(family, sourcePrefix, scope, address);
    }

    /** The address padded to its family's full length (4 or 16 octets), for prefix lookups. */
    public byte[] paddedAddress() {
        return Arrays.copyOf(address, family == FAMILY_IPV4 ? 4 : 16);
    }

    /** Octets the option takes in an OPT record: code, length, family, two prefixes, address. */
    int wireSize() {
        return 4 + 4 + address.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClientSubnet c && c.family == family && c.sourcePrefix == sourcePrefix
                && c.scopePrefix == scopePrefix && Arrays.equals(c.address, address);
    }

    @Override
    public int hashCode() {
        return (family * 31 + sourcePrefix) * 31 + Arrays.hashCode(address);
    }

    @Override
    public String toString() {
        return "ClientSubnet[" + io.netty.util.NetUtil.bytesToIpAddress(paddedAddress()) + '/' + sourcePrefix
                + " scope " + scopePrefix + ']';
    }
}
