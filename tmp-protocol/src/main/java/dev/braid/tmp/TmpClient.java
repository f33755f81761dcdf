package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
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
 * Keeps one TMP link to a peer up for as long as it runs (the front-end's side): connects, and
 * after any failure reconnects with jittered exponential backoff (100 ms doubling to 10 s, each
 * wait drawn from 50–100% of the step so that many front-ends do not reconnect in lockstep).
 */
public final class TmpClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TmpClient.class);

    static final Duration MIN_BACKOFF = Duration.ofMillis(100);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

    private final Bootstrap bootstrap;
    private final InetSocketAddress remote;
    private final String peerLabel;
    private final EventLoop loop;
    private volatile TmpLink link;
    private volatile boolean closed;
    private volatile Channel channel;
    private volatile CompletableFuture<TmpLink> firstLink = new CompletableFuture<>();
    private int failures;

    private TmpClient(EventLoops loops, InetSocketAddress remote, String peerLabel, LinkSettings settings,
                      String nodeName, LinkCore.Listener listener) {
        this.remote = remote;
        this.peerLabel = peerLabel;
        this.loop = loops.group().next();
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(loops.transport().socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 2000)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        TcpLinkHandler.install(ch, new TcpLinkHandler(true, nodeName, TmpServer.ROLE_FRONT_END,
                                settings, listener, TmpClient.this::established), settings);
                    }
                });
    }

    /** Starts connecting to {@code remote}; {@link #link()} is null until the first handshake completes. */
    public static TmpClient start(EventLoops loops, InetSocketAddress remote, String peerLabel, LinkSettings settings,
                                  String nodeName, LinkCore.Listener listener) {
        TmpClient c = new TmpClient(loops, remote, peerLabel, settings, nodeName, listener);
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
        ChannelFuture f = bootstrap.connect(remote);
        channel = f.channel();
        f.addListener(done -> {
            if (!done.isSuccess()) {
                log.debug("TMP link to {} at {}: connect failed: {}", peerLabel, remote, done.cause().toString());
            }
        });
        f.channel().closeFuture().addListener(done -> {
            link = null;
            if (!closed) {
                scheduleReconnect();
            }
        });
    }

    private void established(TmpLink l) {
        failures = 0;
        link = l;
        CompletableFuture<TmpLink> waiting = firstLink;
        firstLink = new CompletableFuture<>();
        waiting.complete(l);
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
        }
        Channel ch = channel;
        if (ch != null) {
            ch.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        firstLink.completeExceptionally(new IllegalStateException("TMP client to " + peerLabel + " closed"));
    }
}
