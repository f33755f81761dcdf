package dev.braid.frontend.cache;

import dev.braid.runtime.HttpForwarding;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.util.List;

/**
 * Builds the response a client gets from a stored one: the full response, its head for HEAD, a
 * 304 for a matching conditional request (RFC 9111 §4.3.2), a 206 for one byte range or a 416
 * when the range is unsatisfiable (RFC 9110 §14), always with a fresh Age (RFC 9111 §4, §5.1) and
 * this hop in Via. Nothing is transformed (RFC 9111 §5.2.2.6): the body is the stored bytes.
 */
public final class CachedResponses {

    /** Fields a 304 repeats from the response it stands for (RFC 9110 §15.4.5). */
    private static final List<CharSequence> NOT_MODIFIED_FIELDS = List.of(HttpHeaderNames.CACHE_CONTROL,
            HttpHeaderNames.CONTENT_LOCATION, HttpHeaderNames.DATE, HttpHeaderNames.ETAG, HttpHeaderNames.EXPIRES,
            HttpHeaderNames.VARY, HttpHeaderNames.VIA);

    /** Response field naming the keys a response can be purged by (space-separated). */
    public static final String SURROGATE_KEY = "Surrogate-Key";

    /**
     * A response ready to write: its head and, when it has content, a retained slice of the
     * stored body that the writer takes ownership of.
     */
    public record Rendered(HttpResponse head, ByteBuf body) {
    }

    private CachedResponses() {
    }

    /**
     * The response for a request from {@code stored}, or null when the stored body has been
     * released meanwhile (evicted or purged): the caller then treats the request as a miss.
     */
    static Rendered render(StoredResponse stored, HttpMethod method, HttpHeaders request, long now, String via) {
        HttpHeaders h = new DefaultHttpHeaders().add(stored.headers);
        // Surrogate keys are for this cache's purge API, not for clients.
        h.remove(SURROGATE_KEY);
        h.set(HttpHeaderNames.AGE, Long.toString(Freshness.ageHeaderSeconds(stored.currentAge(now))));
        HttpForwarding.appendVia(h, HttpVersion.HTTP_1_1, via);
        if (Conditionals.notModified(method, request, stored, now)) {
            HttpHeaders nm = new DefaultHttpHeaders();
            for (CharSequence name : NOT_MODIFIED_FIELDS) {
                nm.add(name, h.getAll(name));
            }
            if (stored.etag == null && h.contains(HttpHeaderNames.LAST_MODIFIED)) {
                nm.set(HttpHeaderNames.LAST_MODIFIED, h.get(HttpHeaderNames.LAST_MODIFIED));
            }
            nm.set(HttpHeaderNames.AGE, h.get(HttpHeaderNames.AGE));
            return new Rendered(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED, nm),
                    null);
        }
        long length = stored.body.length();
        boolean get = HttpMethod.GET.equals(method);
        if (get && stored.status == 200 && request.contains(HttpHeaderNames.RANGE)
                && Conditionals.rangeApplies(request, stored)) {
            ByteRange range = ByteRange.parse(request.get(HttpHeaderNames.RANGE), length);
            if (range == ByteRange.UNSATISFIABLE) {
                HttpHeaders r = new DefaultHttpHeaders();
                r.set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + length);
                r.set(HttpHeaderNames.CONTENT_LENGTH, 0);
                r.add(HttpHeaderNames.VIA, h.getAll(HttpHeaderNames.VIA));
                r.add(HttpHeaderNames.DATE, h.getAll(HttpHeaderNames.DATE));
                r.add(HttpHeaderNames.ETAG, h.getAll(HttpHeaderNames.ETAG));
                return new Rendered(new DefaultHttpResponse(HttpVersion.HTTP_1_1,
                        HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, r), null);
            }
            if (range != ByteRange.IGNORE) {
                ByteBuf slice = stored.body.lease(range.first(), range.length());
                if (slice == null) {
                    return null;
                }
                h.set(HttpHeaderNames.CONTENT_RANGE, "bytes " + range.first() + "-" + range.last() + "/" + length);
                h.set(HttpHeaderNames.CONTENT_LENGTH, range.length());
                return new Rendered(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT,
                        h), slice);
            }
        }
        if (stored.status == 200 && !h.contains(HttpHeaderNames.ACCEPT_RANGES)) {
            h.set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
        }
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(stored.status), h);
        if (stored.status == 204) {
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
            return new Rendered(head, null);
        }
        h.set(HttpHeaderNames.CONTENT_LENGTH, length);
        if (!get || length == 0) {
            return stored.body.isReleased() && get ? null : new Rendered(head, null);
        }
        ByteBuf body = stored.body.lease(0, length);
        return body == null ? null : new Rendered(head, body);
    }
}
