package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import dev.braid.tmp.security.LinkTls;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Keeps one TMP link to a peer up for as long as it runs (the front-end's side). The carrier is
 * chosen at each (re)connection: UDP first; if no UDP handshake completes within
 * {@link DatagramSettings#handshakeTimeout()} (2 s), TCP at once, and UDP is probed again while the
 * link runs on TCP, 1 s after the fallback, then twice as late each time up to
 * {@link DatagramSettings#udpProbeInterval()}; a probe that succeeds
 * becomes the link for new streams, and the TCP link closes once its streams are done. After any
 * loss the client reconnects with jittered exponential backoff (100 ms doubling to 2 s, each wait
 * drawn from 50–100% of the step so that many front-ends do not reconnect in lockstep).
 *
 * <p>An established UDP link rides out a blackout of its path: it is dropped only after
 * {@link DatagramSettings#deadPeerTimeout()} without an acknowledgement while data is in flight,
 * after {@link LinkSettings#idleTimeout()} without hearing from the peer otherwise, or at once on
 * the peer's stateless reset (it restarted and lost the link).
 */
public final class TmpClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TmpClient.class);

    static final Duration MIN_BACKOFF = Duration.ofMillis(100);
    /**
     * Short, so that a back-end back after a long outage carries traffic again within a couple of
     * seconds; an attempt costs the back-end one datagram (answered statelessly) or one refused
     * connect, so even hundreds of front-ends retrying every 1–2 s load it less than a trickle of traffic.
     */
    static final Duration MAX_BACKOFF = Duration.ofSeconds(2);
    /** The TCP link left behind by a successful UDP probe closes after its streams end, or after this. */
    static final Duration DRAIN_LIMIT = Duration.ofSeconds(60);
    /** The first UDP probe after falling back to TCP (see {@link #probeDelayNanos()}). */
    static final Duration FIRST_PROBE = Duration.ofSeconds(1);

    private final Bootstrap tcp;
    private final EventLoops loops;
    private final InetSocketAddress remote;
    private final String peerLabel;
    private final LinkSettings settings;
    private final String nodeName;
    private final LinkCore.Listener listener;
    /** TLS for TCP links, or null for clear text. */
    private final LinkTls tls;
    private final EventLoop loop;
    private volatile TmpLink link;
    private volatile boolean closed;
    private volatile Channel channel;
    private volatile Channel probeChannel;
    private volatile CompletableFuture<TmpLink> firstLink = new CompletableFuture<>();
    private int failures;
    /** Attempts are numbered; only the current one may trigger a reconnection. */
    private long attempt;
    /** No UDP handshake is tried (except probes) before this time (System.nanoTime). */
    private long udpRetryAt;
    private boolean probeScheduled;
    /** UDP probes that failed since the link last fell back to TCP. */
    private int probeFailures;

    private TmpClient(EventLoops loops, InetSocketAddress remote, String peerLabel, LinkSettings settings,
                      String nodeName, LinkCore.Listener listener, LinkTls tls) {
        this.tls = tls;
        this.loops = loops;
        this.remote = remote;
        this.peerLabel = peerLabel;
        this.settings = settings;
        this.nodeName = nodeName;
        this.listener = listener;
        this.loop = loops.group().next();
        Bootstrap tcp = new Bootstrap()
                .group(loop)
                .channel(loops.transport().socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 2000);
        TcpLinkHandler.socketOptions(loops.transport()).forEach((k, v) -> tcp.option(rawOption(k), v));
        this.tcp = tcp;
        this.udpRetryAt = System.nanoTime();
    }

    /** Starts connecting to {@code remote}; {@link #link()} is null until the first handshake completes. */
    public static TmpClient start(EventLoops loops, InetSocketAddress remote, String peerLabel, LinkSettings settings,
                                  String nodeName, LinkCore.Listener listener) {
        return start(loops, remote, peerLabel, settings, nodeName, listener, null);
    }

    /**
     * Starts connecting to {@code remote}; TCP links are TLS 1.3 with {@code tls} (null: clear
     * text), and the peer's certificate must name the node {@code peerLabel}.
     */
    public static TmpClient start(EventLoops loops, InetSocketAddress remote, String peerLabel, LinkSettings settings,
                                  String nodeName, LinkCore.Listener listener, LinkTls tls) {
        TmpClient c = new TmpClient(loops, remote, peerLabel, settings, nodeName, listener, tls);
        c.loop.execute(c::connect);
        return c;
    }

    /** The current link when established and active, else null. */
    public TmpLink link() {
        TmpLink l = link;
        return l != null && l.isActive() ? l : null;
    }

    /** Completes with the first link established (or the next one, after a loss). */
    public CompletableFuture<TmpLink> awaitLink() {
        TmpLink l = link();
        return l != null ? CompletableFuture.completedFuture(l) : firstLink;
    }

    public String peerLabel() {
        return peerLabel;
    }

    public InetSocketAddress remoteAddress() {
        return remote;
    }

    private void connect() {
        if (closed) {
            return;
        }
        long id = ++attempt;
        if (settings.datagram().udp() && System.nanoTime() - udpRetryAt >= 0) {
            connectUdp(id, false);
        } else {
            connectTcp(id);
        }
    }

    private void connectTcp(long id) {
        ChannelFuture f = tcp.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                TcpLinkHandler.install(ch, new TcpLinkHandler(true, nodeName, TmpServer.ROLE_FRONT_END, settings,
                        listener, l -> established(id, l), tls, peerLabel), settings);
            }
        }).connect(remote);
        channel = f.channel();
        f.addListener(done -> {
            if (!done.isSuccess()) {
                log.debug("TMP link to {} at {}: TCP connect failed: {}", peerLabel, remote, done.cause().toString());
            }
        });
        f.channel().closeFuture().addListener(done -> lost(id));
    }

    private void connectUdp(long id, boolean probe) {
        Channel[] own = new Channel[1];
        UdpCarrier carrier = new UdpCarrier(false, nodeName, TmpServer.ROLE_FRONT_END, settings, listener,
                new UdpCarrier.Observer() {
                    @Override
                    public void established(TmpLink l) {
                        if (probe) {
                            probeSucceeded(id, l);
                        } else {
                            TmpClient.this.established(id, l);
                        }
                    }

                    @Override
                    public void closed(TmpLink l, String reason) {
                        udpClosed(id, probe, l, reason, own[0]);
                    }
                });
        int buffer = settings.datagram().socketBufferBytes();
        ChannelFuture f = new Bootstrap()
                .group(loop)
                .channel(loops.transport().datagramChannel())
                .option(ChannelOption.SO_RCVBUF, buffer)
                .option(ChannelOption.SO_SNDBUF, buffer)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
                .handler(carrier)
                .bind(new InetSocketAddress(remote.getAddress().isLoopbackAddress() ? remote.getAddress() : null, 0));
        Channel ch = f.channel();
        own[0] = ch;
        if (probe) {
            probeChannel = ch;
        } else {
            channel = ch;
        }
        f.addListener(done -> {
            if (done.isSuccess()) {
                carrier.connect(remote);
            } else {
                udpClosed(id, probe, null, "UDP socket: " + done.cause(), ch);
            }
        });
    }

    private void udpClosed(long id, boolean probe, TmpLink l, String reason, Channel ch) {
        if (ch != null) {
            ch.close();
        }
        if (l == null) {
            // No handshake: UDP is blocked or the peer does not speak it. TCP now, UDP again later.
            udpRetryAt = System.nanoTime() + settings.datagram().udpProbeInterval().toNanos();
            log.info("TMP link to {} at {}: no UDP handshake ({}); {}", peerLabel, remote, reason,
                    probe ? "staying on TCP" : "falling back to TCP");
            if (probe) {
                probeScheduled = false;
                probeFailures++;
                scheduleProbe();
            } else if (id == attempt && !closed) {
                connectTcp(id);
            }
            return;
        }
        lost(id);
    }

    private void lost(long id) {
        if (id != attempt) {
            return; // an older link (e.g. the TCP one a probe replaced)
        }
        link = null;
        if (!closed) {
            scheduleReconnect();
        }
    }

    private void established(long id, TmpLink l) {
        if (id != attempt) {
            l.close(ResetCode.NO_ERROR, "superseded");
            return;
        }
        failures = 0;
        link = l;
        CompletableFuture<TmpLink> waiting = firstLink;
        firstLink = new CompletableFuture<>();
        waiting.complete(l);
        if ("tcp".equals(l.carrier())) {
            probeFailures = 0;
            scheduleProbe();
        }
    }

    private void scheduleProbe() {
        if (!settings.datagram().udp() || probeScheduled || closed) {
            return;
        }
        probeScheduled = true;
        loop.schedule(() -> {
            probeScheduled = false;
            TmpLink current = link;
            if (!closed && current != null && "tcp".equals(current.carrier()) && current.isActive()) {
                connectUdp(attempt, true);
            }
        }, probeDelayNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * The first probe after a fallback comes after {@link #FIRST_PROBE}, later ones twice as late
     * each time up to {@code udpProbeInterval}: a back-end that was restarting when the handshake
     * was tried (both carriers failed, then TCP answered first) gets its link back on UDP within a
     * second or two, while a network that blocks UDP costs a probe a minute once it is known.
     */
    private long probeDelayNanos() {
        long interval = settings.datagram().udpProbeInterval().toNanos();
        long first = Math.min(FIRST_PROBE.toNanos(), interval);
        return Math.min(interval, first << Math.min(probeFailures, 20));
    }

    private void probeSucceeded(long id, TmpLink udpLink) {
        TmpLink old = link;
        if (closed || id != attempt || old == null) {
            udpLink.close(ResetCode.NO_ERROR, "probe no longer needed");
            return;
        }
        long next = ++attempt;
        Channel oldChannel = channel;
        channel = probeChannel;
        probeChannel = null;
        link = udpLink;
        udpLink.closeFuture().addListener(f -> lost(next));
        log.info("TMP link to {}: UDP works again; new streams use it, the TCP link closes when idle", peerLabel);
        drain(old, oldChannel, System.nanoTime() + DRAIN_LIMIT.toNanos());
    }

    private void drain(TmpLink old, Channel oldChannel, long deadline) {
        if (old.activeStreams() == 0 || System.nanoTime() - deadline >= 0 || closed) {
            old.close(ResetCode.NO_ERROR, "link moved to UDP");
            return;
        }
        loop.schedule(() -> drain(old, oldChannel, deadline), 500, TimeUnit.MILLISECONDS);
    }

    private void scheduleReconnect() {
        long step = Math.min(MAX_BACKOFF.toMillis(), MIN_BACKOFF.toMillis() << Math.min(failures, 16));
        failures++;
        long delay = step / 2 + ThreadLocalRandom.current().nextLong(step / 2 + 1);
        log.info("TMP link to {} at {} down; reconnecting in {} ms", peerLabel, remote, delay);
        loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        closed = true;
        TmpLink l = link;
        if (l != null) {
            l.close(ResetCode.SHUTDOWN, "front-end shutting down");
            l.closeFuture().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        for (Channel ch : new Channel[] {channel, probeChannel}) {
            if (ch != null) {
                ch.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
        }
        firstLink.completeExceptionally(new IllegalStateException("TMP client to " + peerLabel + " closed"));
    }

    @SuppressWarnings("unchecked")
    static ChannelOption<Object> rawOption(ChannelOption<?> option) {
        return (ChannelOption<Object>) option;
    }
}
