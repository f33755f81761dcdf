package dev.braid.frontend;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * The front-end's access log: one line per response on the SLF4J logger {@code braid.access}, in
 * the combined log format followed by Braid's fields ({@code docs/front-end.md} lists them):
 * <pre>
 * 192.0.2.7 - - [21/Nov/2026:23:58:01 +0000] "GET /a HTTP/1.1" 200 512 "-" "curl/8" class=gold cache=MISS backend=be-1 link=17 rid=3f2a... ms=4.21
 * </pre>
 * Also where request IDs are made and checked.
 */
final class AccessLog {

    static final Logger log = LoggerFactory.getLogger("braid.access");

    /** The response header and the forwarded request header naming a request. */
    static final String REQUEST_ID = "X-Request-Id";
    /** Where a client's own well-formed request ID is kept, for correlation on its side. */
    static final String CLIENT_REQUEST_ID = "X-Client-Request-Id";

    private static final Pattern WELL_FORMED_ID = Pattern.compile("[A-Za-z0-9._:+/=-]{1,128}");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH);
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private AccessLog() {
    }

    /** A new request ID: 128 random bits as 32 lower-case hex digits. */
    static String newRequestId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] out = new char[32];
        long hi = r.nextLong();
        long lo = r.nextLong();
        for (int i = 0; i < 16; i++) {
            out[i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xf];
            out[16 + i] = HEX[(int) (lo >>> (60 - 4 * i)) & 0xf];
        }
        return new String(out);
    }

    /**
     * Gives {@code request} the front-end's ID: a client's own {@code X-Request-Id}, when well
     * formed, is kept as {@code X-Client-Request-Id}; a client never chooses the ID itself, since
     * the back-end and origins use it to correlate their logs with this front-end's.
     */
    static void assignId(HttpRequest request, String id) {
        String theirs = request.headers().get(REQUEST_ID);
        request.headers().remove(CLIENT_REQUEST_ID);
        if (theirs != null && request.headers().getAll(REQUEST_ID).size() == 1 && WELL_FORMED_ID.matcher(theirs).matches()) {
            request.headers().set(CLIENT_REQUEST_ID, theirs);
        }
        request.headers().set(REQUEST_ID, id);
    }

    /** What the log says about a request, taken when its head arrives. */
    record Request(String id, String clientAddress, String requestLine, String referer, String userAgent,
                   long startNanos) {

        static Request of(String id, InetSocketAddress client, HttpRequest request, long startNanos) {
            return of(id, client, request, request == null ? null : request.protocolVersion(), startNanos);
        }

        /** @param received the version the client spoke, when it is not the request's own (HTTP/2) */
        static Request of(String id, InetSocketAddress client, HttpRequest request, HttpVersion received,
                          long startNanos) {
            String line = request == null ? "-" : request.method().name() + " " + request.uri() + " " + received.text();
            return new Request(id, client == null ? "-" : client.getAddress().getHostAddress(), line,
                    request == null ? null : request.headers().get(HttpHeaderNames.REFERER),
                    request == null ? null : request.headers().get(HttpHeaderNames.USER_AGENT), startNanos);
        }
    }

    /**
     * Writes one line.
     *
     * @param bytes   response body bytes sent
     * @param cls     the client class, or null before classification
     * @param cache   the X-Cache status, or null when the cache was not asked
     * @param backEnd the back-end that answered, or null
     * @param stream  the TMP stream on its link, or -1
     */
    static void write(Request r, int status, long bytes, String cls, String cache, String backEnd, long stream) {
        if (log.isInfoEnabled()) {
            log.info(format(r, ZonedDateTime.now(ZoneOffset.UTC), System.nanoTime() - r.startNanos(), status, bytes,
                    cls, cache, backEnd, stream));
        }
    }

    static String format(Request r, ZonedDateTime time, long nanos, int status, long bytes, String cls, String cache,
                         String backEnd, long stream) {
        StringBuilder sb = new StringBuilder(256);
        sb.append(r.clientAddress()).append(" - - [").append(TIME.format(time)).append("] \"");
        escaped(sb, r.requestLine());
        sb.append("\" ").append(status).append(' ').append(bytes > 0 ? Long.toString(bytes) : "-").append(" \"");
        escaped(sb, r.referer() == null ? "-" : r.referer());
        sb.append("\" \"");
        escaped(sb, r.userAgent() == null ? "-" : r.userAgent());
        sb.append("\" class=").append(cls == null ? "-" : cls)
                .append(" cache=").append(cache == null ? "-" : cache)
                .append(" backend=").append(backEnd == null ? "-" : backEnd)
                .append(" link=").append(stream < 0 ? "-" : Long.toString(stream))
                .append(" rid=").append(r.id())
                .append(" ms=").append(String.format(Locale.ROOT, "%.2f", nanos / 1e6));
        return sb.toString();
    }

    /** Quotes and control characters cannot end a field early or forge a line. */
    private static void escaped(StringBuilder sb, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
    }
}
