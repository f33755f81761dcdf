package dev.braid.redirector;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.TcpDnsQueryDecoder;
import io.netty.handler.codec.dns.TcpDnsResponseEncoder;
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Builds the redirector's pipelines: the one UDP socket's and each TCP connection's. Everything a
 * pipeline shares with the others is thread-safe (the live view, the round-robin counter, the
 * metrics); everything else is per channel.
 *
 * <pre>
 * UDP: UdpHeaderTap ▸ DatagramDnsQueryDecoder ▸ DatagramDnsResponseEncoder ▸ QueryHandler
 * TCP: IdleStateHandler ▸ TcpHeaderTap ▸ TcpDnsQueryDecoder ▸ TcpDnsResponseEncoder ▸ QueryHandler
 * </pre>
 */
final class DnsChannels {

    private static final DatagramDnsResponseEncoder UDP_ENCODER = new DatagramDnsResponseEncoder();
    private static final TcpDnsResponseEncoder TCP_ENCODER = new TcpDnsResponseEncoder();

    private final AtomicReference<ZoneView> view;
    private final RedirectorMetrics metrics;
    private final long tcpIdleNanos;
    private final int maxTcpConnections;
    private final ChannelGroup channels;
    private final AtomicInteger rotation = new AtomicInteger();
    private final AtomicInteger tcpConnections;

    /**
     * @param channels       every channel set up here joins it, so closing the group closes them all
     * @param tcpConnections the count of open TCP connections, kept here
     */
    DnsChannels(AtomicReference<ZoneView> view, RedirectorMetrics metrics, long tcpIdleNanos, int maxTcpConnections,
                ChannelGroup channels, AtomicInteger tcpConnections) {
        this.view = view;
        this.metrics = metrics;
        this.tcpIdleNanos = tcpIdleNanos;
        this.maxTcpConnections = maxTcpConnections;
        this.channels = channels;
        this.tcpConnections = tcpConnections;
    }

    void udp(Channel ch) {
        channels.add(ch);
        PendingHeaders pending = new PendingHeaders();
        ch.pipeline().addLast("header-tap", new UdpHeaderTap(pending, metrics))
                .addLast("decoder", new DatagramDnsQueryDecoder())
                .addLast("encoder", UDP_ENCODER)
                .addLast("answer", new QueryHandler(RedirectorMetrics.UDP, view, rotation, pending, metrics));
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
        PendingHeaders pending = new PendingHeaders();
        ChannelPipeline p = ch.pipeline();
        // RFC 7766 §6.2.3: a server closes idle connections so they cannot pile up.
        p.addLast("idle", new IdleStateHandler(0, 0, tcpIdleNanos, TimeUnit.NANOSECONDS))
                .addLast("header-tap", new TcpHeaderTap(pending))
                .addLast("decoder", new TcpDnsQueryDecoder())
                .addLast("encoder", TCP_ENCODER)
                .addLast("answer", new QueryHandler(RedirectorMetrics.TCP, view, rotation, pending, metrics));
    }
}
