package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.managers.config.RequestType;
import dev.braid.managers.config.Site;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Sends one site's requests to its origins: runs the {@link OriginSelector} over the origins'
 * state, holds requests in the site's {@link RequestQueue} when every origin is at its high water
 * mark, releases the next one each time a request finishes (so the number in flight per origin
 * stays steady), answers those whose deadline passes with a 503, and keeps each origin's
 * {@link OriginHealth} from probes and from what exchanges report.
 *
 * <p>All of its state lives on one event loop; exchanges on other loops reach it through queued
 * commands ({@link #submit}, {@link #responded}, {@link #release}, {@link #retry}) and hear back
 * on their own loop through {@link Client}.
 */
final class SiteDispatcher {

    private static final Logger log = LoggerFactory.getLogger(SiteDispatcher.class);

    /** An exchange waiting for an origin. Its methods are called on its own loop. */
    interface Client {
        EventLoop loop();

        /** The ticket got {@code origin}; connect to {@code target}. */
        void assigned(Ticket ticket, OriginTarget target);

        /** No origin will take the request: answer it with {@code status} and why. */
        void refused(Ticket ticket, int status, String reason, int retryAfterSeconds);
    }

    /** How an exchange's use of an origin ended. */
    enum Outcome {
        /** The response ended (its status was reported by {@link #responded}). */
        COMPLETED,
        /** The origin could not be reached (connect or TLS failure): the request never left. */
        CONNECT_FAILED,
        /** The origin closed or broke the connection. */
        RESET,
        /** The origin sent no response head in time. */
        TIMEOUT,
        /** The client went away or the stream was reset: says nothing of the origin. */
        CANCELLED
    }

    /** One request's claim on the site's origins. State other than the final fields is the dispatcher's. */
    static final class Ticket {
        final Client client;
        final RequestType type;
        final int ring;
        private final Set<String> excluded = new HashSet<>(2);
        private RequestQueue.Entry<Ticket> entry;
        private OriginState origin;
        private boolean done;

        Ticket(Client client, RequestType type, int ring) {
            this.client = client;
            this.type = type;
            this.ring = ring;
        }

        @Override
        public String toString() {
            return type.name() + " request on ring " + ring;
        }
    }

    private final BackEnd backEnd;
    private final EventLoop loop;
    private final String siteName;
    private volatile Site site;
    private volatile RequestTyper typer;
    private volatile List<OriginState> origins = List.of();
    private final RequestQueue<Ticket> queue = new RequestQueue<>();
    private volatile int queueDepth;
    private ScheduledFuture<?> expiryTimer;
    private long expiryAt = Long.MAX_VALUE;
    private final List<ScheduledFuture<?>> probes = new ArrayList<>();
    private boolean retired;

    SiteDispatcher(BackEnd backEnd, EventLoop loop, Site site) {
        this.backEnd = backEnd;
        this.loop = loop;
        this.siteName = site.name();
        this.site = site;
        this.typer = new RequestTyper(site.requestTypes());
        loop.execute(() -> apply(site));
    }

    String siteName() {
        return siteName;
    }

    /** Types requests with the site's current rules; any thread. */
    RequestType type(String method, String uri, io.netty.handler.codec.http.HttpHeaders headers) {
        return typer.type(method, uri, headers);
    }

    /** The origins as last applied (for metrics and stats; their counters are volatile). */
    List<OriginState> origins() {
        return origins;
    }

    int queueDepth() {
        return queueDepth;
    }

    // ---- commands from exchanges (any thread) ----

    void submit(Ticket t) {
        loop.execute(() -> place(t));
    }

    /** The origin answered the ticket's request with {@code status} (a passive health signal). */
    void responded(Ticket t, int status) {
        loop.execute(() -> {
            OriginState o = t.origin;
            if (o != null) {
                long now = System.nanoTime();
                healthChanged(o, o.health().response(status, now, othersAvailable(o, now)));
            }
        });
    }

    /** The exchange is done with its ticket. */
    void release(Ticket t, Outcome outcome, String detail) {
        loop.execute(() -> {
            if (t.done) {
                return;
            }
            t.done = true;
            if (t.entry != null) {
                queue.remove(t.entry);
                t.entry = null;
                queueDepth = queue.size();
                return;
            }
            OriginState o = t.origin;
            if (o != null) {
                t.origin = null;
                o.finished(t.type);
                report(o, outcome, detail);
                dispatchWaiting();
            }
        });
    }

    /** The ticket's origin failed before answering; place the request again, avoiding that origin. */
    void retry(Ticket t, Outcome outcome, String detail) {
        loop.execute(() -> {
            if (t.done) {
                return;
            }
            OriginState o = t.origin;
            if (o != null) {
                t.origin = null;
                t.excluded.add(o.name());
                o.finished(t.type);
                report(o, outcome, detail);
                backEnd.metrics().retry(siteName, outcome == Outcome.CONNECT_FAILED ? "connect" : "reset");
            }
            place(t);
            dispatchWaiting();
        });
    }

    // ---- the dispatcher loop ----

    private void place(Ticket t) {
        if (t.done) {
            return;
        }
        if (retired) {
            refuse(t, 503, "site " + siteName + " is no longer served by this back-end", 1);
            return;
        }
        long now = System.nanoTime();
        OriginSelector.Choice c = OriginSelector.choose(origins, t.type, t.excluded, now);
        switch (c.verdict()) {
            case CHOSEN -> assign(t, c.origin());
            case NO_ORIGIN -> refuse(t, 502, t.excluded.isEmpty()
                    ? "site " + siteName + " has no usable origin for " + t.type.name() + " requests"
                    : "no origin of site " + siteName + " other than " + t.excluded + " serves " + t.type.name()
                    + " requests", 0);
            case NONE_HEALTHY, ALL_BUSY -> enqueue(t, now);
        }
    }

    private void assign(Ticket t, OriginState o) {
        t.origin = o;
        o.started(t.type);
        backEnd.metrics().request(siteName, o.name(), t.type.name());
        OriginTarget target = o.target();
        t.client.loop().execute(() -> t.client.assigned(t, target));
    }

    private void refuse(Ticket t, int status, String reason, int retryAfter) {
        t.done = true;
        t.client.loop().execute(() -> t.client.refused(t, status, reason, retryAfter));
    }

    private void enqueue(Ticket t, long now) {
        Site s = site;
        RequestQueue.Offer<Ticket> offer = queue.offer(t, t.ring, now, s.queue().timeoutMillis() * 1_000_000L,
                s.queue().maxRequests());
        if (offer.queued() != null) {
            t.entry = offer.queued();
        }
        if (offer.refused() != null) {
            Ticket out = offer.refused().value;
            out.entry = null;
            backEnd.metrics().queueRefused(siteName, "full");
            refuse(out, 503, "every origin of site " + siteName + " is busy and " + s.queue().maxRequests()
                    + " requests of higher or equal priority are waiting", s.queue().retryAfterSeconds());
        }
        queueDepth = queue.size();
        armExpiry();
    }

    /** Releases waiting requests, highest priority first, while origins have room for them. */
    private void dispatchWaiting() {
        if (queue.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        for (Iterator<RequestQueue.Entry<Ticket>> it = queue.inOrder(); it.hasNext(); ) {
            if (!anyRoom(now)) {
                break;
            }
            Ticket t = it.next().value;
            OriginSelector.Choice c = OriginSelector.choose(origins, t.type, t.excluded, now);
            if (c.verdict() == OriginSelector.Verdict.CHOSEN) {
                it.remove();
                t.entry = null;
                assign(t, c.origin());
            } else if (c.verdict() == OriginSelector.Verdict.NO_ORIGIN) {
                it.remove();
                t.entry = null;
                refuse(t, 502, "no origin of site " + siteName + " serves " + t.type.name() + " requests any more", 0);
            }
        }
        queueDepth = queue.size();
    }

    private boolean anyRoom(long now) {
        for (OriginState o : origins) {
            if (o.inFlight() < o.highWaterMark() && o.available(now)) {
                return true;
            }
        }
        return false;
    }

    private void armExpiry() {
        long next = queue.nextDeadline();
        if (next == Long.MAX_VALUE || next >= expiryAt && expiryTimer != null) {
            return;
        }
        if (expiryTimer != null) {
            expiryTimer.cancel(false);
        }
        expiryAt = next;
        expiryTimer = loop.schedule(this::expire, Math.max(0, next - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private void expire() {
        expiryTimer = null;
        expiryAt = Long.MAX_VALUE;
        long now = System.nanoTime();
        Site s = site;
        for (RequestQueue.Entry<Ticket> e : queue.expire(now)) {
            Ticket t = e.value;
            t.entry = null;
            boolean anyHealthy = origins.stream().anyMatch(o -> o.serves(t.type.name()) && o.available(now));
            backEnd.metrics().queueRefused(siteName, "timeout");
            refuse(t, 503, "waited " + s.queue().timeoutMillis() + " ms for an origin of site " + siteName + ": "
                    + (anyHealthy ? "every origin that serves " + t.type.name() + " requests is at its high water mark"
                    : "no origin that serves " + t.type.name() + " requests is healthy"), s.queue().retryAfterSeconds());
        }
        queueDepth = queue.size();
        armExpiry();
    }

    private void report(OriginState o, Outcome outcome, String detail) {
        long now = System.nanoTime();
        switch (outcome) {
            case CONNECT_FAILED, RESET, TIMEOUT -> {
                o.failed();
                backEnd.metrics().originError(siteName, o.name(), outcome.name().toLowerCase(java.util.Locale.ROOT));
                healthChanged(o, o.health().failed(detail, now, othersAvailable(o, now)));
            }
            default -> {
            }
        }
    }

    /** Whether an origin of the site other than {@code o} takes requests: passive signals may then eject {@code o}. */
    private boolean othersAvailable(OriginState o, long now) {
        for (OriginState other : origins) {
            if (other != o && other.available(now)) {
                return true;
            }
        }
        return false;
    }

    private void healthChanged(OriginState o, OriginHealth.Change change) {
        switch (change) {
            case EJECTED -> {
                log.warn("site {}: origin {} ejected: {}", siteName, o.name(), o.health().reason());
                backEnd.metrics().ejected(siteName, o.name());
                o.ejected();
                o.available(System.nanoTime());
                if (!o.health().probing()) {
                    loop.schedule(this::dispatchWaiting, o.origin().health().ejectMillis(), TimeUnit.MILLISECONDS);
                }
            }
            case KEPT -> log.warn("site {}: origin {} {}: it keeps taking requests", siteName, o.name(),
                    o.health().reason());
            case RETURNED -> {
                log.info("site {}: origin {} is healthy again", siteName, o.name());
                o.available(System.nanoTime());
                dispatchWaiting();
            }
            default -> {
            }
        }
    }

    // ---- configuration ----

    /** Applies a new version of the site (same name). Any thread. */
    void update(Site newSite) {
        loop.execute(() -> apply(newSite));
    }

    private void apply(Site s) {
        if (retired) {
            return;
        }
        site = s;
        typer = new RequestTyper(s.requestTypes());
        Map<String, OriginState> old = new HashMap<>();
        for (OriginState o : origins) {
            old.put(o.name(), o);
        }
        List<OriginState> next = new ArrayList<>();
        for (Origin o : s.origins()) {
            OriginState st = old.remove(o.name());
            if (st == null) {
                st = new OriginState(o);
            } else {
                st.update(o);
            }
            if (st.target() == null || !st.target().sameAs(o)) {
                if (st.target() != null) {
                    backEnd.pool().retire(st.target());
                }
                try {
                    st.target(OriginTarget.of(siteName, o));
                    st.unusable(null);
                } catch (IllegalArgumentException e) {
                    log.error("site {}: origin {} cannot be used: {}", siteName, o.name(), e.getMessage());
                    st.target(null);
                    st.unusable(e.getMessage());
                }
            }
            next.add(st);
        }
        for (OriginState gone : old.values()) {
            if (gone.target() != null) {
                backEnd.pool().retire(gone.target());
            }
        }
        origins = List.copyOf(next);
        startProbes();
        dispatchWaiting();
    }

    private void startProbes() {
        probes.forEach(p -> p.cancel(false));
        probes.clear();
        String host = site.hostnames().isEmpty() ? siteName : site.hostnames().get(0);
        for (OriginState o : origins) {
            var check = o.origin().health();
            if (check.path() == null || o.target() == null) {
                continue;
            }
            OriginTarget target = o.target();
            probes.add(loop.scheduleWithFixedDelay(() -> probe(o, target, check.path(), host, check.timeoutMillis()),
                    0, check.intervalMillis(), TimeUnit.MILLISECONDS));
        }
    }

    private void probe(OriginState o, OriginTarget target, String path, String host, int timeoutMillis) {
        io.netty.util.concurrent.Future<Integer> f = backEnd.pool().probe(loop, target, path, host, timeoutMillis);
        f.addListener(x -> {
            if (retired || o.target() != target) {
                return;
            }
            boolean ok = f.isSuccess() && f.getNow() < 400;
            String detail = f.isSuccess() ? "status " + f.getNow() : String.valueOf(f.cause());
            backEnd.metrics().probe(siteName, o.name(), ok);
            healthChanged(o, o.health().probe(ok, detail, System.nanoTime()));
        });
    }

    /** Stops probing and answers every waiting request with a 503. Any thread. */
    void retire() {
        loop.execute(() -> {
            retired = true;
            probes.forEach(p -> p.cancel(false));
            probes.clear();
            for (RequestQueue.Entry<Ticket> e : queue.clear()) {
                e.value.entry = null;
                refuse(e.value, 503, "site " + siteName + " is no longer served by this back-end", 1);
            }
            queueDepth = 0;
            for (OriginState o : origins) {
                if (o.target() != null) {
                    backEnd.pool().retire(o.target());
                }
            }
        });
    }
}
