package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;
import dev.braid.runtime.Metrics;
import io.netty.buffer.ByteBuf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The redirector's data path without sockets: one DNS message in wire form to its answer in wire
 * form. It reads the query ({@link MessageReader}), answers it from the live {@link ZoneView}
 * (read once per message), applies the response rate limit to UDP answers, and writes the answer
 * ({@link MessageWriter}), cut to the client's UDP limit or whole for TCP. It counts every answer
 * and every drop, logs nothing per message (a broken answer core is the one exception: that is a
 * bug, logged at warn), takes no lock, and keeps its scratch state between messages.
 *
 * <p>One instance per event loop, shared by the UDP socket and the TCP connections of that loop;
 * not thread-safe. Its rotation counter (the position in the hand-off weights) is per instance,
 * so each loop walks the weights on its own. The view and the rate limiter are shared and safe
 * to read from any thread.
 */
public final class Responder {

    /** {@link #udp} result: nothing to send, the datagram was too short for a header. */
    public static final int DROPPED_SHORT = -1;
    /** {@link #udp} result: nothing to send, the datagram was a response (QR set). */
    public static final int DROPPED_RESPONSE = -2;
    /** {@link #udp} result: nothing to send, the answer was over the response rate limit. */
    public static final int DROPPED_RATE_LIMIT = -3;

    /** {@link #tcp} result: an answer was written; keep reading the connection. */
    public static final int TCP_ANSWERED = 0;
    /** {@link #tcp} result: a FORMERR answer was written; close the connection after it. */
    public static final int TCP_ANSWERED_THEN_CLOSE = 1;
    /** {@link #tcp} result: nothing was written; close the connection. */
    public static final int TCP_CLOSE = 2;

    private static final Logger log = LoggerFactory.getLogger(Responder.class);

    private final Supplier<ZoneView> view;
    private final Supplier<ResponseRateLimiter> limiter;
    private final RedirectorMetrics metrics;
    private final MessageReader reader = new MessageReader();
    private final MessageWriter writer = new MessageWriter();
    private int rotation;

    Responder(Supplier<ZoneView> view, Supplier<ResponseRateLimiter> limiter, RedirectorMetrics metrics) {
        this.view = view;
        this.limiter = limiter;
        this.metrics = metrics;
    }

    /**
     * A responder outside a running redirector, for benchmarks and tools: it answers from
     * {@code view}, limits UDP answers with {@code rrl} (null or a zero rate: no limit) and counts
     * into {@code metrics}, which must hold no other redirector's metrics.
     */
    public static Responder standalone(Supplier<ZoneView> view, DnsSettings.RrlSettings rrl, Metrics metrics) {
        AtomicReference<ResponseRateLimiter> l = new AtomicReference<>(ResponseRateLimiter.of(rrl));
        return new Responder(view, l::get, new RedirectorMetrics(metrics, () -> view.get().version(), () -> 0));
    }

    /**
     * Answers one UDP datagram.
     *
     * @param in       the datagram's bytes (readable bytes; indices are not moved); not released
     * @param client   the sender's address, 4 or 16 octets, or null when unknown (no rate limit applies)
     * @param out      where the answer is appended, at most the client's UDP limit of octets
     * @param nowNanos {@link System#nanoTime()}: the rate limiter's clock and the latency metric's start
     * @return the answer's RCODE (>= 0) when an answer was written, else one of the {@code DROPPED_*} codes
     */
    public int udp(ByteBuf in, byte[] client, ByteBuf out, long nowNanos) {
        if (in.readableBytes() < Dns.HEADER_SIZE) {
            metrics.dropped(RedirectorMetrics.UDP, "short");
            return DROPPED_SHORT;
        }
        if ((in.getUnsignedByte(in.readerIndex() + 2) & 0x80) != 0) {
            metrics.dropped(RedirectorMetrics.UDP, "response");
            return DROPPED_RESPONSE;
        }
        Query query = read(in);
        Answer answer = answer(in, query, client);
        if (client != null) {
            ResponseRateLimiter rrl = limiter.get();
            if (rrl != null) {
                switch (rrl.check(client, answer, nowNanos)) {
                    case DROP -> {
                        metrics.dropped(RedirectorMetrics.UDP, "rate_limit");
                        return DROPPED_RATE_LIMIT;
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
        int limit = query != null ? query.udpResponseLimit() : Dns.CLASSIC_UDP_LIMIT;
        boolean tc = writer.write(answer, out, limit);
        metrics.answered(RedirectorMetrics.UDP, answer.rcode(), tc, nowNanos);
        return answer.rcode();
    }

    /**
     * Answers one TCP message (already split from its two-octet length prefix) and writes the
     * answer with its own prefix.
     *
     * @param in     the message's bytes; not released
     * @param client the peer's address, or null
     * @return {@link #TCP_ANSWERED}, {@link #TCP_ANSWERED_THEN_CLOSE} or {@link #TCP_CLOSE}
     */
    public int tcp(ByteBuf in, byte[] client, ByteBuf out, long nowNanos) {
        if (in.readableBytes() < Dns.HEADER_SIZE) {
            metrics.dropped(RedirectorMetrics.TCP, "short");
            return TCP_CLOSE;
        }
        if ((in.getUnsignedByte(in.readerIndex() + 2) & 0x80) != 0) {
            metrics.dropped(RedirectorMetrics.TCP, "response");
            return TCP_CLOSE;
        }
        Query query = read(in);
        Answer answer = answer(in, query, client);
        int start = out.writerIndex();
        out.writeShort(0);
        writer.write(answer, out, Dns.TCP_LIMIT);
        out.setShort(start, out.writerIndex() - start - 2);
        metrics.answered(RedirectorMetrics.TCP, answer.rcode(), false, nowNanos);
        return query == null ? TCP_ANSWERED_THEN_CLOSE : TCP_ANSWERED;
    }

    /** The query in {@code in}, or null when its body does not decode. */
    private Query read(ByteBuf in) {
        try {
            return reader.decode(in);
        } catch (MalformedMessageException e) {
            return null;
        }
    }

    /** The answer: FORMERR with the ID (and no question) when the body did not decode. */
    private Answer answer(ByteBuf in, Query q, byte[] client) {
        if (q == null) {
            int flags = in.getUnsignedShort(in.readerIndex() + 2);
            Query header = new Query(in.getUnsignedShort(in.readerIndex()), (flags >>> 11) & 0xF,
                    (flags & 0x0100) != 0, (flags & 0x0010) != 0, List.of(), null, 0);
            return Answer.error(header, Dns.RCODE_FORMERR, false);
        }
        try {
            return view.get().answer(q, client, rotation++);
        } catch (RuntimeException e) {
            // A bug must cost one answer, never the server.
            log.warn("redirector: cannot answer query {}", q, e);
            return Answer.error(q, Dns.RCODE_SERVFAIL, q.questions().size() == 1);
        }
    }
}
