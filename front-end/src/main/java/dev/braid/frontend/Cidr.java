package dev.braid.frontend;

import io.netty.util.NetUtil;

import java.net.InetAddress;
import java.util.List;

/** An IP network in CIDR notation ({@code 10.0.0.0/8}, {@code 2001:db8::/32}); IPv4 and IPv6 never match each other. */
record Cidr(byte[] network, int prefix) {

    static Cidr parse(String path, String text) {
        int slash = text.indexOf('/');
        byte[] network = slash < 0 ? null : NetUtil.createByteArrayFromIpAddressString(text.substring(0, slash));
        int prefix = -1;
        if (network != null) {
            try {
                prefix = Integer.parseInt(text.substring(slash + 1));
            } catch (NumberFormatException e) {
                prefix = -1;
            }
        }
        if (network == null || prefix < 0 || prefix > network.length * 8) {
            throw new IllegalArgumentException(path + ": " + text + " (expected: a CIDR block such as 10.0.0.0/8)");
        }
        return new Cidr(network, prefix);
    }

    static List<Cidr> parseAll(String path, List<String> texts) {
        return java.util.stream.IntStream.range(0, texts.size())
                .mapToObj(i -> parse(path + "[" + i + "]", texts.get(i))).toList();
    }

    boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (a[full] & mask) == (network[full] & mask);
    }

    static boolean anyContains(List<Cidr> cidrs, InetAddress address) {
        for (Cidr c : cidrs) {
            if (c.contains(address)) {
                return true;
            }
        }
        return false;
    }
}
