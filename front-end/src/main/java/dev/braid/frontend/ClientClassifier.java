package dev.braid.frontend;

import dev.braid.managers.config.ClassRule;
import dev.braid.managers.config.ClientClass;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a request into a client class: the first class (in configuration order) with a matching
 * rule, or a class with no rules; requests nothing matches fall into {@link #FALLBACK}, the lowest
 * ring. Immutable: a new configuration builds a new classifier, swapped in atomically.
 */
final class ClientClassifier {

    /** Where requests go when no class matches and none is a catch-all. */
    static final ClientClass FALLBACK = new ClientClass("default", Integer.MAX_VALUE, 1, List.of());

    private final List<CompiledClass> classes;

    ClientClassifier(List<ClientClass> classes) {
        List<CompiledClass> compiled = new ArrayList<>();
        for (ClientClass c : classes) {
            List<CompiledRule> rules = new ArrayList<>();
            for (ClassRule r : c.rules()) {
                rules.add(new CompiledRule(r));
            }
            compiled.add(new CompiledClass(c, rules));
        }
        this.classes = List.copyOf(compiled);
    }

    ClientClass classify(InetAddress source, HttpRequest request) {
        for (CompiledClass c : classes) {
            if (c.rules.isEmpty()) {
                return c.clientClass;
            }
            for (CompiledRule r : c.rules) {
                if (r.matches(source, request)) {
                    return c.clientClass;
                }
            }
        }
        return FALLBACK;
    }

    private record CompiledClass(ClientClass clientClass, List<CompiledRule> rules) {
    }

    private static final class CompiledRule {
        private final ClassRule rule;
        private final byte[] network;
        private final int prefix;
        private final String headerName;
        private final String headerValue;
        private final String cookieName;
        private final String cookieValue;

        CompiledRule(ClassRule rule) {
            this.rule = rule;
            if (rule.source() != null) {
                String[] parts = rule.source().split("/", 2);
                try {
                    network = InetAddress.getByName(parts[0]).getAddress();
                } catch (UnknownHostException e) {
                    throw new IllegalArgumentException("source: " + rule.source() + " (expected: CIDR)", e);
                }
                prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : network.length * 8;
            } else {
                network = null;
                prefix = 0;
            }
            if (rule.header() != null) {
                int colon = rule.header().indexOf(':');
                headerName = rule.header().substring(0, colon).trim();
                headerValue = rule.header().substring(colon + 1).trim();
            } else {
                headerName = null;
                headerValue = null;
            }
            if (rule.cookie() != null) {
                int eq = rule.cookie().indexOf('=');
                cookieName = rule.cookie().substring(0, eq).trim();
                cookieValue = rule.cookie().substring(eq + 1).trim();
            } else {
                cookieName = null;
                cookieValue = null;
            }
        }

        boolean matches(InetAddress source, HttpRequest request) {
            if (network != null && !inNetwork(source)) {
                return false;
            }
            if (rule.host() != null) {
                String host = request.headers().get(HttpHeaderNames.HOST);
                if (host == null || !dev.braid.managers.config.HostPort.stripPort(host).equalsIgnoreCase(rule.host())) {
                    return false;
                }
            }
            if (rule.pathPrefix() != null
                    && !new QueryStringDecoder(request.uri()).rawPath().startsWith(rule.pathPrefix())) {
                return false;
            }
            if (rule.method() != null && !request.method().name().equals(rule.method())) {
                return false;
            }
            if (headerName != null && !request.headers().containsValue(headerName, headerValue, true)) {
                return false;
            }
            if (cookieName != null) {
                boolean found = false;
                for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
                    for (Cookie c : ServerCookieDecoder.STRICT.decodeAll(header)) {
                        if (c.name().equals(cookieName) && c.value().equals(cookieValue)) {
                            found = true;
                        }
                    }
                }
                if (!found) {
                    return false;
                }
            }
            return true;
        }

        private boolean inNetwork(InetAddress source) {
            byte[] addr = source.getAddress();
            if (addr.length != network.length) {
                return false;
            }
            int bits = addr.length * 8;
            BigInteger mask = prefix == 0 ? BigInteger.ZERO
                    : BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE).shiftRight(bits - prefix).shiftLeft(bits - prefix);
            return new BigInteger(1, addr).and(mask).equals(new BigInteger(1, network).and(mask));
        }
    }
}
