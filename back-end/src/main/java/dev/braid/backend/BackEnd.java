package dev.braid.backend;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.TmpSettings;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.tmp.LinkCore;
import dev.braid.tmp.LinkSettings;
import dev.braid.tmp.TmpLink;
import dev.braid.tmp.TmpServer;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import io.netty.channel.EventLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The back-end role: accepts TMP links from front-ends and turns each stream into a request to one
 * of the site's origins, answering over the same stream at the stream's priority.
 */
public final class BackEnd implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BackEnd.class);

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
    private final AtomicReference<BraidConfig> config;
    private final OriginPool pool;
    private final OriginSelector selector = new OriginSelector();
    private final BackEndMetrics metrics;
    private final TmpServer server;

    private BackEnd(Options options) {
        this.name = options.name();
        this.config = new AtomicReference<>(options.config());
        this.pool = new OriginPool(options.loops().transport());
        this.metrics = new BackEndMetrics(options.metrics());
        this.server = TmpServer.start(options.loops(), options.listen(), linkSettings(options.config()), name,
                new LinkCore.Listener() {
                    @Override
                    public TmpStreamHandler onStreamOpened(TmpStream stream) {
                        metrics.stream(stream.clientClass());
                        return new OriginExchange(BackEnd.this, (EventLoop) stream.executor());
                    }
                });
        options.metrics().gauge("braid_backend_links", "TMP links from front-ends currently up",
                () -> server.links().size());
        dev.braid.tmp.LinkMetrics.register(options.metrics(), server::links);
        options.metrics().counters("braid_link_sent_bytes_total",
                "Stream bytes sent over TMP links, by peer and blender ring", () -> sentByRing(server.links()),
                "peer", "ring");
        log.info("back-end {}: TMP on {} ({})", name, server.localAddress(), server.udpEnabled() ? "UDP and TCP" : "TCP");
    }

    static java.util.Map<java.util.List<String>, Double> sentByRing(java.util.Collection<TmpLink> links) {
        java.util.Map<java.util.List<String>, Double> samples = new java.util.HashMap<>();
        for (TmpLink link : links) {
            long[] bytes = link.sentBytesByRing();
            for (int ring = 0; ring < bytes.length; ring++) {
                samples.merge(java.util.List.of(link.peerName(), Integer.toString(ring)), (double) bytes[ring], Double::sum);
            }
        }
        return samples;
    }

    /** The links currently up (one per front-end). */
    public java.util.Set<TmpLink> links() {
        return server.links();
    }

    public static BackEnd start(Options options) {
        return new BackEnd(options);
    }

    static LinkSettings linkSettings(BraidConfig config) {
        TmpSettings tmp = config.tmp();
        return LinkSettings.of(tmp.packetBytes(), tmp.subPacketBytes(), tmp.blenderPolicy(), config.ringWeights(),
                tmp.rateLimitMbps(), tmp.carrier(), tmp.congestionControl());
    }

    /** Applies a new configuration version: sites and origins for new requests, blender weights on every link. */
    public void update(BraidConfig newConfig) {
        config.set(newConfig);
        LinkSettings settings = linkSettings(newConfig);
        for (TmpLink link : server.links()) {
            link.updateBlender(settings.blender());
        }
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

    OriginPool pool() {
        return pool;
    }

    OriginSelector selector() {
        return selector;
    }

    BackEndMetrics metrics() {
        return metrics;
    }

    @Override
    public void close() {
        server.close();
    }
}
