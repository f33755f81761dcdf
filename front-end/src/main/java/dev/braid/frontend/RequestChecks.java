package dev.braid.frontend;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

import java.util.List;
import java.util.Locale;

/**
 * The checks a parsed request passes before the front-end forwards it, beyond what the strict
 * decoder already enforces: the HTTP version, the request target's form (RFC 9112 §3.2), the Host
 * field's syntax and count, and the transfer codings the gateway can carry. It also rewrites an
 * absolute-form target to origin-form with the target's authority as Host, because there the
 * target, not Host, names the resource (RFC 9112 §3.2.2).
 */
final class RequestChecks {

    /** Why a request is refused: the status and a reason for the body, the log and X-Braid-Error. */
    record Rejection(int status, String reason) {
    }

    private RequestChecks() {
    }

    /** Checks and normalises {@code request} in place; returns null when it may be forwarded. */
    static Rejection check(HttpRequest request) {
        HttpVersion version = request.protocolVersion();
        if (version.majorVersion() != 1 || version.minorVersion() > 1) {
            return new Rejection(505, "HTTP version " + version.text() + " is not supported (expected: HTTP/1.0 or HTTP/1.1)");
        }
        if (HttpMethod.CONNECT.equals(request.method())) {
            return new Rejection(501, "CONNECT is not supported: this gateway is not a forward proxy");
        }
        List<String> hosts = request.headers().getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1) {
            return new Rejection(400, "more than one Host header");
        }
        String uri = request.uri();
        if (isAbsoluteForm(uri)) {
            int authorityStart = uri.indexOf("://") + 3;
            int pathStart = indexOfAny(uri, authorityStart, "/?#");
            String authority = uri.substring(authorityStart, pathStart < 0 ? uri.length() : pathStart);
            if (authority.contains("@")) {
                return new Rejection(400, "user information in the request target");
            }
            if (!isValidHost(authority)) {
                return new Rejection(400, "invalid authority in the request target: " + authority);
            }
            String rest = pathStart < 0 ? "/" : uri.substring(pathStart);
            if (rest.startsWith("?")) {
                rest = "/" + rest;
            }
            int fragment = rest.indexOf('#');
            if (fragment >= 0) {
                rest = rest.substring(0, fragment);
            }
            request.setUri(rest);
            request.headers().set(HttpHeaderNames.HOST, authority);
        } else if (uri.equals("*")) {
            if (!HttpMethod.OPTIONS.equals(request.method())) {
                return new Rejection(400, "the asterisk target is for OPTIONS only");
            }
        } else if (!uri.startsWith("/")) {
            return new Rejection(400, "request target " + abbreviate(uri) + " is not in origin or absolute form");
        }
        if (hosts.isEmpty() && version.equals(HttpVersion.HTTP_1_1) && !request.headers().contains(HttpHeaderNames.HOST)) {
            return new Rejection(400, "missing Host header");
        }
        String host = request.headers().get(HttpHeaderNames.HOST);
        if (host != null && !isValidHost(host)) {
            return new Rejection(400, "invalid Host header: " + abbreviate(host));
        }
        List<String> codings = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!codings.isEmpty()) {
            if (codings.size() > 1 || !codings.get(0).trim().equalsIgnoreCase(HttpHeaderValues.CHUNKED.toString())) {
                return new Rejection(501, "unsupported transfer coding " + abbreviate(String.join(", ", codings))
                        + " (expected: chunked alone)");
            }
            if (version.equals(HttpVersion.HTTP_1_0)) {
                return new Rejection(400, "Transfer-Encoding in an HTTP/1.0 request");
            }
        }
        return null;
    }

    private static boolean isAbsoluteForm(String uri) {
        String lower = uri.length() > 8 ? uri.substring(0, 8).toLowerCase(Locale.ROOT) : uri.toLowerCase(Locale.ROOT);
        return lower.startsWith("http://") || lower.startsWith("https://");
    }

    private static int indexOfAny(String s, int from, String chars) {
        for (int i = from; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    /** {@code uri-host [ ":" port ]} of RFC 3986 (reg-name, IPv4 or a bracketed IP literal). */
    static boolean isValidHost(String value) {
        if (value.isEmpty()) {
            return false;
        }
        String host = value;
        String port = null;
        if (value.startsWith("[")) {
            int end = value.indexOf(']');
            if (end < 0) {
                return false;
            }
            host = value.substring(1, end);
            String after = value.substring(end + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    return false;
                }
                port = after.substring(1);
            }
            if (host.isEmpty() || !host.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
                return false;
            }
        } else {
            int colon = value.lastIndexOf(':');
            if (colon >= 0) {
                host = value.substring(0, colon);
                port = value.substring(colon + 1);
            }
            if (host.isEmpty()) {
                return false;
            }
            for (int i = 0; i < host.length(); i++) {
                char c = host.charAt(i);
                boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                        || "-._~!$&'()*+,;=%".indexOf(c) >= 0;
                if (!ok) {
                    return false;
                }
            }
        }
        if (port != null) {
            if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(Character::isDigit)
                    || Integer.parseInt(port) > 65535) {
                return false;
            }
        }
        return true;
    }

    private static String abbreviate(String s) {
        String clean = s.replaceAll("[\\p{Cntrl}]", "?");
        return clean.length() <= 100 ? clean : clean.substring(0, 100) + "...";
    }
}
