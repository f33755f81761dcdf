package dev.braid.redirector;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * First handler of a TCP connection's pipeline. It follows the two-octet length framing of DNS
 * over TCP (RFC 1035 §4.2.2) on the bytes as they pass, without consuming or copying them, and
 * records each complete message's header for {@link QueryHandler}, in the order Netty's
 * {@code TcpDnsQueryDecoder} will decode them, so a message that fails to decode can still be
 * answered FORMERR with its own ID. Confined to the connection's event loop.
 */
final class TcpHeaderTap extends ChannelInboundHandlerAdapter {

    private final PendingHeaders pending;

    /** Octets of the current message's length prefix seen so far (0, 1 or 2). */
    private int prefixSeen;
    private int frameLength;
    private int bodySeen;
    private int id;
    private int flags;

    TcpHeaderTap(PendingHeaders pending) {
        this.pending = pending;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            observe(buf);
        }
        ctx.fireChannelRead(msg);
    }

    private void observe(ByteBuf buf) {
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        while (i < end) {
            if (prefixSeen < 2) {
                frameLength = (frameLength << 8) | buf.getUnsignedByte(i++);
                if (++prefixSeen == 2 && frameLength == 0) {
                    completeFrame();
                }
                continue;
            }
            int take = Math.min(end - i, frameLength - bodySeen);
            // The ID and flags are the body's first four octets; they may arrive one by one.
            for (int k = bodySeen; k < 4 && k < bodySeen + take; k++) {
                int b = buf.getUnsignedByte(i + k - bodySeen);
                if (k < 2) {
                    id = (id << 8) | b;
                } else {
                    flags = (flags << 8) | b;
                }
            }
            bodySeen += take;
            i += take;
            if (bodySeen == frameLength) {
                completeFrame();
            }
        }
    }

    private void completeFrame() {
        pending.add(frameLength >= Dns.HEADER_SIZE
                ? new PendingHeaders.Header(id, flags, null)
                : PendingHeaders.UNREADABLE);
        prefixSeen = 0;
        frameLength = 0;
        bodySeen = 0;
        id = 0;
        flags = 0;
    }
}
