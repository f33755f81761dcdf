package dev.braid.redirector;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.EventExecutor;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Builds the redirector's pipelines: each UDP socket's and each TCP connection's. Every channel of
 * one event loop shares that loop's {@link Responder} (its scratch buffers and rotation counter);
 * what all loops share is thread-safe (the live view, the rate limiter, the metrics).
 *
 * <pre>
 * UDP: QueryHandler
 * TCP: IdleStateHandler ▸ LengthFieldBasedFrameDecoder (RFC 1035 §4.2.2 two-octet prefix) ▸ QueryHandler
 * </pre>
 */
final class DnsChannels {

    private final Supplier<ZoneView> view;
    private final Supplier<ResponseRateLimiter> limiter;
    private final RedirectorMetrics metrics;
    private final long tcpIdleNanos;
    private final int maxTcpConnections;
    private final ChannelGroup channels;
    private final AtomicInteger tcpConnections;
    private final Map<EventExecutor, Responder> responders = new ConcurrentHashMap<>();

    /**
     * @param limiter        the response rate limiter in force, or null when none (read per UDP answer)
     * @param channels       every channel set up here joins it, so closing the group closes them all
     * @param tcpConnections the count of open TCP connections, kept here
     */
    DnsChannels(Supplier<ZoneView> view, Supplier<ResponseRateLimiter> limiter, RedirectorMetrics metrics,
                long tcpIdleNanos, int maxTcpConnections, ChannelGroup channels, AtomicInteger tcpConnections) {
        this.view = view;
        this.limiter = limiter;
        this.metrics = metrics;
        this.tcpIdleNanos = tcpIdleNanos;
        this.maxTcpConnections = maxTcpConnections;
        this.channels = channels;
        this.tcpConnections = tcpConnections;
    }

    private Responder responder(Channel ch) {
        return responders.computeIfAbsent(ch.eventLoop(), loop -> new Responder(view, limiter, metrics));
    }

    void udp(Channel ch) {
        channels.add(ch);
        ch.pipeline().addLast("answer", new QueryHandler(RedirectorMetrics.UDP, responder(ch), metrics));
    }

    void tcp(Channel ch) {
        if (tcpConnections.incrementAndGet() > maxTcpConnections) {
            tcpConnections.decrementAndGet();
            metrics.dropped(RedirectorMetrics.TCP, "connection_limit");
            ch.close();
            return;
        }
        ch.closeFuture().addListener(f -> tcpConnections.decrementAndGet());
        channels.add(ch);
        // RFC 7766 §6.2.3: a server closes idle connections so they cannot pile up.
        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, tcpIdleNanos, TimeUnit.NANOSECONDS))
                .addLast("framer", new LengthFieldBasedFrameDecoder(Dns.TCP_LIMIT + 2, 0, 2, 0, 2))
                .addLast("answer", new QueryHandler(RedirectorMetrics.TCP, responder(ch), metrics));
    }
}
