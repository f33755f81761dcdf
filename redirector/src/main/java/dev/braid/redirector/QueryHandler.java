package dev.braid.redirector;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Last handler of both pipelines: answers each decoded {@link DnsQuery} from the live
 * {@link ZoneView} and answers FORMERR to a message Netty's decoder rejected when its header was
 * readable. It releases every query it receives, reads the live view once per query and never
 * blocks. Over UDP an answer is cut to the client's limit (TC set when the answer section had to
 * go); over TCP a rejected message closes the connection after its FORMERR, so no bytes after a
 * broken message are ever parsed.
 */
final class QueryHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(QueryHandler.class);

    private final int transport;
    private final AtomicReference<ZoneView> view;
    private final AtomicInteger rotation;
    private final PendingHeaders pending;
    private final RedirectorMetrics metrics;
    private final ChannelFutureListener writeFailures;
    private boolean flushPending;
    /** A TCP connection that sent a broken message: it is not read again, only closed. */
    private boolean closing;

    QueryHandler(int transport, AtomicReference<ZoneView> view, AtomicInteger rotation, PendingHeaders pending,
                 RedirectorMetrics metrics) {
        this.transport = transport;
        this.view = view;
        this.rotation = rotation;
        this.pending = pending;
        this.metrics = metrics;
        this.writeFailures = f -> {
            if (!f.isSuccess()) {
                metrics.dropped(transport, "write_failed");
                log.debug("redirector {}: answer not sent", RedirectorMetrics.transport(transport), f.cause());
            }
        };
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DnsQuery query) || closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            pending.take();
            long start = System.nanoTime();
            Answer answer;
            Query q = null;
            try {
                q = WireCodec.query(query);
                answer = view.get().answer(q, rotation.getAndIncrement());
            } catch (RuntimeException e) {
                // A bug must cost one answer, never the server.
                log.warn("redirector {}: cannot answer query {}", RedirectorMetrics.transport(transport), query, e);
                Query header = q != null ? q : new Query(query.id(), query.opCode().byteValue() & 0xF,
                        query.isRecursionDesired(), false, List.of(), null, 0);
                answer = Answer.error(header, Dns.RCODE_SERVFAIL, q != null);
            }
            InetSocketAddress client = null;
            InetSocketAddress local = null;
            if (query instanceof DatagramDnsQuery datagram) {
                client = datagram.sender();
                local = datagram.recipient();
                answer = answer.truncatedTo(q != null ? q.udpResponseLimit() : Dns.CLASSIC_UDP_LIMIT);
            } else {
                answer = answer.truncatedTo(Dns.TCP_LIMIT);
            }
            send(ctx, answer, local, client, start);
        } finally {
            query.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof DecoderException)) {
            if (transport == RedirectorMetrics.TCP) {
                log.debug("redirector tcp: closing {}", ctx.channel().remoteAddress(), cause);
                ctx.close();
            } else {
                // The one UDP socket serves every client: an error about one client (an ICMP port
                // unreachable, say) must not close it.
                log.debug("redirector udp: {}", cause.toString());
            }
            return;
        }
        PendingHeaders.Header header = pending.take();
        log.debug("redirector {}: undecodable message (id {}): {}", RedirectorMetrics.transport(transport),
                header.id(), cause.getMessage());
        boolean answerable = header != PendingHeaders.UNREADABLE && !header.isResponse();
        if (!answerable) {
            metrics.dropped(transport, "malformed");
        }
        Answer formErr = answerable ? Answer.error(header.asQuery(), Dns.RCODE_FORMERR, false) : null;
        if (transport == RedirectorMetrics.UDP) {
            if (formErr != null) {
                InetSocketAddress local = ctx.channel().localAddress() instanceof InetSocketAddress a ? a : null;
                send(ctx, formErr, local, header.sender(), System.nanoTime());
            }
            return;
        }
        closing = true;
        ctx.channel().config().setAutoRead(false);
        if (formErr != null) {
            metrics.answered(transport, formErr, System.nanoTime());
            ctx.writeAndFlush(WireCodec.response(formErr, null, null))
                    .addListener(writeFailures).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    private void send(ChannelHandlerContext ctx, Answer answer, InetSocketAddress local, InetSocketAddress client,
                      long start) {
        if (transport == RedirectorMetrics.UDP && !ctx.channel().isWritable()) {
            // Answers a full socket cannot take are dropped here rather than queued without bound.
            metrics.dropped(transport, "backpressure");
            return;
        }
        DnsResponse response = WireCodec.response(answer, local, client);
        metrics.answered(transport, answer, start);
        ctx.write(response).addListener(writeFailures);
        flushPending = true;
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
