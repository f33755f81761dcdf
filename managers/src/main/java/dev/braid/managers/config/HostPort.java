package dev.braid.managers.config;

import java.net.InetSocketAddress;

/** Parses the {@code host:port} strings of the configuration ({@code [v6]:port} for IPv6). */
public final class HostPort {

    private HostPort() {
    }

    /**
     * @param field the configuration path, for the error message
     * @throws IllegalArgumentException naming the field, the value and what was expected
     */
    public static InetSocketAddress parse(String field, String value) {
        if (value == null) {
            throw new IllegalArgumentException(field + ": null (expected: host:port)");
        }
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: host:port)");
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: host:port with a numeric port)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: port in 0..65535)");
        }
        return new InetSocketAddress(host, port);
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
