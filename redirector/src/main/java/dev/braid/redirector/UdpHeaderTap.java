package dev.braid.redirector;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;

/**
 * First handler of the UDP pipeline. Drops datagrams that cannot be a query (shorter than a DNS
 * header, or with QR set: answering those would let two servers bounce packets forever) and
 * records the header of every other one for {@link QueryHandler}, which answers FORMERR if Netty's
 * decoder then rejects the rest of the message.
 */
final class UdpHeaderTap extends ChannelInboundHandlerAdapter {

    private final PendingHeaders pending;
    private final RedirectorMetrics metrics;

    UdpHeaderTap(PendingHeaders pending, RedirectorMetrics metrics) {
        this.pending = pending;
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ctx.fireChannelRead(msg);
            return;
        }
        ByteBuf content = packet.content();
        if (content.readableBytes() < Dns.HEADER_SIZE) {
            metrics.dropped(RedirectorMetrics.UDP, "short");
            packet.release();
            return;
        }
        int start = content.readerIndex();
        PendingHeaders.Header header = new PendingHeaders.Header(content.getUnsignedShort(start),
                content.getUnsignedShort(start + 2), packet.sender());
        if (header.isResponse()) {
            metrics.dropped(RedirectorMetrics.UDP, "response");
            packet.release();
            return;
        }
        // Each datagram decodes (or fails) before the next one arrives, so one header is ever pending.
        pending.clear();
        pending.add(header);
        ctx.fireChannelRead(packet);
    }
}
