package dev.braid.frontend.cache;

import dev.braid.managers.config.CacheSettings;
import dev.braid.managers.config.SiteCachePolicy;
import dev.braid.runtime.Metrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.Function;

/**
 * Drives an {@link HttpCache} the way the gateway does (lookup, serve or fetch, fill, serve from
 * the fill's result), against a scripted origin and in virtual time. Bodies are pooled direct
 * buffers, so the paranoid leak detector checks every ownership hand-over.
 */
final class CacheHarness implements AutoCloseable {

    static final String SITE = "shop";
    static final String HOST = "www.shop.example";

    /** What the scripted origin answers. */
    record Origin(int status, HttpHeaders headers, String body, HttpHeaders trailers) {
        static Origin of(int status, String body, String... headers) {
            HttpHeaders h = new DefaultHttpHeaders();
            for (int i = 0; i < headers.length; i += 2) {
                h.add(headers[i], headers[i + 1]);
            }
            if (status != 304 && !h.contains("Content-Length")) {
                h.set("Content-Length", body.getBytes(StandardCharsets.UTF_8).length);
            }
            return new Origin(status, h, body, null);
        }
    }

    /** What a client got. */
    record Answer(int status, HttpHeaders headers, String body, CacheResult result) {
        String header(String name) {
            return headers.get(name);
        }
    }

    private record Timer(long at, Runnable task) {
    }

    long now = Instant.parse("2025-03-01T12:00:00Z").toEpochMilli();
    final Metrics metrics = new Metrics();
    final HttpCache cache;
    SiteCachePolicy policy = SiteCachePolicy.DEFAULT;
    Function<HttpRequest, Origin> origin = r -> Origin.of(200, "hello", "Cache-Control", "max-age=60");
    final List<HttpRequest> originRequests = new ArrayList<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>(Comparator.comparingLong(Timer::at));
    /** Fills started in the background (refresh, stale-while-revalidate), answered by the origin at once unless held. */
    boolean holdBackground;
    final List<CacheFill> heldFills = new ArrayList<>();

    CacheHarness() {
        this(CacheSettings.DEFAULT);
    }

    CacheHarness(CacheSettings settings) {
        cache = new HttpCache(settings, "fe-1", metrics, () -> now, (task, delay) -> timers.add(new Timer(now + delay,
                task)));
        cache.upstream(fill -> {
            if (holdBackground) {
                heldFills.add(fill);
            } else {
                feed(fill, callOrigin(fill.request()));
            }
        });
    }

    /** Moves the virtual clock, running the timers that fall due. */
    void advance(long millis) {
        long until = now + millis;
        while (!timers.isEmpty() && timers.peek().at() <= until) {
            Timer t = timers.poll();
            now = Math.max(now, t.at());
            t.task().run();
        }
        now = until;
    }

    int pendingTimers() {
        return timers.size();
    }

