package dev.braid.frontend.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

import java.util.Locale;

/**
 * The primary cache key (RFC 9111 §2): the site and the request's effective target URI
 * (RFC 9110 §7.1) in one normal form: scheme and host in lower case, the default port dropped,
 * the target as received. The method is not part of it: only GET responses are stored, and HEAD
 * is answered from them.
 */
record CacheKey(String site, String uri) {

    static CacheKey of(String site, HttpRequest request) {
        return new CacheKey(site, effectiveUri(request.headers().get(HttpHeaderNames.HOST), request.uri()));
    }

    /** The effective URI of a request for {@code target} with {@code host} (http only). */
    static String effectiveUri(String host, String target) {
        if (target.regionMatches(true, 0, "http://", 0, 7)) {
            int slash = target.indexOf('/', 7);
            String authority = slash < 0 ? target.substring(7) : target.substring(7, slash);
            String path = slash < 0 ? "/" : target.substring(slash);
            return "http://" + normalAuthority(authority) + path;
        }
        return "http://" + normalAuthority(host == null ? "" : host) + (target.startsWith("/") ? target : "/" + target);
    }

    /**
     * Normalises an absolute http URL given by an operator (purge), or returns null when it is not
     * one: {@code http://host[:port]/path?query}.
     */
    static String normalUrl(String url) {
        if (url == null || !url.regionMatches(true, 0, "http://", 0, 7) || url.length() == 7
                || url.chars().anyMatch(c -> c <= ' ' || c == 0x7f) || url.contains("#")) {
            return null;
        }
        return effectiveUri(null, url);
    }

    private static String normalAuthority(String authority) {
        String a = authority.toLowerCase(Locale.ROOT);
        if (a.endsWith(":80")) {
            a = a.substring(0, a.length() - 3);
        }
        return a;
    }
}
