package dev.braid.backend;

import dev.braid.managers.config.RequestType;
import dev.braid.managers.config.TypeRule;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Gives a request its type (FIG. 7: database query, multimedia, dynamic page, static page) from its
 * method, path, extension and headers. Types are tried in order, the first whose rules match wins,
 * and a request no rule matches gets the last type. Pure and immutable: safe on any thread.
 */
final class RequestTyper {

    private final List<RequestType> types;
    private final List<List<Rule>> rules = new ArrayList<>();

    RequestTyper(List<RequestType> types) {
        if (types.isEmpty()) {
            throw new IllegalArgumentException("requestTypes: [] (expected: at least one request type)");
        }
        this.types = List.copyOf(types);
        for (RequestType t : types) {
            rules.add(t.rules().stream().map(Rule::new).toList());
        }
    }

    /** The type of a request with this method, request target and headers. */
    RequestType type(String method, String uri, HttpHeaders headers) {
        String path = path(uri);
        String extension = extension(path);
        for (int i = 0; i < types.size(); i++) {
            List<Rule> typeRules = rules.get(i);
            if (typeRules.isEmpty()) {
                return types.get(i);
            }
            for (Rule r : typeRules) {
                if (r.matches(method, path, extension, headers)) {
                    return types.get(i);
                }
            }
        }
        return types.get(types.size() - 1);
    }

    /** The path of an origin-form or absolute-form request target, without query or fragment. */
    static String path(String uri) {
        String p = uri;
        int scheme = p.indexOf("://");
        if (scheme > 0 && scheme < 8 && !p.startsWith("/")) {
            int slash = p.indexOf('/', scheme + 3);
            p = slash < 0 ? "/" : p.substring(slash);
        }
        int end = p.length();
        int q = p.indexOf('?');
        if (q >= 0) {
            end = q;
        }
        int h = p.indexOf('#');
        if (h >= 0 && h < end) {
            end = h;
        }
        return p.substring(0, end);
    }

    /** The lower-case extension of the path's last segment, or null (matrix parameters after ';' ignored). */
    static String extension(String path) {
        String segment = path.substring(path.lastIndexOf('/') + 1);
        int semi = segment.indexOf(';');
        if (semi >= 0) {
            segment = segment.substring(0, semi);
        }
        int dot = segment.lastIndexOf('.');
        return dot < 0 || dot == segment.length() - 1 ? null : segment.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    private static final class Rule {
        private final TypeRule rule;
        private final String headerName;
        private final String headerValue;

        Rule(TypeRule rule) {
            this.rule = rule;
            if (rule.header() == null) {
                headerName = null;
                headerValue = null;
            } else {
                int colon = rule.header().indexOf(':');
                headerName = colon < 0 ? rule.header().trim() : rule.header().substring(0, colon).trim();
                headerValue = colon < 0 ? null : rule.header().substring(colon + 1).trim().toLowerCase(Locale.ROOT);
            }
        }

        boolean matches(String method, String path, String extension, HttpHeaders headers) {
            if (rule.method() != null && !rule.method().equals(method)) {
                return false;
            }
            if (rule.pathPrefix() != null && !path.startsWith(rule.pathPrefix())) {
                return false;
            }
            if (rule.extensions() != null && (extension == null || !rule.extensions().contains(extension))) {
                return false;
            }
            return headerName == null || headerMatches(headers);
        }

        private boolean headerMatches(HttpHeaders headers) {
            List<String> values = headers.getAll(headerName);
            if (headerValue == null) {
                return !values.isEmpty();
            }
            for (String value : values) {
                for (String element : value.split(",")) {
                    if (element.trim().toLowerCase(Locale.ROOT).startsWith(headerValue)) {
                        return true;
                    }
                }
            }
            return false;
        }
    }
}