    static HttpRequest request(HttpMethod method, String target, String... headers) {
        HttpHeaders h = new DefaultHttpHeaders();
        h.set("Host", HOST);
        for (int i = 0; i < headers.length; i += 2) {
            if (headers[i].equalsIgnoreCase("Host")) {
                h.set(headers[i], headers[i + 1]);
            } else {
                h.add(headers[i], headers[i + 1]);
            }
        }
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, target, h);
    }

    Answer get(String target, String... headers) {
        return send(request(HttpMethod.GET, target, headers));
    }

    Answer head(String target, String... headers) {
        return send(request(HttpMethod.HEAD, target, headers));
    }

    /** One request through the cache, as the gateway handles it (its fetches complete synchronously here). */
    Answer send(HttpRequest request) {
        HttpCache.Lookup lookup = cache.lookup(SITE, policy, request);
        return switch (lookup.kind()) {
            case BYPASS -> forward(request, null, CacheResult.BYPASS);
            case HIT, STALE, STALE_REVALIDATE -> {
                CachedResponses.Rendered r = cache.serve(lookup, request);
                yield r == null ? forward(request, null, CacheResult.MISS)
                        : answer(r, lookup.kind() == HttpCache.Lookup.Kind.HIT ? CacheResult.HIT : CacheResult.STALE);
            }
            case GATEWAY_TIMEOUT -> counted(new Answer(504, new DefaultHttpHeaders(), "", CacheResult.MISS));
            default -> fetch(lookup, request, true);
        };
    }

    private Answer fetch(HttpCache.Lookup lookup, HttpRequest request, boolean mayWait) {
        HttpCache.Fetch f = cache.fetch(lookup, request, mayWait);
        switch (f.kind()) {
            case LEAD_ATTACHED, DIRECT:
                return forward(request, f.fill(), CacheResult.MISS);
            case LEAD_DETACHED:
                feed(f.fill(), callOrigin(f.fill().request()));
                return filled(lookup, request, f.fill().result().join(), true);
            default:
                throw new AssertionError("a synchronous harness never finds a fill in flight");
        }
    }

    /** What a request waiting on a fill gets from its result. */
    Answer filled(HttpCache.Lookup lookup, HttpRequest request, CacheFill.Result result, boolean leader) {
        switch (result.outcome()) {
            case STORED: {
                CachedResponses.Rendered r = result.matches(request) ? cache.serve(result, request) : null;
                if (r == null) {
                    return fetch(lookup, request, false);
                }
                return answer(r, result.validated() ? CacheResult.REVALIDATED : leader ? CacheResult.MISS
                        : CacheResult.HIT);
            }
            case UNCACHEABLE: {
                // As the gateway: the leader's request went once already; it is answered with what came back.
                CachedResponses.Rendered r = leader ? cache.serveUnstored(result, request) : null;
                return r != null ? answer(r, CacheResult.MISS) : fetch(lookup, request, false);
            }
            case RELEASED:
                return fetch(lookup, request, false);
            default: {
                CachedResponses.Rendered stale = cache.serveStaleOnError(lookup, request);
                return stale != null ? answer(stale, CacheResult.STALE)
                        : counted(new Answer(result.status(), new DefaultHttpHeaders(), "", CacheResult.MISS));
            }
        }
    }

    /** The request goes to the origin as it is; the response is copied into {@code tee} when given. */
    private Answer forward(HttpRequest request, CacheFill tee, CacheResult result) {
        Origin o = callOrigin(request);
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(o.status()),
                o.headers().copy());
        if (tee != null) {
            feed(tee, o);
        }
        cache.invalidateAfter(SITE, request, head);
        boolean noBody = HttpMethod.HEAD.equals(request.method());
        return counted(new Answer(o.status(), o.headers(), noBody ? "" : o.body(), result));
    }

    Origin callOrigin(HttpRequest request) {
        originRequests.add(request);
        return origin.apply(request);
    }

    /** Feeds a response into a fill in two pieces, as a stream would, each a tracked direct buffer. */
    static void feed(CacheFill fill, Origin o) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(o.status()),
                o.headers().copy());
        if (!fill.head(head)) {
            return;
        }
        byte[] bytes = o.body().getBytes(StandardCharsets.UTF_8);
        int half = bytes.length / 2;
        for (int[] part : new int[][]{{0, half}, {half, bytes.length - half}}) {
            ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(Math.max(1, part[1]));
            try {
                b.writeBytes(bytes, part[0], part[1]);
                if (!fill.content(b)) {
                    return;
                }
            } finally {
                b.release();
            }
        }
        fill.end();
    }

    Answer answer(CachedResponses.Rendered r, CacheResult result) {
        String body = "";
        if (r.body() != null) {
            try {
                body = r.body().toString(StandardCharsets.UTF_8);
            } finally {
                r.body().release();
            }
        }
        return counted(new Answer(r.head().status().code(), r.head().headers(), body, result));
    }

    private Answer counted(Answer a) {
        cache.count(a.result());
        return a;
    }

    int originCalls() {
        return originRequests.size();
    }

    HttpRequest lastOriginRequest() {
        return originRequests.get(originRequests.size() - 1);
    }

    static String date(long millis) {
        return HttpDates.format(millis);
    }

    @Override
    public void close() {
        for (CacheFill f : heldFills) {
            f.abandon("test over");
        }
        cache.close();
    }
}
