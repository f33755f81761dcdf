package dev.braid.backend;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.Site;
import dev.braid.managers.config.TmpSettings;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.tmp.LinkConfig;
import dev.braid.tmp.LinkCore;
import dev.braid.tmp.LinkSettings;
import dev.braid.tmp.ResetCode;
import dev.braid.tmp.TmpLink;
import dev.braid.tmp.TmpServer;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import dev.braid.tmp.security.LinkTls;
import dev.braid.tmp.security.PeerIdentity;
import io.netty.buffer.ByteBuf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The back-end role (FIG. 5 and FIG. 7 of the conductor-gateway design): accepts TMP links from
 * front-ends and turns each stream into a request to one of the site's redundant origins, chosen
 * by freshness, load in flight, request type and health, waiting in the site's queue when every
 * origin is busy; the response goes back over the same stream at the stream's priority.
 *
 * <p>{@link #close()} drains: new streams are refused, requests in flight get up to
 * {@link #DEFAULT_DRAIN} to finish, then the links close with GOAWAY.
 */
public final class BackEnd implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BackEnd.class);

    /** How long {@link #close()} lets requests in flight finish. */
    public static final Duration DEFAULT_DRAIN = Duration.ofSeconds(10);

    /**
     * @param name   this node's name (as in the configuration; it appears in Via)
     * @param listen TMP address to accept links on
     */
    public record Options(String name, InetSocketAddress listen, EventLoops loops, Metrics metrics,
                          BraidConfig config) {
        public Options {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(loops, "loops");
            Objects.requireNonNull(metrics, "metrics");
            Objects.requireNonNull(config, "config");
        }
    }

    private final String name;
    private final EventLoops loops;
    private final AtomicReference<BraidConfig> config;
    private final OriginPool pool;
    private final BackEndMetrics metrics;
    private final Map<String, SiteDispatcher> dispatchers = new ConcurrentHashMap<>();
    private final AtomicInteger activeExchanges = new AtomicInteger();
    private volatile boolean draining;
    private final TmpServer server;
    /** TLS of the TMP links over TCP, or null when this node has no certificate. */
    private final LinkTls tls;
    /** The UDP carrier's Noise keys and peer checks; null without a PKI (plain text, logged loudly). */
    private final dev.braid.tmp.UdpSecurity udpSecurity;
    private boolean closed;

    private BackEnd(Options options) {
        this.name = options.name();
        this.loops = options.loops();
        this.config = new AtomicReference<>(options.config());
        this.pool = new OriginPool(options.loops().transport());
        this.metrics = new BackEndMetrics(options.metrics());
        applySites(options.config());
        // First: tmp.security required without an identity stops the node here, before anything starts.
        this.udpSecurity = LinkConfig.udpSecurity(options.config(), PeerIdentity.BACK_END, name, PeerIdentity.FRONT_END);
        this.tls = LinkConfig.linkTls(options.config(), PeerIdentity.BACK_END, name, options.metrics());
        LinkSettings link = LinkConfig.linkSettings(options.config());
        if (udpSecurity != null) {
            link = link.withDatagram(link.datagram().withSecurity(udpSecurity));
            udpSecurity.registerMetrics(options.metrics());
        }
        try {
            this.server = TmpServer.start(options.loops(), options.listen(), link, name,
                    new LinkCore.Listener() {
                        @Override
                        public TmpStreamHandler onStreamOpened(TmpStream stream) {
                            return accept(stream);
                        }
                    }, tls);
        } catch (RuntimeException e) {
            if (tls != null) {
                tls.close();
            }
            if (udpSecurity != null) {
                udpSecurity.close();
            }
            throw e;
        }
        Metrics m = options.metrics();
        m.gauge("braid_link_tcp_tls", "1 when TMP links over TCP use TLS with this node's certificate, 0 in clear text",
                () -> tls == null ? 0 : 1);
        m.gauge("braid_backend_links", "TMP links from front-ends currently up", () -> server.links().size());
        dev.braid.tmp.LinkMetrics.register(m, server::links);
        m.counters("braid_link_sent_bytes_total",
                "Stream bytes sent over TMP links, by peer and blender ring", () -> sentByRing(server.links()),
                "peer", "ring");
        m.gauge("braid_backend_exchanges_active", "Streams being answered, waiting ones included",
                activeExchanges::get);
        m.gauge("braid_backend_origin_connections", "Open connections to origins, idle ones and probes included",
                pool::openConnections);
        m.gauges("braid_backend_origin_in_flight", "Requests in flight to each origin",
                () -> perOrigin(o -> (double) o.inFlight()), "site", "origin");
        m.gauges("braid_backend_origin_healthy", "1 while an origin takes requests, 0 while it is ejected",
                () -> perOrigin(o -> o.healthy() ? 1.0 : 0.0), "site", "origin");
        m.gauges("braid_backend_queue_depth", "Requests waiting for an origin, by site", () -> {
            Map<List<String>, Double> out = new HashMap<>();
            dispatchers.forEach((site, d) -> out.put(List.of(site), (double) d.queueDepth()));
            return out;
        }, "site");
        log.info("back-end {}: TMP on {} ({}; TCP {})", name, server.localAddress(),
                server.udpEnabled() ? "UDP and TCP" : "TCP", tls == null ? "in clear text" : "over TLS as " + tls.self());
    }

    public static BackEnd start(Options options) {
        return new BackEnd(options);
    }

    private TmpStreamHandler accept(TmpStream stream) {
        if (draining) {
            stream.reset(ResetCode.REFUSED, "back-end " + name + " is draining; open the stream on another back-end");
            return new Discard();
        }
        metrics.stream(stream.clientClass());
        activeExchanges.incrementAndGet();
        return new OriginExchange(this, stream);
    }

    private Map<List<String>, Double> perOrigin(java.util.function.ToDoubleFunction<OriginState> value) {
        Map<List<String>, Double> out = new HashMap<>();
        dispatchers.forEach((site, d) -> {
            for (OriginState o : d.origins()) {
                out.put(List.of(site, o.name()), value.applyAsDouble(o));
            }
        });
        return out;
    }

    static Map<List<String>, Double> sentByRing(Collection<TmpLink> links) {
        Map<List<String>, Double> samples = new HashMap<>();
        for (TmpLink link : links) {
            long[] bytes = link.sentBytesByRing();
            for (int ring = 0; ring < bytes.length; ring++) {
                samples.merge(List.of(link.peerName(), Integer.toString(ring)), (double) bytes[ring], Double::sum);
            }
        }
        return samples;
    }

    /** The links currently up (one per front-end). */
    public Set<TmpLink> links() {
        return server.links();
    }

    /** {@code tmp.security: plaintext}: TMP links in clear text on both carriers, identity or not. */
    /** The UDP carrier's security as {@code tmp.security} asks; null for plain text. */
    /**
     * Applies a new configuration version: sites, origins, request types and queues for new
     * requests (requests in flight keep their origin), blender weights on every link.
     */
    public void update(BraidConfig newConfig) {
        config.set(newConfig);
        applySites(newConfig);
        if (udpSecurity != null) {
            udpSecurity.updateCrls(newConfig.pki().crls());
        }
        if (tls != null) {
            // New CRLs close the links of peers they revoke; paths in pki take effect at restart.
            tls.updateCrls(newConfig.pki().crls());
        }
        LinkSettings settings = LinkConfig.linkSettings(newConfig);
        for (TmpLink link : server.links()) {
            link.updateBlender(settings.blender());
        }
    }

    private synchronized void applySites(BraidConfig newConfig) {
        for (Site site : newConfig.sites()) {
            SiteDispatcher d = dispatchers.get(site.name());
            if (d == null) {
                dispatchers.put(site.name(), new SiteDispatcher(this, loops.group().next(), site));
            } else {
                d.update(site);
            }
        }
        for (String gone : new ArrayList<>(dispatchers.keySet())) {
            if (newConfig.site(gone) == null) {
                dispatchers.remove(gone).retire();
            }
        }
    }

    /**
     * A snapshot of every origin of every site: health, requests in flight, queue depth and
     * totals. Any thread; the counters are read without stopping traffic, so they may be a
     * request apart.
     */
    public List<OriginStats> originStats() {
        List<OriginStats> out = new ArrayList<>();
        dispatchers.forEach((site, d) -> {
            for (OriginState o : d.origins()) {
                out.add(new OriginStats(site, o.name(), o.healthy(), o.health().reason(), o.inFlight(),
                        o.highWaterMark(), o.inFlightCost(), d.queueDepth(), o.requests(), o.errors(), o.ejections(),
                        metrics.latency(site, o.name()).count()));
            }
        });
        out.sort(java.util.Comparator.comparing(OriginStats::site).thenComparing(OriginStats::origin));
        return out;
    }

    /** Streams being answered now, those waiting in a queue included. */
    public int activeExchanges() {
        return activeExchanges.get();
    }

    /**
     * Drains and closes: new streams are refused (reset with {@link ResetCode#REFUSED}, so the
     * front-end may open them on another back-end), requests in flight and waiting get until
     * {@code deadline} to finish, then the links are closed with GOAWAY (streams still open are
     * reset with {@link ResetCode#LINK_LOST}), health probes stop and origin connections close.
     * Blocks the calling thread (never call it on an event loop). Idempotent.
     *
     * @return whether every request finished within the deadline
     */
    public boolean drain(Duration deadline) {
        synchronized (this) {
            if (closed) {
                return true;
            }
            closed = true;
        }
        draining = true;
        long end = System.nanoTime() + deadline.toNanos();
        int left;
        while ((left = activeExchanges.get()) > 0 && System.nanoTime() - end < 0) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (left > 0) {
            log.warn("back-end {}: {} request(s) still in flight after the {} ms drain; closing their streams",
                    name, left, deadline.toMillis());
        } else {
            log.info("back-end {}: drained", name);
        }
        for (SiteDispatcher d : dispatchers.values()) {
            d.retire();
        }
        server.close();
        if (tls != null) {
            tls.close();
        }
        if (udpSecurity != null) {
            udpSecurity.close();
        }
        pool.close();
        return left == 0;
    }

    /** Drains for up to {@link #DEFAULT_DRAIN}; see {@link #drain(Duration)}. */
    @Override
    public void close() {
        drain(DEFAULT_DRAIN);
    }

    public String name() {
        return name;
    }

    public InetSocketAddress localAddress() {
        return server.localAddress();
    }

    BraidConfig config() {
        return config.get();
    }

    SiteDispatcher dispatcher(String site) {
        return dispatchers.get(site);
    }

    OriginPool pool() {
        return pool;
    }

    BackEndMetrics metrics() {
        return metrics;
    }

    void exchangeEnded() {
        activeExchanges.decrementAndGet();
    }

    /** Takes the data of a stream refused while draining. */
    private static final class Discard implements TmpStreamHandler {
        @Override
        public void onData(TmpStream stream, ByteBuf data, boolean fin) {
            int n = data.readableBytes();
            data.release();
            stream.consumed(n);
        }

        @Override
        public void onReset(TmpStream stream, dev.braid.tmp.ResetCode code, String reason) {
        }
    }
}
