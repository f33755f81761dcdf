package dev.braid.managers.config;

import java.net.InetSocketAddress;

/**
 * Parses the {@code host:port} strings of the configuration ({@code [v6]:port} for IPv6). The host
 * is an IP literal or a DNS name; an IPv6 literal must be bracketed, so that the port is never
 * ambiguous. Port 0 is accepted (bind to any free port).
 */
public final class HostPort {

    private HostPort() {
    }

    /**
     * Parses and resolves {@code value}. A name that does not resolve gives an unresolved address
     * rather than an error; use {@link #parseUnresolved} to check syntax without any lookup.
     *
     * @param field the configuration path, for the error message
     * @throws IllegalArgumentException naming the field, the value and what was expected
     */
    public static InetSocketAddress parse(String field, String value) {
        InetSocketAddress unresolved = parseUnresolved(field, value);
        return new InetSocketAddress(unresolved.getHostString(), unresolved.getPort());
    }

    /**
     * Parses {@code value} without resolving the host (no DNS lookup, so validation is fast and
     * does not depend on the machine it runs on).
     *
     * @param field the configuration path, for the error message
     * @throws IllegalArgumentException naming the field, the value and what was expected
     */
    public static InetSocketAddress parseUnresolved(String field, String value) {
        if (value == null) {
            throw new IllegalArgumentException(field + ": null (expected: host:port)");
        }
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(field + ": " + Names.show(value) + " (expected: host:port)");
        }
        String host = value.substring(0, colon);
        boolean bracketed = host.startsWith("[") && host.endsWith("]");
        if (bracketed) {
            host = host.substring(1, host.length() - 1);
            if (!Names.isIpLiteral(host) || host.indexOf(':') < 0) {
                throw new IllegalArgumentException(field + ": " + value + " (expected: [IPv6 address]:port)");
            }
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: [IPv6 address]:port, with brackets)");
        } else if (!Names.isIpLiteral(host) && !Names.isDnsName(host)) {
            throw new IllegalArgumentException(field + ": " + Names.show(value)
                    + " (expected: host:port where host is an IP address or a DNS name)");
        }
        String portText = value.substring(colon + 1);
        int port = -1;
        if (portText.length() <= 5 && portText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            port = Integer.parseInt(portText);
        } else if (!portText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(field + ": " + Names.show(value) + " (expected: host:port with a numeric port)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: port in 0..65535)");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** The host part of a Host header value ({@code example.com:8080} becomes {@code example.com}). */
    public static String stripPort(String host) {
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end > 0 ? host.substring(0, end + 1) : host;
        }
        int colon = host.indexOf(':');
        return colon >= 0 ? host.substring(0, colon) : host;
    }
}
