package dev.braid.redirector;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Connects a channel to its event loop's {@link Responder}: UDP datagrams, or TCP messages
 * already split from their two-octet length prefix, go in; answers go out in pooled buffers,
 * flushed once per read batch. It releases every message it receives and never blocks.
 *
 * <ul>
 *   <li>UDP: a datagram that arrives while the socket cannot take more is dropped unanswered
 *       (counted as backpressure) rather than answered into an unbounded queue. Answers are
 *       written with the void promise: a failed send reaches {@link #exceptionCaught} and is counted.</li>
 *   <li>TCP: a message that is not a query closes the connection; one whose body does not decode
 *       is answered FORMERR, then the connection is closed and nothing after it is parsed. A client
 *       that does not read its answers stops being read (write-buffer water marks).</li>
 * </ul>
 * Confined to its channel's event loop.
 */
final class QueryHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(QueryHandler.class);
    private static final int FIRST_ANSWER_CAPACITY = 512;

    private final int transport;
    private final Responder responder;
    private final RedirectorMetrics metrics;
    private final ChannelFutureListener writeFailures;
    private boolean flushPending;
    /** A TCP connection that sent a broken message: it is not read again, only closed. */
    private boolean closing;
    /** The TCP peer's address octets, read once. */
    private byte[] peer;

    QueryHandler(int transport, Responder responder, RedirectorMetrics metrics) {
        this.transport = transport;
        this.responder = responder;
        this.metrics = metrics;
        this.writeFailures = f -> {
            if (!f.isSuccess()) {
                metrics.dropped(transport, "write_failed");
            }
        };
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (closing) {
                return;
            }
            if (msg instanceof DatagramPacket packet) {
                udp(ctx, packet);
            } else if (msg instanceof ByteBuf frame) {
                tcp(ctx, frame);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void udp(ChannelHandlerContext ctx, DatagramPacket packet) {
        if (!ctx.channel().isWritable()) {
            metrics.dropped(transport, "backpressure");
            return;
        }
        InetSocketAddress sender = packet.sender();
        InetAddress address = sender.getAddress();
        ByteBuf out = ctx.alloc().ioBuffer(FIRST_ANSWER_CAPACITY);
        try {
            int result = responder.udp(packet.content(), address == null ? null : address.getAddress(), out,
                    System.nanoTime());
            if (result >= 0) {
                ctx.write(new DatagramPacket(out, sender, packet.recipient()), ctx.voidPromise());
                out = null;
                flushPending = true;
            }
        } finally {
            if (out != null) {
                out.release();
            }
        }
    }

    private void tcp(ChannelHandlerContext ctx, ByteBuf frame) {
        if (peer == null && ctx.channel().remoteAddress() instanceof InetSocketAddress isa
                && isa.getAddress() != null) {
            peer = isa.getAddress().getAddress();
        }
        ByteBuf out = ctx.alloc().ioBuffer(FIRST_ANSWER_CAPACITY + 2);
        int result;
        try {
            result = responder.tcp(frame, peer, out, System.nanoTime());
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        if (result == Responder.TCP_CLOSE) {
            out.release();
            closing = true;
            ctx.close();
            return;
        }
        if (result == Responder.TCP_ANSWERED_THEN_CLOSE) {
            closing = true;
            ctx.channel().config().setAutoRead(false);
            ctx.writeAndFlush(out).addListener(writeFailures).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.write(out).addListener(writeFailures);
        flushPending = true;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (transport == RedirectorMetrics.TCP) {
            log.debug("redirector tcp: closing {}", ctx.channel().remoteAddress(), cause);
            ctx.close();
        } else {
            // The UDP socket serves every client: an error about one of them (a send refused, an
            // ICMP port unreachable surfacing as an exception) must not close it.
            metrics.dropped(transport, "write_failed");
            log.debug("redirector udp: {}", cause.toString());
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (flushPending) {
            flushPending = false;
            ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (transport == RedirectorMetrics.TCP && !closing) {
            // A client that sends queries but does not read its answers stops being read.
            ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }
}
