package dev.braid.frontend.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

import java.util.ArrayList;
import java.util.List;

/**
 * Preconditions between this cache and its neighbours: evaluating a client's conditional request
 * against a stored response (RFC 9111 §4.3.2, RFC 9110 §13), and adding the stored response's
 * validators to a validation request (RFC 9111 §4.3.1).
 */
final class Conditionals {

    private Conditionals() {
    }

    /**
     * Whether a request for {@code stored} is answered 304 Not Modified. Only stored 200 responses
     * are evaluated (§4.3.2). If-None-Match takes precedence; If-Modified-Since counts only
     * without it, for GET and HEAD, with one valid date (RFC 9110 §13.1.3), and compares with
     * Last-Modified, else Date (which is the receipt time when absent).
     */
    static boolean notModified(HttpMethod method, HttpHeaders request, StoredResponse stored, long now) {
        if (stored.status != 200 || !(HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method))) {
            return false;
        }
        List<String> inm = request.getAll(HttpHeaderNames.IF_NONE_MATCH);
        if (!inm.isEmpty()) {
            for (String tag : entityTags(inm)) {
                if (tag.equals("*") || stored.etag != null && weakEquals(tag, stored.etag)) {
                    return true;
                }
            }
            return false;
        }
        List<String> ims = request.getAll(HttpHeaderNames.IF_MODIFIED_SINCE);
        if (ims.size() != 1) {
            return false;
        }
        Long since = HttpDates.parse(ims.get(0), now);
        if (since == null) {
            return false;
        }
        long modified = stored.lastModified != null ? stored.lastModified : stored.dateValue;
        return modified <= since;
    }

    /**
     * Whether If-Range lets a Range apply (RFC 9110 §13.1.5): an entity tag must match the stored
     * one by strong comparison; a date must equal a strong Last-Modified (one at least a second
     * before Date, §8.8.2.2). Without If-Range, the range applies.
     */
    static boolean rangeApplies(HttpHeaders request, StoredResponse stored) {
        String ifRange = request.get(HttpHeaderNames.IF_RANGE);
        if (ifRange == null) {
            return true;
        }
        String v = ifRange.trim();
        if (v.startsWith("\"") || v.startsWith("W/")) {
            return stored.etag != null && strongEquals(v, stored.etag);
        }
        Long date = HttpDates.parse(v, stored.responseTime);
        return date != null && stored.lastModified != null && date.longValue() == stored.lastModified
                && stored.dateValue - stored.lastModified >= 1000;
    }

    /**
     * Adds the validators of {@code stored} to a validation request (§4.3.1): its entity tag in
     * If-None-Match (a MUST when it has one) and its Last-Modified in If-Modified-Since.
     */
    static void addValidators(HttpHeaders request, StoredResponse stored) {
        if (stored.etag != null) {
            request.set(HttpHeaderNames.IF_NONE_MATCH, stored.etag);
        }
        String lastModified = stored.headers.get(HttpHeaderNames.LAST_MODIFIED);
        if (lastModified != null && stored.lastModified != null) {
            request.set(HttpHeaderNames.IF_MODIFIED_SINCE, lastModified);
        }
    }

    static boolean isWeak(String etag) {
        return etag.startsWith("W/");
    }

    static boolean weakEquals(String a, String b) {
        return opaque(a).equals(opaque(b));
    }

    static boolean strongEquals(String a, String b) {
        return !isWeak(a) && !isWeak(b) && a.trim().equals(b.trim());
    }

    private static String opaque(String etag) {
        String t = etag.trim();
        return isWeak(t) ? t.substring(2) : t;
    }

    /** The members of an If-None-Match list; commas inside quoted tags are kept. */
    static List<String> entityTags(List<String> lines) {
        List<String> tags = new ArrayList<>();
        for (String line : lines) {
            int i = 0;
            while (i < line.length()) {
                char c = line.charAt(i);
                if (c == ',' || c == ' ' || c == '\t') {
                    i++;
                    continue;
                }
                int start = i;
                if (line.startsWith("W/", i)) {
                    i += 2;
                }
                if (i < line.length() && line.charAt(i) == '"') {
                    int close = line.indexOf('"', i + 1);
                    i = close < 0 ? line.length() : close + 1;
                } else {
                    while (i < line.length() && line.charAt(i) != ',') {
                        i++;
                    }
                }
                tags.add(line.substring(start, i).trim());
            }
        }
        return tags;
    }
}
