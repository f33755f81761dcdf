package dev.braid.frontend;

import dev.braid.frontend.cache.CacheFill;
import dev.braid.frontend.cache.CachePurgeApi;
import dev.braid.frontend.cache.HttpCache;
import dev.braid.frontend.tls.ClientTls;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.GatewayLimits;
import dev.braid.managers.config.HostPort;
import dev.braid.managers.config.Site;
import dev.braid.managers.config.TmpSettings;
import dev.braid.runtime.AdminServer;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.tmp.LinkConfig;
import dev.braid.tmp.LinkCore;
import dev.braid.tmp.LinkSettings;
import dev.braid.tmp.TmpClient;
import dev.braid.tmp.TmpLink;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import dev.braid.tmp.security.LinkTls;
import dev.braid.tmp.security.PeerIdentity;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The front-end role: the client-facing HTTP/1.1 server, and with {@code https} settings the HTTPS
 * listener ({@link ClientTls}: HTTP/2 and HTTP/1.1). Each request is checked, classified into a
 * client class, answered from the shared cache when it can be, and otherwise carried over a TMP
 * link to a back-end of its site at the class's priority.
 */
public final class FrontEnd implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FrontEnd.class);

    /**
     * @param name   this node's name in the configuration (its entry under {@code frontEnds})
     * @param listen HTTP address to bind (null: the node's {@code listen} from the configuration)
     */
    public record Options(String name, InetSocketAddress listen, EventLoops loops, Metrics metrics,
                          BraidConfig config) {
        public Options {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(loops, "loops");
            Objects.requireNonNull(metrics, "metrics");
            Objects.requireNonNull(config, "config");
            if (config.frontEnd(name) == null) {
                throw new IllegalArgumentException("name: " + name + " (expected: a front-end of the configuration)");
            }
        }
    }

    private record State(BraidConfig config, FrontEndNode node, ClientClassifier classifier,
                         Map<String, Integer> ringOfClass, java.util.List<Cidr> proxyProtocolFrom) {
    }

    private final String name;
    private final EventLoops loops;
    private final FrontEndMetrics metrics;
    private final HttpCache cache;
    private volatile State state;
    private final Map<String, TmpClient> links = new ConcurrentHashMap<>();
    private final ChannelGroup clients = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ClassAdmission admission = new ClassAdmission();
    private volatile boolean draining;
    /** The plain HTTP listening sockets: one per event loop where the transport allows it ({@link Listeners}). */
    private final Listeners listeners;
    /** The HTTPS listener, or null when the front-end has no {@code https} settings. */
    private final ClientTls https;
    /** TLS of the TMP links over TCP, or null when this node has no certificate. */
    private final LinkTls linkTls;
    /** The UDP carrier's Noise keys and peer checks; null without a PKI (plain text, logged loudly). */
    private final dev.braid.tmp.UdpSecurity udpSecurity;

    private FrontEnd(Options options) {
        this.name = options.name();
        this.loops = options.loops();
        this.metrics = new FrontEndMetrics(options.metrics());
        this.state = compile(options.config(), name);
        this.cache = new HttpCache(state.node().cache(), name, options.metrics(), System::currentTimeMillis,
                this::schedule);
        // Background validations go at the lowest priority: no client is waiting for them.
        cache.upstream(fill -> fetchForCache(fill, state.config().tmp().ringWeights().size() - 1, "cache"));
        // First: tmp.security required without an identity stops the node here, before anything starts.
        this.udpSecurity = LinkConfig.udpSecurity(options.config(), PeerIdentity.FRONT_END, name, PeerIdentity.BACK_END);
        this.linkTls = LinkConfig.linkTls(options.config(), PeerIdentity.FRONT_END, name, options.metrics());
        options.metrics().gauge("braid_link_tcp_tls",
                "1 when TMP links over TCP use TLS with this node's certificate, 0 in clear text",
                () -> linkTls == null ? 0 : 1);
        if (udpSecurity != null) {
            udpSecurity.registerMetrics(options.metrics());
        }
        syncLinks(options.config());
        InetSocketAddress listen = options.listen() != null ? options.listen()
                : HostPort.parse("frontEnds[" + name + "].listen", state.node().listen());
        this.listeners = Listeners.bind(loops, listen, new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                boolean overloaded = clients.size() >= state.node().capacity();
                clients.add(ch);
                ClientPipeline.init(ch, FrontEnd.this, overloaded);
            }
        });
        options.metrics().gauge("braid_frontend_client_connections", "Client connections open", clients::size);
        options.metrics().gauges("braid_frontend_requests_in_flight", "Requests in flight, by client class",
                () -> inFlightByClass(), "class");
        options.metrics().gauge("braid_frontend_links_up", "TMP links to back-ends currently up",
                () -> links.values().stream().filter(c -> c.link() != null).count());
        dev.braid.tmp.LinkMetrics.register(options.metrics(), () -> links.values().stream().map(TmpClient::link)
                .filter(Objects::nonNull).toList());
        options.metrics().counters("braid_link_sent_bytes_total",
                "Stream bytes sent over TMP links, by peer and blender ring", this::sentByRing, "peer", "ring");
        log.info("front-end {}: HTTP on {} ({}), links to {} (TCP {})", name, listeners.localAddress(),
                listeners.describe(), links.keySet(),
                linkTls == null ? "in clear text" : "over TLS as " + linkTls.self());
        try {
            this.https = state.node().https() == null ? null : ClientTls.start(loops, options.config(), name,
                    () -> new GatewayHandler(this, state.node().limits()), clients, options.metrics());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public static FrontEnd start(Options options) {
        return new FrontEnd(options);
    }

    private static State compile(BraidConfig config, String name) {
        FrontEndNode node = config.frontEnd(name);
        if (node == null) {
            throw new IllegalArgumentException("frontEnds: no front-end named " + name);
        }
        Map<String, Integer> rings = new HashMap<>();
        for (ClientClass c : config.clientClasses()) {
            rings.put(c.name(), c.ring());
        }
        return new State(config, node, new ClientClassifier(config.clientClasses()), Map.copyOf(rings),
                Cidr.parseAll("frontEnds[" + name + "].proxyProtocolFrom", node.proxyProtocolFrom()));
    }

    /**
     * The link settings towards back-end {@code be}: encrypted with its static key, taken from its
     * certificate at the {@code pki.certificate} path filled in for it; without that certificate the
     * link runs over TCP only, and the log says why.
     */
    private LinkSettings linkSettings(BraidConfig config, String be) {
        LinkSettings s = LinkConfig.linkSettings(config);
        if (udpSecurity == null) {
            return s;
        }
        try {
            return s.withDatagram(s.datagram().withSecurity(udpSecurity.towards(be,
                    java.nio.file.Path.of(config.pki().identityOf("back-end", be).certificate()))));
        } catch (java.io.IOException e) {
            log.error("front-end {}: link to {} over TCP only: {}", name, be, e.getMessage());
            return s.withDatagram(s.datagram().withUdp(false));
        }
    }

    /** Applies a new configuration version atomically: sites, classes and weights for new requests, links as listed. */
    public void update(BraidConfig config) {
        State next = compile(config, name);
        if (https != null) {
            // First: a certificate the new version names but this node cannot load refuses the whole version.
            https.update(config);
        }
        state = next;
        if (udpSecurity != null) {
            udpSecurity.updateCrls(config.pki().crls());
        }
        cache.update(next.node().cache());
        if (linkTls != null) {
            // New CRLs close the links of peers they revoke; paths in pki take effect at restart.
            linkTls.updateCrls(config.pki().crls());
        }
        syncLinks(config);
        LinkSettings settings = LinkConfig.linkSettings(config);
        for (TmpClient c : links.values()) {
            TmpLink l = c.link();
            if (l != null) {
                l.updateBlender(settings.blender());
            }
        }
    }

    private synchronized void syncLinks(BraidConfig config) {
        FrontEndNode node = config.frontEnd(name);
        for (String be : node.backEnds()) {
            BackEndNode backEnd = config.backEnd(be);
            if (backEnd == null || links.containsKey(be)) {
                continue;
            }
            InetSocketAddress address = HostPort.parse("backEnds[" + be + "].listen", backEnd.listen());
            links.put(be, TmpClient.start(loops, address, be, linkSettings(config, be), name,
                    new LinkCore.Listener() {
                        @Override
                        public TmpStreamHandler onStreamOpened(TmpStream stream) {
                            // Back-ends do not open streams towards front-ends.
                            return null;
                        }
                    }, linkTls));
        }
        links.entrySet().removeIf(e -> {
            if (!node.backEnds().contains(e.getKey())) {
                e.getValue().close();
                return true;
            }
            return false;
        });
    }

    /**
     * The site a request is for: by Host; a request addressed to this front-end's own IP address
     * reaches its site when the front-end serves exactly one (it is then unambiguous), and so does
     * an HTTP/1.0 request without Host.
     */
    Site siteFor(String host, InetSocketAddress local) {
        State s = state;
        Site site = s.config().siteForHost(host);
        if (site != null) {
            return s.node().sites().contains(site.name()) ? site : null;
        }
        // Without Host (HTTP/1.0) or by the front-end's own address, the request can only mean the one site.
        if (s.node().sites().size() == 1 && (host == null || isOwnAddress(HostPort.stripPort(host), local, s.node()))) {
            return s.config().site(s.node().sites().get(0));
        }
        return null;
    }

    private static boolean isOwnAddress(String host, InetSocketAddress local, FrontEndNode node) {
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        if (!h.isEmpty() && (Character.digit(h.charAt(0), 16) >= 0 || h.contains(":")) && looksLikeIp(h)) {
            try {
                InetAddress a = InetAddress.getByName(h);
                return a.equals(local.getAddress()) || h.equals(node.publicAddress());
            } catch (java.net.UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    // Compiled once: a request addressed to the front-end's IP address (no Host name) checks these each time.
    private static final java.util.regex.Pattern IPV4_CHARS = java.util.regex.Pattern.compile("[0-9.]+");
    private static final java.util.regex.Pattern IPV6_CHARS = java.util.regex.Pattern.compile("[0-9a-fA-F:.]+");

    private static boolean looksLikeIp(String h) {
        return IPV4_CHARS.matcher(h).matches() || IPV6_CHARS.matcher(h).matches() && h.contains(":");
    }

    private Map<java.util.List<String>, Double> inFlightByClass() {
        Map<java.util.List<String>, Double> samples = new HashMap<>();
        admission.all().forEach((cls, n) -> samples.put(java.util.List.of(cls), (double) n.get()));
        return samples;
    }

    private Map<java.util.List<String>, Double> sentByRing() {
        Map<java.util.List<String>, Double> samples = new HashMap<>();
        for (TmpClient c : links.values()) {
            TmpLink link = c.link();
            if (link == null) {
                continue;
            }
            long[] bytes = link.sentBytesByRing();
            for (int ring = 0; ring < bytes.length; ring++) {
                samples.put(java.util.List.of(link.peerName(), Integer.toString(ring)), (double) bytes[ring]);
            }
        }
        return samples;
    }

    /**
     * The best established link to a back-end serving {@code site}, or null: the one with the lowest
     * expected delay from both ends' QoS reports ({@link TmpLink#expectedDelayMicros}); links without
     * a measurement (TCP, or just connected) are used only when no measured one is up, first
     * configured first.
     */
    TmpLink linkFor(Site site) {
        return linkFor(site, java.util.Set.of());
    }

    /** As {@link #linkFor(Site)}, among the links that are up and not in {@code excluded}. */
    TmpLink linkFor(Site site, java.util.Set<TmpLink> excluded) {
        State s = state;
        TmpLink best = null;
        double bestDelay = Double.MAX_VALUE;
        for (String be : s.node().backEnds()) {
            BackEndNode backEnd = s.config().backEnd(be);
            if (backEnd == null || !backEnd.sites().contains(site.name())) {
                continue;
            }
            TmpClient c = links.get(be);
            TmpLink l = c == null ? null : c.link();
            if (l == null || !l.isActive() || excluded.contains(l)) {
                continue;
            }
            double delay = l.expectedDelayMicros();
            if (best == null || !Double.isNaN(delay) && delay < bestDelay) {
                best = l;
                bestDelay = Double.isNaN(delay) ? bestDelay : delay;
            }
        }
        return best;
    }

    /** Waits (up to the timeout) until every configured link is up; for start-up and tests. */
    public boolean awaitLinks(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (TmpClient c : links.values()) {
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                c.awaitLink().get(left, java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                return false;
            }
        }
        return true;
    }

    /** Runs a cache task later on one of the loops; once they shut down, proactive refreshes simply stop. */
    private void schedule(Runnable task, long delayMillis) {
        try {
            loops.group().next().schedule(task, delayMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            log.debug("front-end {}: cache task not scheduled, shutting down", name);
        }
    }

    /**
     * Fetches a fill's request from a back-end of its site on a stream of its own, at {@code ring};
     * a site without a link up fails the fill at once.
     */
    void fetchForCache(CacheFill fill, int ring, String clientClass) {
        Site site = state.config().site(fill.site());
        TmpLink link = site == null ? null : linkFor(site);
        if (link == null) {
            fill.fail(502, "no TMP link to a back-end of site " + fill.site() + " is up");
            return;
        }
        CacheFetch.start(link, fill, name, ring, clientClass, tried -> linkFor(site, tried));
    }

    /** Adds the cache's admin routes ({@code POST /api/v1/cache/purge}) to this node's admin endpoint. */
    public AdminServer.Builder adminRoutes(AdminServer.Builder admin) {
        return CachePurgeApi.addRoutes(admin, cache);
    }

    /** The shared HTTP cache. */
    public HttpCache cache() {
        return cache;
    }

    ClientClassifier classifier() {
        return state.classifier();
    }

    int ring(ClientClass cls) {
        return Math.min(cls.ring(), state.config().tmp().ringWeights().size() - 1);
    }

    /** The limits for new client connections and requests. */
    GatewayLimits limits() {
        return state.node().limits();
    }

    /**
     * The HTTP/2 limits for h2c connections on the plain listener: those of {@code https} when
     * the front-end has HTTPS settings, else the defaults.
     */
    dev.braid.managers.config.HttpsSettings http2Settings() {
        dev.braid.managers.config.HttpsSettings https = state.node().https();
        return https != null ? https : dev.braid.managers.config.HttpsSettings.on(null);
    }

    /** The load balancers whose connections start with a PROXY protocol v2 header. */
    java.util.List<Cidr> proxyProtocolFrom() {
        return state.proxyProtocolFrom();
    }

    /** Where clients go when this front-end is full, or null. */
    String siblingUrl() {
        return state.node().siblingUrl();
    }

    /**
     * Takes a place for one request of {@code cls} under its class bound ({@link ClassAdmission});
     * false when the class is at it and the request is to be shed.
     */
    boolean admit(ClientClass cls) {
        State s = state;
        int bound = ClassAdmission.bound(s.node().limits().maxClassRequests(), cls.ring(),
                s.config().tmp().ringWeights().size());
        return admission.tryAcquire(cls.name(), bound);
    }

    /** Gives back the place {@link #admit} took. */
    void release(ClientClass cls) {
        admission.release(cls.name());
    }

    ClassAdmission admission() {
        return admission;
    }

    FrontEndMetrics metrics() {
        return metrics;
    }

    public String name() {
        return name;
    }

    public InetSocketAddress localAddress() {
        return listeners.localAddress();
    }

    /** The HTTPS listener, or null when this front-end has none. */
    public ClientTls https() {
        return https;
    }

    /** Whether the front-end is shutting down: responses close their connections and idle ones are closed. */
    boolean draining() {
        return draining;
    }

    /**
     * Shuts down gracefully (on SIGTERM): stops accepting connections, closes idle ones, lets the
     * exchanges in flight finish with {@code Connection: close} for up to {@code limits.drainTimeoutMillis},
     * then closes whatever is left, the links and the cache.
     */
    @Override
    public void close() {
        listeners.close();
        draining = true;
        for (Channel ch : clients) {
            ch.pipeline().fireUserEventTriggered(GatewayHandler.DRAIN);
        }
        long deadline = System.nanoTime() + state.node().limits().drainTimeoutMillis() * 1_000_000L;
        while (!clients.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!clients.isEmpty()) {
            log.warn("front-end {}: {} client connections still busy after the drain deadline, closing them", name,
                    clients.size());
        }
        if (https != null) {
            https.close();
        }
        clients.close().awaitUninterruptibly();
        links.values().forEach(TmpClient::close);
        links.clear();
        if (linkTls != null) {
            linkTls.close();
        }
        if (udpSecurity != null) {
            udpSecurity.close();
        }
        cache.close();
    }
}
