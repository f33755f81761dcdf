package dev.braid.frontend.cache;

import dev.braid.runtime.HttpForwarding;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.List;
import java.util.Set;

/**
 * What a shared cache may store (RFC 9111 §3, §3.5) and which header fields it keeps
 * (§3.1, §3.2). Pure functions of the request and response header fields.
 *
 * <p>Policy beyond the RFC, chosen to be conservative: a response with {@code Set-Cookie} is
 * stored only when it is explicitly {@code public} or has {@code s-maxage}, and even then the
 * stored copy never carries {@code Set-Cookie} (the client whose request fetched it gets it; no
 * other client ever does). A response that is stale on arrival and has no validator is not
 * stored, since it could never be used.
 */
final class Storability {

    /**
     * Status codes whose caching rules this cache implements, for {@code must-understand}
     * (§5.2.2.3). 206 and 304 are not among them: they are never stored.
     */
    static final Set<Integer> UNDERSTOOD = Set.of(200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405,
            410, 414, 500, 501, 502, 503, 504);

    /** Fields never stored: those of the proxy hop (§3.1), hop-by-hop ones, and those recomputed per use. */
    private static final List<CharSequence> NOT_STORED = List.of("Proxy-Authenticate", "Proxy-Authentication-Info",
            "Proxy-Authorization", HttpHeaderNames.SET_COOKIE, HttpHeaderNames.AGE, "X-Cache", "X-Cache-Detail",
            HttpHeaderNames.TRANSFER_ENCODING);

    /**
     * Fields a 304 must not overwrite: they describe the stored bytes themselves (§3.2: the length,
     * and fields the stored response depends on). Content-Type is updated, as §3.2 asks of a cache
     * that stores what it received rather than a processed form of it.
     */
    private static final List<CharSequence> NOT_UPDATED = List.of(HttpHeaderNames.CONTENT_LENGTH,
            HttpHeaderNames.CONTENT_ENCODING, HttpHeaderNames.CONTENT_RANGE, HttpHeaderNames.CONTENT_MD5);

    private Storability() {
    }

    /**
     * Why a shared cache must not store the response to a GET request, or null when it may.
     *
     * @param lifetime       the response's freshness lifetime (ms) as {@link Freshness} computes it
     * @param maxObjectBytes the largest body stored; a larger declared Content-Length refuses at once
     */
    static String refusal(int status, HttpHeaders response, CacheControl res, HttpHeaders request, CacheControl req,
                          long lifetime, long maxObjectBytes) {
        if (status < 200) {
            return "interim response";
        }
        if (status == 206 || status == 304) {
            return "status " + status + " is never stored";
        }
        boolean understood = UNDERSTOOD.contains(status);
        if (res.mustUnderstand && !understood) {
            return "must-understand with status " + status;
        }
        if (res.noStore && !(res.mustUnderstand && understood)) {
            return "response no-store";
        }
        if (req.noStore) {
            return "request no-store";
        }
        if (res.isPrivate) {
            return "private";
        }
        if (request.contains(HttpHeaderNames.AUTHORIZATION)
                && !(res.isPublic || res.sMaxAge != CacheControl.ABSENT || res.mustRevalidate)) {
            return "request with Authorization";
        }
        if (response.contains(HttpHeaderNames.SET_COOKIE) && !(res.isPublic || res.sMaxAge != CacheControl.ABSENT)) {
            return "Set-Cookie without public or s-maxage";
        }
        if (StoredResponse.varyNames(response).contains("*")) {
            return "Vary: *";
        }
        if (!(res.isPublic || res.maxAge != CacheControl.ABSENT || res.sMaxAge != CacheControl.ABSENT
                || response.contains(HttpHeaderNames.EXPIRES) || Freshness.HEURISTICALLY_CACHEABLE.contains(status))) {
            return "no explicit freshness and status " + status + " is not heuristically cacheable";
        }
        boolean validator = response.contains(HttpHeaderNames.ETAG) || response.contains(HttpHeaderNames.LAST_MODIFIED);
        if (lifetime <= 0 && !validator && res.staleWhileRevalidate <= 0 && res.staleIfError <= 0) {
            return "stale on arrival and without a validator";
        }
        long length = contentLength(response);
        if (length > maxObjectBytes) {
            return "Content-Length " + length + " over maxObjectBytes " + maxObjectBytes;
        }
        return null;
    }

    /** The fields stored with a response (§3.1): all received ones but those {@link #NOT_STORED} and hop-by-hop ones. */
    static HttpHeaders storedHeaders(HttpHeaders response) {
        HttpHeaders h = new DefaultHttpHeaders().add(response);
        HttpForwarding.stripHopByHop(h);
        for (CharSequence name : NOT_STORED) {
            h.remove(name);
        }
        return h;
    }

    /**
     * A stored response's fields updated from a 304 (§3.2): each field of the 304 replaces the
     * stored one, except those excepted from storage and those describing the stored content.
     */
    static HttpHeaders updatedHeaders(HttpHeaders stored, HttpHeaders notModified) {
        HttpHeaders update = storedHeaders(notModified);
        for (CharSequence name : NOT_UPDATED) {
            update.remove(name);
        }
        HttpHeaders h = new DefaultHttpHeaders().add(stored);
        for (String name : update.names()) {
            h.set(name, update.getAll(name));
        }
        return h;
    }

    /**
     * Whether a 304 may update {@code stored} (§4.3.4): a strong validator in the 304 must equal
     * the stored one; a weak one must match it; a 304 without validators updates only a stored
     * response without validators.
     */
    static boolean mayUpdate(HttpHeaders notModified, StoredResponse stored) {
        String etag = notModified.get(HttpHeaderNames.ETAG);
        if (etag != null) {
            if (!Conditionals.isWeak(etag.trim())) {
                return stored.etag != null && Conditionals.strongEquals(etag, stored.etag);
            }
            return stored.etag != null && Conditionals.weakEquals(etag, stored.etag);
        }
        String lastModified = notModified.get(HttpHeaderNames.LAST_MODIFIED);
        if (lastModified != null) {
            Long lm = HttpDates.parse(lastModified, stored.responseTime);
            return lm != null && lm.equals(stored.lastModified);
        }
        return !stored.hasValidator();
    }

    static boolean isServerError(int status) {
        return status == 500 || status == 502 || status == 503 || status == 504;
    }

    /** The declared Content-Length, or -1 when absent or not a number (the decoder has checked framing). */
    static long contentLength(HttpHeaders response) {
        String v = response.get(HttpHeaderNames.CONTENT_LENGTH);
        if (v == null) {
            return -1;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
