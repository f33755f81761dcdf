package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Answers DNS messages: UDP datagrams, or TCP messages already split from their two-octet length
 * prefix. It reads each query with {@link MessageReader}, answers from the live {@link ZoneView}
 * (read once per query) and writes with {@link MessageWriter} into a pooled buffer. It releases
 * every message it receives and never blocks.
 *
 * <ul>
 *   <li>A message shorter than a header, or with QR set, is dropped (answering responses could make
 *       two servers bounce packets forever); over TCP the connection is closed.</li>
 *   <li>A message whose header is readable but whose body is not is answered FORMERR with its ID;
 *       over TCP the connection is closed after it, so no bytes after a broken message are parsed.</li>
 *   <li>UDP answers are cut to the client's limit (TC set when a whole answer RRset had to go) and
 *       pass the response rate limiter; TCP answers go whole.</li>
 * </ul>
 * Confined to its channel's event loop.
 */
final class QueryHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(QueryHandler.class);

    private final int transport;
    private final AtomicReference<ZoneView> view;
    private final AtomicInteger rotation;
    private final RedirectorMetrics metrics;
    private final Supplier<DnsSettings.RrlSettings> rrlSettings;
    private final ChannelFutureListener writeFailures;
    private final MessageWriter writer = new MessageWriter();
    private DnsSettings.RrlSettings rrlInUse;
    private ResponseRateLimiter limiter;
    private boolean flushPending;
    /** A TCP connection that sent a broken message: it is not read again, only closed. */
    private boolean closing;

    QueryHandler(int transport, AtomicReference<ZoneView> view, AtomicInteger rotation, RedirectorMetrics metrics,
                 Supplier<DnsSettings.RrlSettings> rrlSettings) {
        this.transport = transport;
        this.view = view;
        this.rotation = rotation;
        this.metrics = metrics;
        this.rrlSettings = rrlSettings;
        this.writeFailures = f -> {
            if (!f.isSuccess()) {
                metrics.dropped(transport, "write_failed");
                log.debug("redirector {}: answer not sent", RedirectorMetrics.transport(transport), f.cause());
            }
        };
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
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
        ByteBuf in = packet.content();
        if (in.readableBytes() < Dns.HEADER_SIZE) {
            metrics.dropped(transport, "short");
            return;
        }
        if ((in.getUnsignedByte(in.readerIndex() + 2) & 0x80) != 0) {
            metrics.dropped(transport, "response");
            return;
        }
        long start = System.nanoTime();
        InetSocketAddress client = packet.sender();
        byte[] resolver = client.getAddress() == null ? null : client.getAddress().getAddress();
        Answered a = answer(in, resolver);
        if (!ctx.channel().isWritable()) {
            // Answers a full socket cannot take are dropped here rather than queued without bound.
            metrics.dropped(transport, "backpressure");
            return;
        }
        Answer answer = a.answer;
        if (resolver != null) {
            ResponseRateLimiter rrl = limiter();
            if (rrl != null) {
                switch (rrl.check(resolver, answer, start)) {
                    case DROP -> {
                        metrics.dropped(transport, "rate_limit");
                        return;
                    }
                    case SLIP -> {
                        metrics.rateLimitSlipped();
                        answer = answer.emptyTruncated();
                    }
                    default -> {
                    }
                }
            }
        }
        int limit = a.query != null ? a.query.udpResponseLimit() : Dns.CLASSIC_UDP_LIMIT;
        ByteBuf out = ctx.alloc().ioBuffer(Math.min(limit, 512));
        boolean sent = false;
        try {
            boolean tc = writer.write(answer, out, limit);
            metrics.answered(transport, answer.rcode(), tc, start);
            ctx.write(new DatagramPacket(out, client, packet.recipient())).addListener(writeFailures);
            sent = true;
            flushPending = true;
        } finally {
            if (!sent) {
                out.release();
            }
        }
    }

    private void tcp(ChannelHandlerContext ctx, ByteBuf frame) {
        if (frame.readableBytes() < Dns.HEADER_SIZE || (frame.getUnsignedByte(frame.readerIndex() + 2) & 0x80) != 0) {
            metrics.dropped(transport, frame.readableBytes() < Dns.HEADER_SIZE ? "short" : "response");
            close(ctx, null, 0);
            return;
        }
        long start = System.nanoTime();
        byte[] resolver = ctx.channel().remoteAddress() instanceof InetSocketAddress isa && isa.getAddress() != null
                ? isa.getAddress().getAddress() : null;
        Answered a = answer(frame, resolver);
        if (a.query == null) {
            close(ctx, a.answer, start);
            return;
        }
        write(ctx, a.answer, start);
        flushPending = true;
    }

    private ChannelFuture write(ChannelHandlerContext ctx, Answer answer, long start) {
        ByteBuf out = ctx.alloc().ioBuffer(514);
        boolean sent = false;
        try {
            out.writeShort(0);
            writer.write(answer, out, Dns.TCP_LIMIT);
            out.setShort(0, out.readableBytes() - 2);
            metrics.answered(transport, answer.rcode(), false, start);
            ChannelFuture f = ctx.write(out).addListener(writeFailures);
            sent = true;
            return f;
        } finally {
            if (!sent) {
                out.release();
            }
        }
    }

    private void close(ChannelHandlerContext ctx, Answer formErr, long start) {
        closing = true;
        ctx.channel().config().setAutoRead(false);
        if (formErr != null) {
            write(ctx, formErr, start).addListener(ChannelFutureListener.CLOSE);
            ctx.flush();
        } else {
            ctx.close();
        }
    }

    private record Answered(Query query, Answer answer) {
    }

    /** The answer to the message in {@code in}: FORMERR (and no query) when its body does not decode. */
    private Answered answer(ByteBuf in, byte[] resolver) {
        Query q;
        try {
            q = MessageReader.read(in);
        } catch (MalformedMessageException e) {
            int flags = in.getUnsignedShort(in.readerIndex() + 2);
            Query header = new Query(in.getUnsignedShort(in.readerIndex()), (flags >>> 11) & 0xF,
                    (flags & 0x0100) != 0, (flags & 0x0010) != 0, List.of(), null, 0);
            return new Answered(null, Answer.error(header, Dns.RCODE_FORMERR, false));
        }
        try {
            return new Answered(q, view.get().answer(q, resolver, rotation.getAndIncrement()));
        } catch (RuntimeException e) {
            // A bug must cost one answer, never the server.
            log.warn("redirector {}: cannot answer query {}", RedirectorMetrics.transport(transport), q, e);
            return new Answered(q, Answer.error(q, Dns.RCODE_SERVFAIL, q.questions().size() == 1));
        }
    }

    private ResponseRateLimiter limiter() {
        DnsSettings.RrlSettings current = rrlSettings == null ? null : rrlSettings.get();
        if (current != rrlInUse) {
            rrlInUse = current;
            limiter = current != null && current.responsesPerSecond() > 0 ? new ResponseRateLimiter(current) : null;
        }
        return limiter;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (transport == RedirectorMetrics.TCP) {
            log.debug("redirector tcp: closing {}", ctx.channel().remoteAddress(), cause);
            ctx.close();
        } else {
            // The one UDP socket serves every client: an error about one client (an ICMP port
            // unreachable surfacing as an exception) must not close it.
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
