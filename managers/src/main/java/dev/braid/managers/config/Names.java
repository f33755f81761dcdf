package dev.braid.managers.config;

import io.netty.util.NetUtil;

import java.util.regex.Pattern;

/**
 * The lexical rules of the configuration: node and site names, DNS names, IP literals and HTTP
 * tokens. Pure string checks; nothing here resolves a name.
 */
final class Names {

    /** Node, site, origin, class and region names: safe in URLs, metric labels and log lines. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    static final String NAME_EXPECTED = "1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit";

    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");
    private static final Pattern DIGITS = Pattern.compile("[0-9]+");

    private Names() {
    }

    static boolean isName(String s) {
        return s != null && NAME.matcher(s).matches();
    }

    /**
     * A host name as a client types it (RFC 1123 labels, at most 253 characters, no trailing dot).
     * An all-numeric last label is refused, so an IPv4 address never passes for a name.
     */
    static boolean isDnsName(String s) {
        if (s == null || s.isEmpty() || s.length() > 253) {
            return false;
        }
        String[] labels = s.split("\\.", -1);
        for (String label : labels) {
            if (!LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return !DIGITS.matcher(labels[labels.length - 1]).matches();
    }

    /** An IPv4 or IPv6 literal without brackets, port or zone. */
    static boolean isIpLiteral(String s) {
        if (s == null || s.isEmpty() || s.startsWith("[") || s.indexOf('%') >= 0) {
            return false;
        }
        return NetUtil.isValidIpV4Address(s) || NetUtil.isValidIpV6Address(s);
    }

    /** An RFC 9110 token (header names, methods, cookie names). */
    static boolean isToken(String s) {
        if (s == null || s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** How a configuration value is shown in an error message. */
    static String show(Object value) {
        if (value == null) {
            return "null";
        }
        String s = String.valueOf(value);
        if (value instanceof String && (s.isEmpty() || s.chars().anyMatch(c -> c <= ' ' || c == 0x7f))) {
            return '"' + s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"';
        }
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }
}
