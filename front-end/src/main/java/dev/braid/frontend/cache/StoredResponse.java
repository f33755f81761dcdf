package dev.braid.frontend.cache;

import dev.braid.managers.config.SiteCachePolicy;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One stored response: status, the header fields kept (RFC 9111 §3.1), the body, and what the
 * freshness and Vary calculations need, fixed when it is stored. Immutable but for its hit count:
 * a 304 update makes a new instance sharing the body (§3.2, §4.3.4).
 */
final class StoredResponse {

    final CacheKey key;
    final int status;
    /** Never changed after construction; a copy is made for every response built from it. */
    final HttpHeaders headers;
    final StoredBody body;
    final long requestTime;
    final long responseTime;
    final long dateValue;
    final long correctedInitialAge;
    final long lifetime;
    final CacheControl cc;
    final String etag;
    final Long lastModified;
    /** Lower-case names the response's Vary nominates; empty without Vary. */
    final List<String> varyNames;
    /** Vary contains "*": the response matches no request (§4.1). */
    final boolean varyAll;
    /** The nominated request fields of the request that caused the response to be stored, normalised; null when absent. */
    final Map<String, String> varyValues;
    /** The same fields as received, to synthesise a validation request (§4.3.1). */
    final HttpHeaders varyRequestHeaders;
    final String host;
    final String target;
    final Set<String> surrogateKeys;
    /** The site's policy when the response was stored; a background validation reuses it. */
    final SiteCachePolicy policy;
    final AtomicInteger hits = new AtomicInteger();
    final AtomicBoolean refreshScheduled = new AtomicBoolean();

    StoredResponse(CacheKey key, int status, HttpHeaders headers, StoredBody body, long requestTime, long responseTime,
                   long ageValueSeconds, HttpHeaders request, String host, String target, SiteCachePolicy policy) {
        this.key = key;
        this.status = status;
        this.headers = headers;
        this.body = body;
        this.requestTime = requestTime;
        this.responseTime = responseTime;
        Long date = HttpDates.parse(headers.get(HttpHeaderNames.DATE), responseTime);
        this.dateValue = date != null ? date : responseTime;
        this.correctedInitialAge = Freshness.correctedInitialAgeMillis(ageValueSeconds, dateValue, requestTime,
                responseTime);
        this.cc = CacheControl.ofResponse(headers);
        this.lifetime = Freshness.lifetimeMillis(status, cc, headers, dateValue, policy);
        this.etag = headers.get(HttpHeaderNames.ETAG);
        this.lastModified = HttpDates.parse(headers.get(HttpHeaderNames.LAST_MODIFIED), responseTime);
        this.varyNames = varyNames(headers);
        this.varyAll = varyNames.contains("*");
        this.varyValues = new LinkedHashMap<>();
        this.varyRequestHeaders = new DefaultHttpHeaders();
        for (String name : varyNames) {
            varyValues.put(name, normalised(request, name));
            for (String v : request.getAll(name)) {
                varyRequestHeaders.add(name, v);
            }
        }
        this.host = host;
        this.target = target;
        this.policy = policy;
        Set<String> keys = new LinkedHashSet<>();
        for (String line : headers.getAll(CachedResponses.SURROGATE_KEY)) {
            for (String k : line.trim().split("\\s+")) {
                if (!k.isEmpty()) {
                    keys.add(k);
                }
            }
        }
        this.surrogateKeys = Collections.unmodifiableSet(keys);
    }

    long currentAge(long now) {
        return Freshness.currentAgeMillis(correctedInitialAge, responseTime, now);
    }

    /** How long ago the response became stale (negative while fresh). */
    long staleness(long now) {
        return currentAge(now) - lifetime;
    }

    /** The instant the response stops being fresh. */
    long expiresAt() {
        return responseTime - correctedInitialAge + lifetime;
    }

    boolean hasValidator() {
        return etag != null || lastModified != null;
    }

    /** Whether a request's nominated fields match those of the request this response was stored for (§4.1). */
    boolean matches(HttpHeaders request) {
        if (varyAll) {
            return false;
        }
        for (Map.Entry<String, String> e : varyValues.entrySet()) {
            if (!java.util.Objects.equals(e.getValue(), normalised(request, e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code other} was stored for the same secondary key, so that it replaces this one. */
    boolean sameVariant(StoredResponse other) {
        return varyNames.equals(other.varyNames) && varyValues.equals(other.varyValues);
    }

    /** Memory the entry pins, in bytes, for the cache's weigher. */
    int weight() {
        long w = body.capacity() + 256L;
        for (Map.Entry<String, String> h : headers) {
            w += h.getKey().length() + h.getValue().length() + 32;
        }
        return (int) Math.min(Integer.MAX_VALUE, w);
    }

    static List<String> varyNames(HttpHeaders headers) {
        List<String> names = new ArrayList<>();
        for (String line : headers.getAll(HttpHeaderNames.VARY)) {
            for (String n : line.split(",")) {
                String name = n.trim().toLowerCase(Locale.ROOT);
                if (!name.isEmpty() && !names.contains(name)) {
                    names.add(name);
                }
            }
        }
        return List.copyOf(names);
    }

    /**
     * A request field's value in a form where two requests match exactly when RFC 9111 §4.1 says
     * they do: field lines combined, whitespace around list commas and at the ends removed. Null
     * when the field is absent, which matches only absence.
     */
    static String normalised(HttpHeaders request, String name) {
        List<String> values = request.getAll(name);
        if (values.isEmpty()) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        for (String v : values) {
            for (String member : v.split(",")) {
                if (sb.length() > 0) {
                    sb.append(',');
                }
                sb.append(member.trim().replaceAll("[ \t]+", " "));
            }
        }
        return sb.toString();
    }
}
