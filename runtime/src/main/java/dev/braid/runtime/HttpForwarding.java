package dev.braid.runtime;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.util.List;
import java.util.Locale;

/**
 * What every Braid hop does to a message it forwards (RFC 9110 §7.6): hop-by-hop fields are
 * removed (the fixed list and every field the Connection header names), the hop appends itself to
 * Via, and the message is re-serialised from its parsed form with framing this hop chooses
 * (Content-Length when known, else chunked), never with the bytes it received.
 */
public final class HttpForwarding {

    private static final List<CharSequence> HOP_BY_HOP = List.of(
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.PROXY_CONNECTION,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
            HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION);

    /**
     * Names the site a front-end chose for a request, on the TMP stream to the back-end only: the
     * front-end removes any copy a client sent and sets its own, the back-end removes it before the
     * origin. Host alone cannot say it when a client addressed the front-end by IP.
     */
    public static final String SITE_HEADER = "Braid-Site";

    private HttpForwarding() {
    }

    /** A copy of {@code request} fit to send to the next hop, with {@code via} (e.g. {@code fe-1}) appended to Via. */
    public static HttpRequest forwardRequest(HttpRequest request, String via) {
        HttpHeaders headers = request.headers().copy();
        boolean chunked = HttpUtil.isTransferEncodingChunked(request);
        stripHopByHop(headers);
        headers.remove(SITE_HEADER);
        appendVia(headers, request.protocolVersion(), via);
        HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(), headers);
        if (chunked) {
            HttpUtil.setTransferEncodingChunked(out, true);
        }
        return out;
    }

    /**
     * A copy of {@code response} fit to send to the previous hop, with {@code via} appended.
     *
     * @param requestMethod the request's method, since a HEAD response carries no body
     */
    public static HttpResponse forwardResponse(HttpResponse response, String via, HttpMethod requestMethod) {
        HttpHeaders headers = response.headers().copy();
        stripHopByHop(headers);
        appendVia(headers, response.protocolVersion(), via);
        HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status(), headers);
        int code = response.status().code();
        boolean bodyless = HttpMethod.HEAD.equals(requestMethod) || code == 204 || code == 304 || code / 100 == 1;
        if (!bodyless && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            HttpUtil.setTransferEncodingChunked(out, true);
        }
        return out;
    }

    /** Removes hop-by-hop fields, including those the Connection header lists. */
    public static void stripHopByHop(HttpHeaders headers) {
        for (String connection : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : connection.split(",")) {
                String name = token.trim().toLowerCase(Locale.ROOT);
                if (!name.isEmpty()) {
                    headers.remove(name);
                }
            }
        }
        for (CharSequence name : HOP_BY_HOP) {
            headers.remove(name);
        }
    }

    /** Appends {@code <protocol> <via>} to the Via header (RFC 9110 §7.6.3). */
    public static void appendVia(HttpHeaders headers, HttpVersion received, String via) {
        // RFC 9110 §7.6.3: the received protocol's version as the protocol names it, "1.0", "1.1", "2".
        String entry = (received.majorVersion() == 1 ? received.minorVersion() == 0 ? "1.0" : "1.1"
                : received.majorVersion() >= 2 && received.minorVersion() == 0 ? String.valueOf(received.majorVersion())
                : received.majorVersion() + "." + received.minorVersion()) + " " + via;
        String existing = String.join(", ", headers.getAll(HttpHeaderNames.VIA));
        headers.set(HttpHeaderNames.VIA, existing.isEmpty() ? entry : existing + ", " + entry);
    }

    /** Whether the connection may carry another exchange after this message (HTTP/1.1 keep-alive rules). */
    public static boolean keepAlive(io.netty.handler.codec.http.HttpMessage message) {
        return HttpUtil.isKeepAlive(message);
    }

    /** Default Connection-close value helper, for responses that end the connection. */
    public static void markClose(HttpResponse response) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
}
