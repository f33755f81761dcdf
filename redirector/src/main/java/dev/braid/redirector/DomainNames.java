package dev.braid.redirector;

import io.netty.util.NetUtil;

/**
 * Domain-name and address helpers of the answer core. Names are handled in presentation form
 * (labels joined by dots); "key" form is the lowercase name without its trailing dot, the form
 * every lookup uses, because DNS names compare case-insensitively over ASCII only (RFC 4343).
 */
final class DomainNames {

    /** Longest name in presentation form without the trailing dot (255 octets on the wire, RFC 1035 §2.3.4). */
    static final int MAX_NAME_LENGTH = 253;
    static final int MAX_LABEL_LENGTH = 63;

    private DomainNames() {
    }

    /** The lookup key of {@code name}: ASCII-lowercased, without a trailing dot; the root is {@code ""}. */
    static String key(String name) {
        int end = name.endsWith(".") ? name.length() - 1 : name.length();
        char[] out = null;
        for (int i = 0; i < end; i++) {
            char c = name.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                if (out == null) {
                    out = name.substring(0, end).toCharArray();
                }
                out[i] = (char) (c + ('a' - 'A'));
            }
        }
        return out != null ? new String(out) : name.substring(0, end);
    }

    /** The absolute presentation form of a key: {@code shop.example} becomes {@code shop.example.}. */
    static String absolute(String key) {
        return key.isEmpty() ? "." : key + '.';
    }

    /** The parent of a key, or {@code null} for a single label or the root. Escaped dots ({@code \.}) stay in their label. */
    static String parent(String key) {
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '.') {
                return key.substring(i + 1);
            }
        }
        return null;
    }

    static int labelCount(String key) {
        if (key.isEmpty()) {
            return 0;
        }
        int n = 1;
        for (int i = 0; i < key.length(); i++) {
            if (key.charAt(i) == '.') {
                n++;
            }
        }
        return n;
    }

    /**
     * Whether {@code key} is a host name Braid can serve: labels of 1 to 63 letters, digits,
     * hyphens and underscores, at most 253 characters in all.
     */
    static boolean isHostName(String key) {
        if (key.isEmpty() || key.length() > MAX_NAME_LENGTH) {
            return false;
        }
        int labelLength = 0;
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c == '.') {
                if (labelLength == 0) {
                    return false;
                }
                labelLength = 0;
            } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
                if (++labelLength > MAX_LABEL_LENGTH) {
                    return false;
                }
            } else {
                return false;
            }
        }
        return labelLength > 0;
    }

    /** The 4 or 16 octets of an IP address literal, or {@code null} when {@code text} is not one. Never resolves. */
    static byte[] addressLiteral(String text) {
        if (text == null) {
            return null;
        }
        String t = text.trim();
        if (t.startsWith("[") && t.endsWith("]")) {
            t = t.substring(1, t.length() - 1);
        }
        return NetUtil.createByteArrayFromIpAddressString(t);
    }

    static boolean isUnspecified(byte[] address) {
        for (byte b : address) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
