package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Builds the redirector's pipelines: the one UDP socket's and each TCP connection's. Everything a
 * pipeline shares with the others is thread-safe (the live view, the rotation counter, the
 * metrics); everything else is per channel.
 *
 * <pre>
 * UDP: QueryHandler
 * TCP: IdleStateHandler ▸ LengthFieldBasedFrameDecoder (RFC 1035 §4.2.2 two-octet prefix) ▸ QueryHandler
 * </pre>
 */
final class DnsChannels {

    private final AtomicReference<ZoneView> view;
    private final RedirectorMetrics metrics;
    private final long tcpIdleNanos;
    private final int maxTcpConnections;
    private final ChannelGroup channels;
    private final AtomicInteger rotation = new AtomicInteger();
    private final AtomicInteger tcpConnections;
    private final Supplier<DnsSettings.RrlSettings> rrl;

    /**
     * @param channels       every channel set up here joins it, so closing the group closes them all
     * @param tcpConnections the count of open TCP connections, kept here
     * @param rrl            the response rate limits in force (read per answer; UDP only)
     */
    DnsChannels(AtomicReference<ZoneView> view, RedirectorMetrics metrics, long tcpIdleNanos, int maxTcpConnections,
                ChannelGroup channels, AtomicInteger tcpConnections, Supplier<DnsSettings.RrlSettings> rrl) {
        this.view = view;
        this.metrics = metrics;
        this.tcpIdleNanos = tcpIdleNanos;
        this.maxTcpConnections = maxTcpConnections;
        this.channels = channels;
        this.tcpConnections = tcpConnections;
        this.rrl = rrl;
    }

    void udp(Channel ch) {
        channels.add(ch);
        ch.pipeline().addLast("answer", new QueryHandler(RedirectorMetrics.UDP, view, rotation, metrics, rrl));
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
                .addLast("answer", new QueryHandler(RedirectorMetrics.TCP, view, rotation, metrics, null));
    }
}
