package dev.braid.frontend.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.braid.managers.config.CacheSettings;
import dev.braid.managers.config.SiteCachePolicy;
import dev.braid.runtime.Metrics;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * The front-end's shared HTTP cache (RFC 9111, with RFC 5861's stale-while-revalidate and
 * stale-if-error): the store, the decisions for each request, request collapsing, invalidation,
 * purge and the proactive refresh of hot responses.
 *
 * <p><b>Store.</b> A Caffeine cache from {@link CacheKey} (site and effective URI) to the
 * {@link Variants} of that URL, bounded by {@code maxBytes} through a weigher that counts body
 * capacity and header bytes. Bodies live in pooled direct buffers; each stored value owns one
 * reference to each body, released by the removal listener whatever the cause (eviction,
 * replacement, purge, close). The listener runs on the caller's thread, so nothing lingers.
 *
 * <p><b>Decisions.</b> {@link #lookup} is a pure reading of the store against the request and
 * the clock: bypass, fresh hit, stale but servable, in need of validation, miss, or 504 for
 * {@code only-if-cached}. {@link #fetch} then says who goes to the back-end.
 *
 * <p><b>Collapsing.</b> At most one shared {@link CacheFill} per key is in flight. A request that
 * misses while one is in flight waits for its result without blocking anything: the caller hangs
 * a callback on {@link CacheFill#result()} that hands the result to its own event loop. When the
 * fill stores a response, every waiter whose request its Vary matches is answered from it; when
 * the response may not be shared (private, no-store, over the size limit, Vary: *), waiters
 * forward their own requests, and the URL is marked so that requests in the next
 * {@link #PASS_MILLIS} go straight to the back-end instead of queueing one after another (a
 * "hit-for-miss": their responses may still be stored). When the back-end fails, waiters get a
 * stale response where stale-if-error allows it, else the same error status (forwarding a
 * thousand copies of a request to a failing origin would not help it). When the fill is
 * abandoned (its client left), waiters start over once, and one of them leads the next fill.
 *
 * <p>Thread-safe: every method may be called from any event loop; none blocks.
 */
public final class HttpCache implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HttpCache.class);

    /** How long a URL whose response could not be shared skips request collapsing, in ms. */
    public static final long PASS_MILLIS = 10_000;
    /** Most URLs remembered as not shareable. */
    static final int MAX_PASS_MARKERS = 100_000;

    /** Fetches a fill's {@link CacheFill#request()} from a back-end of its site and feeds the fill. Never blocks. */
    public interface Upstream {
        void fetch(CacheFill fill);
    }

    /** Runs a task after a delay, on some event loop (or in a test's virtual time). */
    public interface Scheduler {
        void schedule(Runnable task, long delayMillis);
    }

    /** How to answer one request, as far as the store can say. */
    public static final class Lookup {
        /** What the store holds for the request. */
        public enum Kind {
            /** Not for the cache: forward as is. */
            BYPASS,
            /** Fresh and acceptable to the request: serve. */
            HIT,
            /** Stale, and the request (max-stale) accepts it: serve. */
            STALE,
            /** Stale within stale-while-revalidate: serve, and validate in the background. */
            STALE_REVALIDATE,
            /** Stored but not usable without validation. */
            VALIDATE,
            /** Nothing stored for the request. */
            MISS,
            /** The request said only-if-cached and nothing usable is stored: 504 (§5.2.1.7). */
            GATEWAY_TIMEOUT
        }

        final Kind kind;
        final CacheKey key;
        final StoredResponse stored;
        final CacheControl requestCc;
        final SiteCachePolicy policy;
        final String reason;

        Lookup(Kind kind, CacheKey key, StoredResponse stored, CacheControl requestCc, SiteCachePolicy policy,
               String reason) {
            this.kind = kind;
            this.key = key;
            this.stored = stored;
            this.requestCc = requestCc;
            this.policy = policy;
            this.reason = reason;
        }

        public Kind kind() {
            return kind;
        }

        public String reason() {
            return reason;
        }
    }

    /** Who fetches a request that the store cannot answer. */
    public static final class Fetch {
        public enum Kind {
            /** Another request's fill is in flight: wait for its result. */
            JOIN,
            /** This request leads a new shared fill and is forwarded as it is, its response copied into the fill. */
            LEAD_ATTACHED,
            /**
             * This request leads a new shared fill that needs a request of its own (a validation,
             * or a client request with a range or validators): start {@link CacheFill#request()}
             * upstream and wait for the result like any other waiter.
             */
            LEAD_DETACHED,
            /** Forward the request as it is, not collapsed; {@link #fill()} (possibly null) stores the response. */
            DIRECT
        }

        final Kind kind;
        final CacheFill fill;

        Fetch(Kind kind, CacheFill fill) {
            this.kind = kind;
            this.fill = fill;
        }

        public Kind kind() {
            return kind;
        }

        public CacheFill fill() {
            return fill;
        }
    }

    private final Cache<CacheKey, Variants> store;
    private final Cache<CacheKey, Boolean> pass;
    private final Map<CacheKey, CacheFill> inflight = new ConcurrentHashMap<>();
    private final LongSupplier clock;
    private final Scheduler scheduler;
    private final CacheMetrics metrics;
    private final String via;
    private volatile CacheSettings settings;
    private volatile Upstream upstream;
    private volatile boolean closed;
    /**
     * Purges and invalidations, numbered; a fill remembers the number current when it started and
     * stores nothing that a later entry matches (its response may predate the purge). Entries
     * live while a fill that started before them does ({@link #liveFills}).
     */
    private final java.util.ArrayDeque<Purge> purges = new java.util.ArrayDeque<>();
    private long generation;
    /** Purges take it exclusively: a store's check and insertion cannot straddle a purge's log entry and scan. */
    private final java.util.concurrent.locks.ReadWriteLock purgeLock = new java.util.concurrent.locks.ReentrantReadWriteLock();
    /** Every fill not finished yet, with the purge generation it started at. */
    private final Map<CacheFill, Long> liveFills = new ConcurrentHashMap<>();

    /** Purge log entries kept at most; past it they merge into one entry that matches everything. */
    static final int MAX_PURGE_LOG = 1024;

    private record Purge(long generation, Predicate<CacheKey> keys, Predicate<StoredResponse> responses) {
    }

    /**
     * @param via       this node's name, appended to Via on responses served from the cache
     * @param clock     the current time in epoch milliseconds
     * @param scheduler runs proactive refreshes
     */
    public HttpCache(CacheSettings settings, String via, Metrics metrics, LongSupplier clock, Scheduler scheduler) {
        this.settings = settings;
        this.via = via;
        this.clock = clock;
        this.scheduler = scheduler;
        this.metrics = new CacheMetrics(metrics);
        this.store = Caffeine.newBuilder()
                .maximumWeight(settings.maxBytes())
                .weigher((CacheKey k, Variants v) -> v.weight())
                .executor(Runnable::run)
                .removalListener((CacheKey k, Variants v, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
                    if (v != null) {
                        v.release();
                    }
                    if (cause.wasEvicted()) {
                        this.metrics.evicted();
                    }
                })
                .build();
        this.pass = Caffeine.newBuilder()
                .maximumSize(MAX_PASS_MARKERS)
                .expireAfterWrite(PASS_MILLIS, TimeUnit.MILLISECONDS)
                .ticker(() -> TimeUnit.MILLISECONDS.toNanos(clock.getAsLong()))
                .executor(Runnable::run)
                .build();
        metrics.gauge("braid_frontend_cache_stored_bytes", "Bytes the stored responses pin (bodies and headers)",
                this::weightedSize);
        metrics.gauge("braid_frontend_cache_entries", "Stored responses", this::entries);
    }

    /** Sets who fetches for background validations; until then, none happen. */
    public void upstream(Upstream upstream) {
        this.upstream = upstream;
    }

    /** Applies new settings: the byte budget at once (evicting down to it), the rest for new requests. */
    public void update(CacheSettings next) {
        settings = next;
        store.policy().eviction().ifPresent(e -> e.setMaximum(next.maxBytes()));
        if (!next.enabled()) {
            store.invalidateAll();
        }
    }

    long now() {
        return clock.getAsLong();
    }

    long maxObjectBytes() {
        return settings.maxObjectBytes();
    }

    // ---- decisions ----

    /** Reads the store for {@code request} to {@code site}; see {@link Lookup.Kind}. */
    public Lookup lookup(String site, SiteCachePolicy policy, HttpRequest request) {
        HttpMethod method = request.method();
        HttpHeaders h = request.headers();
        if (closed || !settings.enabled() || !policy.enabled()) {
            return new Lookup(Lookup.Kind.BYPASS, null, null, null, policy, "caching is off");
        }
        if (!HttpMethod.GET.equals(method) && !HttpMethod.HEAD.equals(method)) {
            return new Lookup(Lookup.Kind.BYPASS, null, null, null, policy, "method " + method);
        }
        if (HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0) {
            return new Lookup(Lookup.Kind.BYPASS, null, null, null, policy, "request with a body");
        }
        if (h.contains(HttpHeaderNames.IF_MATCH) || h.contains(HttpHeaderNames.IF_UNMODIFIED_SINCE)) {
            // §4.3.2: these preconditions are for the origin, never evaluated by a cache.
            return new Lookup(Lookup.Kind.BYPASS, null, null, null, policy, "precondition for the origin");
        }
        CacheKey key = CacheKey.of(site, request);
        CacheControl req = CacheControl.ofRequest(h);
        Variants variants = store.getIfPresent(key);
        StoredResponse stored = variants == null ? null : variants.select(h);
        if (stored == null) {
            return new Lookup(req.onlyIfCached ? Lookup.Kind.GATEWAY_TIMEOUT : Lookup.Kind.MISS, key, null, req, policy,
                    "nothing stored");
        }
        long now = clock.getAsLong();
        long age = stored.currentAge(now);
        boolean mustValidate = stored.cc.noCache || req.noCache;
        boolean fresh = stored.lifetime > age;
        boolean ageOk = req.maxAge == CacheControl.ABSENT || age <= req.maxAge * 1000;
        boolean freshEnough = req.minFresh == CacheControl.ABSENT || stored.lifetime - age >= req.minFresh * 1000;
        if (!mustValidate && fresh && ageOk && freshEnough) {
            return new Lookup(Lookup.Kind.HIT, key, stored, req, policy, "fresh");
        }
        if (!mustValidate && !fresh && !stored.cc.staleForbidden()) {
            long staleness = age - stored.lifetime;
            if (req.maxStale != CacheControl.ABSENT && staleness <= req.maxStale * 1000 && ageOk) {
                return new Lookup(Lookup.Kind.STALE, key, stored, req, policy, "max-stale");
            }
            if (stored.cc.staleWhileRevalidate != CacheControl.ABSENT
                    && staleness <= stored.cc.staleWhileRevalidate * 1000
                    && req.maxAge == CacheControl.ABSENT && req.minFresh == CacheControl.ABSENT) {
                return new Lookup(Lookup.Kind.STALE_REVALIDATE, key, stored, req, policy, "stale-while-revalidate");
            }
        }
        if (req.onlyIfCached) {
            return new Lookup(Lookup.Kind.GATEWAY_TIMEOUT, key, stored, req, policy, "only-if-cached");
        }
        return new Lookup(Lookup.Kind.VALIDATE, key, stored, req, policy,
                mustValidate ? "no-cache" : fresh ? "not fresh enough for the request" : "stale");
    }

    /**
     * Decides who fetches for a lookup that found nothing usable (MISS or VALIDATE).
     *
     * @param mayWait false for a request that already waited once: it does not wait again
     */
    public Fetch fetch(Lookup lookup, HttpRequest request, boolean mayWait) {
        CacheKey key = lookup.key;
        boolean head = HttpMethod.HEAD.equals(request.method());
        if (lookup.requestCc.noStore) {
            return new Fetch(Fetch.Kind.DIRECT, null);
        }
        CacheFill running = inflight.get(key);
        if (running != null && mayWait) {
            metrics.collapsed();
            return new Fetch(Fetch.Kind.JOIN, running);
        }
        boolean plain = !head && isPlainGet(request.headers());
        if (head || !mayWait || lookup.kind == Lookup.Kind.MISS && pass.getIfPresent(key) != null) {
            return new Fetch(Fetch.Kind.DIRECT, plain ? newFill(lookup, request, null, false) : null);
        }
        StoredResponse validating = lookup.kind == Lookup.Kind.VALIDATE && lookup.stored.hasValidator()
                ? lookup.stored : null;
        CacheFill fill = newFill(lookup, request, validating, true);
        CacheFill raced = inflight.putIfAbsent(key, fill);
        if (raced != null) {
            metrics.collapsed();
            return new Fetch(Fetch.Kind.JOIN, raced);
        }
        if (plain && validating == null) {
            return new Fetch(Fetch.Kind.LEAD_ATTACHED, fill);
        }
        fill.keepForLeader();
        return new Fetch(Fetch.Kind.LEAD_DETACHED, fill);
    }

    private CacheFill newFill(Lookup lookup, HttpRequest request, StoredResponse validating, boolean shared) {
        return new CacheFill(this, lookup.key, lookup.policy, request.headers().copy(),
                request.headers().get(HttpHeaderNames.HOST), request.uri(), validating, shared);
    }

    /** A GET the cache can forward as it is to fill itself: no range, no validators of the client's own. */
    private static boolean isPlainGet(HttpHeaders h) {
        return !h.contains(HttpHeaderNames.RANGE) && !h.contains(HttpHeaderNames.IF_NONE_MATCH)
                && !h.contains(HttpHeaderNames.IF_MODIFIED_SINCE) && !h.contains(HttpHeaderNames.IF_RANGE);
    }

    // ---- serving ----

    /**
     * The response for a HIT, STALE or STALE_REVALIDATE lookup; for the latter a background
     * validation starts (RFC 5861 §3). Null when the stored body left the cache meanwhile: treat
     * the request as a miss.
     */
    public CachedResponses.Rendered serve(Lookup lookup, HttpRequest request) {
        CachedResponses.Rendered r = CachedResponses.render(lookup.stored, request.method(), request.headers(),
                clock.getAsLong(), via);
        if (r != null) {
            hit(lookup.stored);
            if (lookup.kind == Lookup.Kind.STALE_REVALIDATE) {
                revalidateInBackground(lookup.stored);
            }
        }
        return r;
    }

    /** The response for a request from a fill's stored response (see {@link CacheFill.Result#matches}), or null. */
    public CachedResponses.Rendered serve(CacheFill.Result result, HttpRequest request) {
        if (result.outcome != CacheFill.Outcome.STORED) {
            return null;
        }
        return CachedResponses.render(result.response, request.method(), request.headers(), clock.getAsLong(), via);
    }

    /**
     * The leader's answer from a detached fill's response that could not be stored
     * ({@link CacheFill.Result#unstored()}): the whole response, whatever preconditions or range
     * the request had — with nothing stored for the target the cache must not evaluate them
     * (RFC 9111 §4.3.2), and a full 200 answers any of them correctly. The fill's hold on the
     * body is given up here, the rendered answer holding its own. Null when there is none.
     */
    public CachedResponses.Rendered serveUnstored(CacheFill.Result result, HttpRequest request) {
        StoredResponse r = result.unstored();
        if (r == null) {
            return null;
        }
        try {
            return CachedResponses.render(r, request.method(), new io.netty.handler.codec.http.DefaultHttpHeaders(),
                    clock.getAsLong(), via);
        } finally {
            r.body.release();
        }
    }

    /**
     * The stale stored response of a lookup, when the back-end failed and stale-if-error (of the
     * response or the request, RFC 5861 §4) covers its staleness, and nothing forbids serving it
     * stale (RFC 9111 §4.2.4). Null otherwise.
     */
    public CachedResponses.Rendered serveStaleOnError(Lookup lookup, HttpRequest request) {
        StoredResponse s = lookup.stored;
        if (s == null || s.cc.staleForbidden() || lookup.requestCc.noCache) {
            return null;
        }
        long now = clock.getAsLong();
        long allowed = Math.max(s.cc.staleIfError, lookup.requestCc.staleIfError);
        if (allowed < 0 || s.staleness(now) > allowed * 1000) {
            return null;
        }
        return CachedResponses.render(s, request.method(), request.headers(), now, via);
    }

    /** Counts one request by what the cache did for it. */
    public void count(CacheResult result) {
        metrics.request(result);
    }

    /**
     * Proactive refresh: a response hit {@code refreshMinHits} times within its freshness
     * lifetime is validated in the background shortly before it expires, so the next requests
     * find it fresh.
     */
    private void hit(StoredResponse r) {
        int minHits = settings.refreshMinHits();
        if (minHits <= 0 || r.lifetime <= 0 || r.cc.noCache || r.hits.incrementAndGet() < minHits
                || !r.refreshScheduled.compareAndSet(false, true)) {
            return;
        }
        long delay = refreshDelay(r, settings.refreshAheadSeconds(), clock.getAsLong());
        scheduler.schedule(() -> refreshDue(r), delay);
    }

    /** When, from {@code now}, to refresh a hot response: ahead of expiry by the setting, by at most half its lifetime. */
    static long refreshDelay(StoredResponse r, int aheadSeconds, long now) {
        long lead = Math.min(r.lifetime / 2, aheadSeconds * 1000L);
        return Math.max(0, r.expiresAt() - lead - now);
    }

    private void refreshDue(StoredResponse r) {
        Variants v = store.getIfPresent(r.key);
        if (closed || v == null || !v.responses.contains(r)) {
            return;
        }
        metrics.refreshed();
        revalidateInBackground(r);
    }

    /** Starts a validation of a stored response that no client waits for, unless a fill of its URL is in flight. */
    void revalidateInBackground(StoredResponse r) {
        Upstream u = upstream;
        if (u == null || closed) {
            return;
        }
        HttpHeaders h = new DefaultHttpHeaders();
        if (r.host != null) {
            h.set(HttpHeaderNames.HOST, r.host);
        }
        h.add(r.varyRequestHeaders);
        CacheFill fill = new CacheFill(this, r.key, r.policy, h, r.host, r.target, r.hasValidator() ? r : null, true);
        if (inflight.putIfAbsent(r.key, fill) != null) {
            ended(fill);
            return;
        }
        try {
            u.fetch(fill);
        } catch (RuntimeException e) {
            log.warn("background validation of {} could not start", r.key, e);
            fill.fail(502, e.toString());
        }
    }

    // ---- store ----

    /**
     * Stores {@code r} (taking its body reference), replacing {@code replaced} and any response
     * for the same secondary key, unless a purge or invalidation that matches it came after
     * {@code startedAt} (the generation of the fill that fetched it, which may then carry what the
     * origin held before the purge). Returns null when stored, else why not; a response not
     * stored has its body released.
     */
    String store(StoredResponse r, StoredResponse replaced, long startedAt) {
        if (closed || !settings.enabled()) {
            r.body.release();
            return "the cache is off";
        }
        purgeLock.readLock().lock();
        try {
            String purged = purgedSince(startedAt, r);
            if (purged != null) {
                r.body.release();
                metrics.purgedInFlight();
                return purged;
            }
            insert(r, replaced);
        } finally {
            purgeLock.readLock().unlock();
        }
        pass.invalidate(r.key);
        if (closed) {
            store.invalidate(r.key);
        }
        return null;
    }

    private String purgedSince(long startedAt, StoredResponse r) {
        synchronized (purges) {
            for (java.util.Iterator<Purge> it = purges.descendingIterator(); it.hasNext(); ) {
                Purge p = it.next();
                if (p.generation() <= startedAt) {
                    return null;
                }
                if (p.keys().test(r.key) && p.responses().test(r)) {
                    return "purged while the fetch was in flight";
                }
            }
            return null;
        }
    }

    private void insert(StoredResponse r, StoredResponse replaced) {
        store.asMap().compute(r.key, (k, old) -> {
            List<StoredResponse> kept = new ArrayList<>();
            if (old != null) {
                List<StoredResponse> others = new ArrayList<>();
                for (StoredResponse o : old.responses) {
                    if (o != replaced && !o.sameVariant(r)) {
                        others.add(o);
                    }
                }
                // Keep the newest others, within the variant limit.
                for (int i = Math.max(0, others.size() - (Variants.MAX_VARIANTS - 1)); i < others.size(); i++) {
                    if (others.get(i).body.tryRetain()) {
                        kept.add(others.get(i));
                    }
                }
            }
            kept.add(r);
            return new Variants(kept);
        });
    }

    /** The purge generation a fill starting now remembers; registers {@code fill} as live. */
    long started(CacheFill fill) {
        synchronized (purges) {
            liveFills.put(fill, generation);
            return generation;
        }
    }

    /** A fill ended, stored or not: it no longer needs the purges after its start. */
    void ended(CacheFill fill) {
        synchronized (purges) {
            liveFills.remove(fill);
            if (liveFills.isEmpty()) {
                purges.clear();
            }
        }
    }

    /**
     * Logs a purge for the fills in flight and removes what the store holds that it matches, as
     * one step no store can come between.
     */
    private int purgeAndLog(Predicate<CacheKey> keys, Predicate<StoredResponse> responses) {
        return purgeAndLog(keys, responses, null);
    }

    /** @param exact the keys {@code keys} matches, when known: they are removed without a scan of the store */
    private int purgeAndLog(Predicate<CacheKey> keys, Predicate<StoredResponse> responses,
                            java.util.Collection<CacheKey> exact) {
        purgeLock.writeLock().lock();
        try {
            synchronized (purges) {
                long oldest = liveFills.values().stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
                // Entries no live fill started before are of no use any more.
                while (!purges.isEmpty() && purges.peekFirst().generation() <= oldest) {
                    purges.pollFirst();
                }
                generation++;
                if (!liveFills.isEmpty()) {
                    if (purges.size() >= MAX_PURGE_LOG) {
                        // Too many purges to keep apart: every fill in flight now stores nothing.
                        purges.clear();
                        purges.add(new Purge(generation, k -> true, r -> true));
                    } else {
                        purges.add(new Purge(generation, keys, responses));
                    }
                }
            }
            int n = 0;
            for (CacheKey k : exact != null ? exact : new ArrayList<>(store.asMap().keySet())) {
                if (keys.test(k)) {
                    n += removeWhere(k, responses);
                }
            }
            return n;
        } finally {
            purgeLock.writeLock().unlock();
        }
    }

    /** Purge entries kept for fills in flight; for tests. */
    int purgeLogSize() {
        synchronized (purges) {
            return purges.size();
        }
    }

    /** Removes one stored response (its URL's other variants stay). */
    void remove(StoredResponse r) {
        removeWhere(r.key, x -> x == r);
    }

    /** Removes the responses of {@code key} that match; returns how many. */
    private int removeWhere(CacheKey key, Predicate<StoredResponse> doomed) {
        int[] removed = {0};
        store.asMap().computeIfPresent(key, (k, old) -> {
            if (old.responses.stream().noneMatch(doomed)) {
                return old;
            }
            List<StoredResponse> kept = new ArrayList<>();
            for (StoredResponse o : old.responses) {
                if (doomed.test(o)) {
                    removed[0]++;
                } else if (o.body.tryRetain()) {
                    kept.add(o);
                }
            }
            return kept.isEmpty() ? null : new Variants(kept);
        });
        return removed[0];
    }

    void markPass(CacheKey key) {
        pass.put(key, Boolean.TRUE);
    }

    void fillDone(CacheFill fill) {
        inflight.remove(fill.key, fill);
    }

    // ---- invalidation and purge ----

    /**
     * RFC 9111 §4.4: after a non-error response (2xx, 3xx) to an unsafe method, invalidates the
     * target URI and the URIs in Location and Content-Location that share its origin.
     */
    public void invalidateAfter(String site, HttpRequest request, HttpResponse response) {
        int status = response.status().code();
        HttpMethod m = request.method();
        if (status < 200 || status >= 400 || HttpMethod.GET.equals(m) || HttpMethod.HEAD.equals(m)
                || HttpMethod.OPTIONS.equals(m) || HttpMethod.TRACE.equals(m)) {
            return;
        }
        String target = CacheKey.effectiveUri(request.headers().get(HttpHeaderNames.HOST), request.uri());
        java.util.Set<CacheKey> doomed = new java.util.HashSet<>();
        doomed.add(new CacheKey(site, target));
        for (CharSequence field : List.of(HttpHeaderNames.LOCATION, HttpHeaderNames.CONTENT_LOCATION)) {
            String value = response.headers().get(field);
            if (value == null) {
                continue;
            }
            String other = sameOrigin(target, value);
            if (other != null) {
                doomed.add(new CacheKey(site, other));
            }
        }
        // A fetch of these URLs already in flight may carry the state before the unsafe request.
        purgeAndLog(doomed::contains, r -> true, doomed);
    }

    /** {@code reference} resolved against {@code base}, normalised, if it has the same origin; else null. */
    static String sameOrigin(String base, String reference) {
        try {
            URI b = URI.create(base);
            URI r = b.resolve(reference.trim());
            if (!"http".equalsIgnoreCase(r.getScheme()) || r.getRawAuthority() == null) {
                return null;
            }
            String resolved = CacheKey.effectiveUri(null, "http://" + r.getRawAuthority()
                    + (r.getRawPath() == null || r.getRawPath().isEmpty() ? "/" : r.getRawPath())
                    + (r.getRawQuery() == null ? "" : "?" + r.getRawQuery()));
            String origin = base.substring(0, base.indexOf('/', 7));
            return resolved.startsWith(origin + "/") ? resolved : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Removes every stored response of a URL (any site); returns how many. {@code url} must be normalised. */
    public int purgeUrl(String url) {
        return purge(k -> k.uri().equals(url), r -> true);
    }

    /** Removes every stored response whose URL starts with {@code prefix} (normalised). */
    public int purgePrefix(String prefix) {
        return purge(k -> k.uri().startsWith(prefix), r -> true);
    }

    /** Removes every stored response whose Surrogate-Key field lists {@code key}. */
    public int purgeSurrogateKey(String key) {
        return purge(k -> true, r -> r.surrogateKeys.contains(key));
    }

    /** Removes every stored response. */
    public int purgeAll() {
        return purge(k -> true, r -> true);
    }

    private int purge(Predicate<CacheKey> keys, Predicate<StoredResponse> responses) {
        int n = purgeAndLog(keys, responses);
        metrics.purged(n);
        return n;
    }

    // ---- state ----

    /** Bytes the stored responses weigh. */
    public long weightedSize() {
        return store.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
    }

    /** Stored responses, all variants counted. */
    public long entries() {
        long n = 0;
        for (Variants v : store.asMap().values()) {
            n += v.responses.size();
        }
        return n;
    }

    /** Shared fills in flight. */
    public int fillsInFlight() {
        return inflight.size();
    }

    long requests(CacheResult result) {
        return metrics.requests(result);
    }

    /** Releases every stored body; later fills are not stored. */
    @Override
    public void close() {
        closed = true;
        store.invalidateAll();
        store.cleanUp();
        pass.invalidateAll();
    }
}
