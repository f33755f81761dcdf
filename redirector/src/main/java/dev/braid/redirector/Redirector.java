package dev.braid.redirector;

import dev.braid.managers.config.BraidConfig;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.ImmediateEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The redirector role: an authoritative DNS server on one port, UDP and TCP, whose answers follow
 * the live configuration. {@link #update(BraidConfig, long)} compiles a configuration into an
 * immutable {@link ZoneView} off the event loops and swaps it in atomically; the data path only
 * reads the current view, so every answer comes wholly from one version. What it answers is
 * {@link ZoneView}'s business; this class owns sockets, pipelines and lifecycle.
 *
 * <p>The event loops belong to the caller: {@link #close()} closes the redirector's channels,
 * not the loops. {@link #start(Options)} and {@link #close()} block and must not be called from
 * an event loop.
 */
public final class Redirector implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Redirector.class);
    /** Attempts to find a port free for both UDP and TCP when the listen port is 0. */
    private static final int EPHEMERAL_BIND_ATTEMPTS = 5;
    /**
     * Receive buffer asked for the UDP socket, in bytes: a burst of queries waits there while the
     * event loop works. The kernel caps it (net.core.rmem_max on Linux) without complaint.
     */
    static final int UDP_RECEIVE_BUFFER_BYTES = 1 << 20;

    private final Options options;
    private final AtomicReference<ZoneView> view = new AtomicReference<>(ZoneView.empty());
    /** The compiled configuration without live state, and the live inputs; guarded by {@code this}. */
    private ZoneView compiled = ZoneView.empty();
    private NodeState nodeState = NodeState.NONE;
    private Map<String, ProbeResult> probeResults = Map.of();
    private volatile BraidConfig config;
    private volatile FrontEndProber prober;
    private volatile AutoCloseable stateSubscription;
    private final AtomicInteger tcpConnections = new AtomicInteger();
    private final ChannelGroup channels = new DefaultChannelGroup("redirector", ImmediateEventExecutor.INSTANCE);
    private final DnsChannels setup;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile InetSocketAddress localAddress;

    private Redirector(Options options) {
        this.options = options;
        RedirectorMetrics metrics = new RedirectorMetrics(options.metrics(), () -> view.get().version(),
                tcpConnections::get);
        this.setup = new DnsChannels(view, metrics, options.tcpIdleTimeout().toNanos(), options.maxTcpConnections(),
                channels, tcpConnections, () -> {
                    BraidConfig c = config;
                    return c == null ? null : c.dns().rrl();
                });
    }

    /**
     * Applies the initial configuration, if any, then binds UDP and TCP on the listen address.
     *
     * @throws IllegalArgumentException when the initial configuration cannot be served (see {@link #update})
     * @throws UncheckedIOException     when the port cannot be bound for UDP or TCP
     */
    public static Redirector start(Options options) {
        Redirector redirector = new Redirector(options);
        if (options.config() != null) {
            redirector.update(options.config(), options.configVersion());
        }
        redirector.bind();
        if (options.probes()) {
            redirector.prober = new FrontEndProber(options.loops(), redirector::probed);
            BraidConfig c = redirector.config;
            if (c != null) {
                redirector.prober.update(c);
            }
        }
        if (options.nodeStates() != null) {
            redirector.stateSubscription = options.nodeStates().subscribe(redirector::updateState);
        }
        return redirector;
    }

    /**
     * Makes {@code config} the live configuration. The view is compiled on the calling thread and
     * swapped in atomically; queries in flight finish on the view they started with. When the
     * configuration cannot be served, nothing changes and the exception says why.
     *
     * @param version the configuration's version: not older than the one in use
     * @throws IllegalArgumentException naming the field, the value and what was expected
     */
    public void update(BraidConfig config, long version) {
        ZoneView next = ZoneView.compile(config, version, options.nodeName());
        synchronized (this) {
            if (version < compiled.version()) {
                throw new IllegalArgumentException("version: " + version + " (expected: >= " + compiled.version()
                        + ", the version in use)");
            }
            compiled = next;
            this.config = config;
            publish();
        }
        FrontEndProber p = prober;
        if (p != null) {
            p.update(config);
        }
        if (options.nodeName() != null && config.redirector(options.nodeName()) == null) {
            log.warn("redirector {}: not among the configured redirectors; answering with {} address(es) per answer",
                    options.nodeName(), next.answerCount());
        }
        log.info("redirector: configuration version {} applied, {} zone(s): {}", version, next.zones().size(),
                next.zones());
    }

    /**
     * Makes {@code state} the managers' live view of the front-ends: a front-end marked failed
     * leaves the very next answer. Safe from any thread.
     */
    public void updateState(NodeState state) {
        synchronized (this) {
            nodeState = state;
            publish();
        }
    }

    private void probed(Map<String, ProbeResult> results) {
        synchronized (this) {
            probeResults = results;
            publish();
        }
    }

    /** Joins the compiled configuration with the live inputs and swaps the result in; holds {@code this}. */
    private void publish() {
        view.set(compiled.withLiveState(nodeState, probeResults));
    }

    /** The view queries are answered from now. */
    public ZoneView view() {
        return view.get();
    }

    /** The address bound, UDP and TCP alike (its port is the real one when the listen port was 0). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** Closes the UDP socket, the TCP listener and every open TCP connection; waits up to five seconds. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            AutoCloseable sub = stateSubscription;
            if (sub != null) {
                try {
                    sub.close();
                } catch (Exception e) {
                    log.warn("redirector: closing the node-state subscription failed", e);
                }
            }
            FrontEndProber p = prober;
            if (p != null) {
                p.close();
            }
            channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    private void bind() {
        InetSocketAddress wanted = options.listen();
        int attempts = wanted.getPort() == 0 ? EPHEMERAL_BIND_ATTEMPTS : 1;
        Throwable tcpFailure = null;
        for (int attempt = 0; attempt < attempts; attempt++) {
            ChannelFuture udp = new Bootstrap()
                    .group(options.loops().group())
                    .channel(options.loops().transport().datagramChannel())
                    .option(ChannelOption.SO_RCVBUF, UDP_RECEIVE_BUFFER_BYTES)
                    .handler(initializer(setup::udp))
                    .bind(wanted).awaitUninterruptibly();
            if (!udp.isSuccess()) {
                throw bindFailure("udp", wanted, udp.cause());
            }
            InetSocketAddress bound = (InetSocketAddress) udp.channel().localAddress();
            ChannelFuture tcp = new ServerBootstrap()
                    .group(options.loops().group())
                    .channel(options.loops().transport().serverSocketChannel())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(initializer(setup::tcp))
                    .bind(new InetSocketAddress(wanted.getAddress(), bound.getPort())).awaitUninterruptibly();
            if (tcp.isSuccess()) {
                channels.add(tcp.channel());
                localAddress = bound;
                log.info("redirector: answering DNS on {} (udp and tcp, {})", bound,
                        options.loops().transport().label());
                return;
            }
            tcpFailure = tcp.cause();
            udp.channel().close().awaitUninterruptibly();
        }
        close();
        throw bindFailure("tcp", wanted, tcpFailure);
    }

    private static ChannelInitializer<Channel> initializer(Consumer<Channel> setup) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                setup.accept(ch);
            }
        };
    }

    private static RuntimeException bindFailure(String protocol, InetSocketAddress address, Throwable cause) {
        String message = "listen: " + address + " (expected: an address free for " + protocol + "): "
                + (cause == null ? "bind failed" : cause.getMessage());
        return cause instanceof IOException io ? new UncheckedIOException(message, io)
                : new IllegalStateException(message, cause);
    }

    /**
     * How to run a redirector. Build with {@link #builder(EventLoops)}.
     *
     * @param loops             the event loops (and so the transport) the sockets run on; owned by the caller
     * @param listen            UDP and TCP address (default 0.0.0.0:5300; port 0 picks a free port)
     * @param metrics           where the {@code braid_redirector_*} metrics go (default: a private registry); one
     *                          redirector per registry, since its gauges are registered once
     * @param nodeName          this redirector's name in the configuration, whose {@code answerCount} applies
     *                          (default: none, so {@link ZoneView#DEFAULT_ANSWER_COUNT})
     * @param tcpIdleTimeout    a TCP connection with no traffic either way for this long is closed (default 10 s)
     * @param maxTcpConnections TCP connections open at once; more are closed on accept (default 1000)
     * @param config            the configuration to answer from at once (default: none; every query is
     *                          REFUSED until {@link Redirector#update} is called)
     * @param configVersion     the version of {@code config}
     * @param probes            whether the redirector probes the front-ends itself (default true)
     * @param nodeStates        where the managers' live state comes from (default: none; front-ends count
     *                          as healthy and idle unless the redirector's own probes say otherwise)
     */
    public record Options(EventLoops loops, InetSocketAddress listen, Metrics metrics, String nodeName,
                          Duration tcpIdleTimeout, int maxTcpConnections, BraidConfig config, long configVersion,
                          boolean probes, NodeStateSource nodeStates) {

        public static final InetSocketAddress DEFAULT_LISTEN = new InetSocketAddress("0.0.0.0", 5300);
        public static final Duration DEFAULT_TCP_IDLE_TIMEOUT = Duration.ofSeconds(10);
        public static final int DEFAULT_MAX_TCP_CONNECTIONS = 1000;

        public Options {
            if (loops == null) {
                throw new IllegalArgumentException("loops: null (expected: event loops)");
            }
            if (listen == null || listen.isUnresolved()) {
                throw new IllegalArgumentException("listen: " + listen + " (expected: an IP address and port)");
            }
            if (metrics == null) {
                throw new IllegalArgumentException("metrics: null (expected: a metrics registry)");
            }
            if (tcpIdleTimeout == null || tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()) {
                throw new IllegalArgumentException("tcpIdleTimeout: " + tcpIdleTimeout + " (expected: > 0)");
            }
            if (maxTcpConnections < 1) {
                throw new IllegalArgumentException("maxTcpConnections: " + maxTcpConnections + " (expected: >= 1)");
            }
            if (config != null && configVersion < 0) {
                throw new IllegalArgumentException("configVersion: " + configVersion + " (expected: >= 0)");
            }
        }

        public static Builder builder(EventLoops loops) {
            return new Builder(loops);
        }

        /** Builds {@link Options}; every setter is optional. */
        public static final class Builder {
            private final EventLoops loops;
            private InetSocketAddress listen = DEFAULT_LISTEN;
            private Metrics metrics;
            private String nodeName;
            private Duration tcpIdleTimeout = DEFAULT_TCP_IDLE_TIMEOUT;
            private int maxTcpConnections = DEFAULT_MAX_TCP_CONNECTIONS;
            private BraidConfig config;
            private long configVersion;
            private boolean probes = true;
            private NodeStateSource nodeStates;

            private Builder(EventLoops loops) {
                this.loops = loops;
            }

            public Builder listen(InetSocketAddress listen) {
                this.listen = listen;
                return this;
            }

            public Builder metrics(Metrics metrics) {
                this.metrics = metrics;
                return this;
            }

            public Builder nodeName(String nodeName) {
                this.nodeName = nodeName;
                return this;
            }

            public Builder tcpIdleTimeout(Duration tcpIdleTimeout) {
                this.tcpIdleTimeout = tcpIdleTimeout;
                return this;
            }

            public Builder maxTcpConnections(int maxTcpConnections) {
                this.maxTcpConnections = maxTcpConnections;
                return this;
            }

            /** The configuration to answer from as soon as the sockets are bound. */
            public Builder config(BraidConfig config, long version) {
                this.config = config;
                this.configVersion = version;
                return this;
            }

            /** Whether to probe the front-ends' HTTP ports (TCP connect, {@code dns.probe} settings). */
            public Builder probes(boolean probes) {
                this.probes = probes;
                return this;
            }

            public Builder nodeStates(NodeStateSource nodeStates) {
                this.nodeStates = nodeStates;
                return this;
            }

            public Options build() {
                return new Options(loops, listen, metrics != null ? metrics : new Metrics(), nodeName,
                        tcpIdleTimeout, maxTcpConnections, config, configVersion, probes, nodeStates);
            }
        }
    }
}
