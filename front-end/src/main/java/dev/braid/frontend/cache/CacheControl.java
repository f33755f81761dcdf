package dev.braid.frontend.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.Locale;

/**
 * The Cache-Control directives of one request or response (RFC 9111 §5.2), parsed once.
 *
 * <p>Directive names are compared without case; arguments may be tokens or quoted strings
 * (§5.2). Directives this cache does not know are ignored (§5.2.3). Of a directive given twice
 * the first occurrence counts (§4.2.1). A malformed delta-seconds argument of {@code max-age} or
 * {@code s-maxage} makes the response stale rather than fresh (§4.2.1); a value too large for 31
 * bits reads as 2^31 (§1.2.2). The qualified forms of {@code no-cache} and {@code private}
 * (with field names) are treated as their unqualified forms, the conservative choice §5.2.2.4 and
 * §5.2.2.7 allow. A request without Cache-Control but with {@code Pragma: no-cache} reads as
 * {@code no-cache} (§5.4).
 */
final class CacheControl {

    /** "Infinity" for delta-seconds (RFC 9111 §1.2.2). */
    static final long DELTA_INFINITY = 2_147_483_648L;
    /** Marks a directive that is absent. */
    static final long ABSENT = -1;

    static final CacheControl NONE = new CacheControl();

    boolean noStore;
    boolean noCache;
    boolean isPrivate;
    boolean isPublic;
    boolean mustRevalidate;
    boolean proxyRevalidate;
    boolean mustUnderstand;
    boolean onlyIfCached;
    long maxAge = ABSENT;
    long sMaxAge = ABSENT;
    long maxStale = ABSENT;
    long minFresh = ABSENT;
    long staleWhileRevalidate = ABSENT;
    long staleIfError = ABSENT;

    private CacheControl() {
    }

    static CacheControl ofResponse(HttpHeaders headers) {
        return parse(headers);
    }

    static CacheControl ofRequest(HttpHeaders headers) {
        CacheControl cc = parse(headers);
        if (!headers.contains(HttpHeaderNames.CACHE_CONTROL)) {
            for (String pragma : headers.getAll(HttpHeaderNames.PRAGMA)) {
                for (String token : pragma.split(",")) {
                    if (token.trim().equalsIgnoreCase("no-cache")) {
                        cc.noCache = true;
                    }
                }
            }
        }
        return cc;
    }

    /** Whether a shared cache must not serve this response stale (RFC 9111 §4.2.4). */
    boolean staleForbidden() {
        return noCache || mustRevalidate || proxyRevalidate || sMaxAge != ABSENT;
    }

    private static CacheControl parse(HttpHeaders headers) {
        CacheControl cc = new CacheControl();
        boolean[] seen = new boolean[6];
        for (String line : headers.getAll(HttpHeaderNames.CACHE_CONTROL)) {
            int i = 0;
            int n = line.length();
            while (i < n) {
                while (i < n && (line.charAt(i) == ',' || line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
                    i++;
                }
                int nameStart = i;
                while (i < n && line.charAt(i) != '=' && line.charAt(i) != ',') {
                    i++;
                }
                String name = line.substring(nameStart, i).trim().toLowerCase(Locale.ROOT);
                String arg = null;
                if (i < n && line.charAt(i) == '=') {
                    i++;
                    while (i < n && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
                        i++;
                    }
                    if (i < n && line.charAt(i) == '"') {
                        StringBuilder sb = new StringBuilder();
                        i++;
                        while (i < n && line.charAt(i) != '"') {
                            if (line.charAt(i) == '\\' && i + 1 < n) {
                                i++;
                            }
                            sb.append(line.charAt(i++));
                        }
                        i++;
                        arg = sb.toString();
                        while (i < n && line.charAt(i) != ',') {
                            i++;
                        }
                    } else {
                        int argStart = i;
                        while (i < n && line.charAt(i) != ',') {
                            i++;
                        }
                        arg = line.substring(argStart, i).trim();
                    }
                }
                if (!name.isEmpty()) {
                    cc.apply(name, arg, seen);
                }
            }
        }
        return cc;
    }

    private void apply(String name, String arg, boolean[] seen) {
        switch (name) {
            case "no-store" -> noStore = true;
            case "no-cache" -> noCache = true;
            case "private" -> isPrivate = true;
            case "public" -> isPublic = true;
            case "must-revalidate" -> mustRevalidate = true;
            case "proxy-revalidate" -> proxyRevalidate = true;
            case "must-understand" -> mustUnderstand = true;
            case "only-if-cached" -> onlyIfCached = true;
            case "max-age" -> {
                if (!seen[0]) {
                    seen[0] = true;
                    long v = delta(arg);
                    // Invalid freshness information makes the response stale (§4.2.1).
                    maxAge = v < 0 ? 0 : v;
                }
            }
            case "s-maxage" -> {
                if (!seen[1]) {
                    seen[1] = true;
                    long v = delta(arg);
                    sMaxAge = v < 0 ? 0 : v;
                }
            }
            case "max-stale" -> {
                if (!seen[2]) {
                    seen[2] = true;
                    // Without a value the client accepts a response stale by any amount (§5.2.1.2).
                    long v = arg == null ? DELTA_INFINITY : delta(arg);
                    maxStale = v;
                }
            }
            case "min-fresh" -> {
                if (!seen[3]) {
                    seen[3] = true;
                    minFresh = delta(arg);
                }
            }
            case "stale-while-revalidate" -> {
                if (!seen[4]) {
                    seen[4] = true;
                    staleWhileRevalidate = delta(arg);
                }
            }
            case "stale-if-error" -> {
                if (!seen[5]) {
                    seen[5] = true;
                    staleIfError = delta(arg);
                }
            }
            default -> {
                // Unknown extension directives are ignored (RFC 9111 §5.2.3).
            }
        }
    }

    /** A delta-seconds value, {@link #DELTA_INFINITY} when it overflows, or -1 when malformed. */
    static long delta(String s) {
        if (s == null || s.isEmpty()) {
            return ABSENT;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return ABSENT;
            }
            v = v * 10 + (c - '0');
            if (v > DELTA_INFINITY) {
                v = DELTA_INFINITY;
            }
        }
        return v;
    }
}
