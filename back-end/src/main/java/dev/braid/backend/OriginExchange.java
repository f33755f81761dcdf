package dev.braid.backend;

import dev.braid.managers.config.RequestType;
import dev.braid.managers.config.Site;
import dev.braid.runtime.HttpForwarding;
import dev.braid.runtime.HttpCodecPool;
import dev.braid.tmp.ResetCode;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One TMP stream at the back-end: the HTTP/1.1 request the front-end re-serialised onto the stream
 * is parsed (strictly), typed, given an origin by its site's {@link SiteDispatcher} (perhaps after
 * waiting in the site's queue), sent over a pooled keep-alive connection, and the response is
 * re-serialised onto the stream. Everything runs on the link's event loop, which is also the
 * origin connection's loop.
 *
 * <p>Backpressure both ways: request bytes are credited back to the front-end only once written to
 * the origin; the origin is read only while the stream is writable, so a slow client holds at
 * most the stream's credit at the front-end plus the stream's send high-water mark and one read
 * here, never the whole response.
 *
 * <p>Retries: a request whose origin cannot be reached never left the back-end and goes to
 * another origin once, whatever its method. An idempotent request (RFC 9110 §9.2.2) whose origin
 * closes or breaks the connection before any response byte is sent again, once, to another origin
 * (if its body, kept for that purpose, was at most {@link #RETRY_BODY_BYTES}); a non-idempotent
 * one is never replayed and gets a 502 that says so.
 */
final class OriginExchange implements TmpStreamHandler, SiteDispatcher.Client {

    private static final Logger log = LoggerFactory.getLogger(OriginExchange.class);

    /** Largest request body kept for a retry, in bytes. */
    static final int RETRY_BODY_BYTES = 64 * 1024;
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

    private final BackEnd backEnd;
    private final EventLoop loop;
    private TmpStream stream;
    /**
     * Parses the request bytes from the stream and serialises the response onto it: taken from the
     * loop's {@link HttpCodecPool} at the first request byte, given back when the exchange completes
     * with both messages whole, null before and after.
     */
    private EmbeddedChannel codec;
    /** Whether the exchange ended with its request and response both whole, so its codec is between messages. */
    private boolean codecReusable;
    /** Request parts (and stream credit to return) waiting to be written to the origin. */
    private final ArrayDeque<Object> toOrigin = new ArrayDeque<>();
    /** Copies of the request so far, for one retry of an idempotent request; null when it cannot be retried. */
    private List<Object> replay;
    private int replayBytes;

    private HttpRequest request;
    private HttpMethod method;
    private SiteDispatcher dispatcher;
    private SiteDispatcher.Ticket ticket;
    private boolean ticketHeld;
    private OriginTarget target;
    private Channel origin;
    private ScheduledFuture<?> responseTimer;
    private int attempts;
    private String firstFailure;
    /** The origin connection of this attempt had served an exchange before (it came from the idle pool). */
    private boolean reusedConnection;
    /** The request already went again after a kept-alive connection closed under it. */
    private boolean staleRetried;
    /** The next connection is a new one, not an idle one from the pool. */
    private boolean freshConnection;
    private boolean requestComplete;
    private boolean responseStarted;
    private boolean originKeepAlive;
    private boolean done;
    private boolean counted = true;
    private long startNanos;

    OriginExchange(BackEnd backEnd, TmpStream stream) {
        this.backEnd = backEnd;
        this.stream = stream;
        this.loop = (EventLoop) stream.executor();
    }

    @Override
    public EventLoop loop() {
        return loop;
    }

    @Override
    public void onData(TmpStream s, ByteBuf data, boolean fin) {
        stream = s;
        int n = data.readableBytes();
        if (done) {
            data.release();
            s.consumed(n);
            return;
        }
        if (codec == null) {
            codec = HttpCodecPool.server().take();
        }
        // A failure below ends the codec; the local keeps reading what it still returns (nothing).
        EmbeddedChannel c = codec;
        c.writeInbound(data);
        boolean produced = false;
        Object msg;
        while ((msg = c.readInbound()) != null) {
            produced = true;
            if (done) {
                ReferenceCountUtil.release(msg);
                continue;
            }
            handleRequestPart(msg);
        }
        if (fin && !requestComplete && !done) {
            fail(400, "request ended before its body was complete", 0);
        }
        if (!produced || done) {
            s.consumed(n);
        } else {
            toOrigin.add(new Credit(n));
            flushToOrigin();
        }
    }

    private void handleRequestPart(Object msg) {
        if (msg instanceof HttpRequest req) {
            if (request != null) {
                ReferenceCountUtil.release(msg);
                fail(400, "more than one request on a stream", 0);
                return;
            }
            if (req.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                fail(400, "malformed request from the front-end: " + req.decoderResult().cause().getMessage(), 0);
                return;
            }
            request = req;
            method = req.method();
            HttpRequest forward = HttpForwarding.forwardRequest(req, backEnd.name());
            if (!place(req)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            toOrigin.add(forward);
            if (IDEMPOTENT.contains(method)) {
                replay = new ArrayList<>();
                replay.add(forward);
            }
        }
        if (msg instanceof HttpContent content) {
            if (content.decoderResult().isFailure()) {
                content.release();
                fail(400, "malformed request body: " + content.decoderResult().cause().getMessage(), 0);
                return;
            }
            if (content instanceof LastHttpContent) {
                requestComplete = true;
            }
            keepForReplay(content);
            toOrigin.add(content);
        }
    }

    private void keepForReplay(HttpContent content) {
        if (replay == null) {
            return;
        }
        replayBytes += content.content().readableBytes();
        if (replayBytes > RETRY_BODY_BYTES) {
            dropReplay();
            return;
        }
        replay.add(content.retainedDuplicate());
    }

    private void dropReplay() {
        if (replay != null) {
            replay.forEach(ReferenceCountUtil::release);
            replay = null;
        }
    }

    /** Finds the request's site and type and asks the site's dispatcher for an origin. */
    private boolean place(HttpRequest req) {
        String host = req.headers().get(HttpHeaderNames.HOST);
        String siteName = req.headers().get(HttpForwarding.SITE_HEADER);
        Site site = siteName != null ? backEnd.config().site(siteName) : backEnd.config().siteForHost(host);
        dispatcher = site == null ? null : backEnd.dispatcher(site.name());
        if (dispatcher == null) {
            fail(421, "this back-end serves no site " + (siteName != null ? siteName : "for host " + host), 0);
            return false;
        }
        RequestType type = dispatcher.type(method.name(), req.uri(), req.headers());
        ticket = new SiteDispatcher.Ticket(this, type, stream.ring());
        ticketHeld = true;
        startNanos = System.nanoTime();
        dispatcher.submit(ticket);
        return true;
    }

    // ---- the dispatcher's answers (this loop) ----

    @Override
    public void assigned(SiteDispatcher.Ticket t, OriginTarget assignedTarget) {
        if (done || t != ticket) {
            dispatcher.release(t, SiteDispatcher.Outcome.CANCELLED, "exchange already over");
            return;
        }
        target = assignedTarget;
        Future<Channel> f = backEnd.pool().acquire(loop, target, freshConnection);
        freshConnection = false;
        if (f.isDone()) {
            connected(f, assignedTarget);
        } else {
            f.addListener(x -> connected(f, assignedTarget));
        }
    }

    @Override
    public void refused(SiteDispatcher.Ticket t, int status, String reason, int retryAfterSeconds) {
        if (t != ticket) {
            return;
        }
        ticketHeld = false;
        fail(status, firstFailure == null ? reason : firstFailure + "; no other origin to retry on: " + reason,
                retryAfterSeconds);
    }

    private void connected(Future<Channel> f, OriginTarget forTarget) {
        if (done || forTarget != target) {
            if (f.isSuccess()) {
                backEnd.pool().release(forTarget, f.getNow());
            }
            return;
        }
        if (!f.isSuccess()) {
            String why = "cannot connect to origin " + target + ": " + describe(f.cause());
            // Nothing was sent: any request may go elsewhere, once.
            retryOrFail(SiteDispatcher.Outcome.CONNECT_FAILED, why, true);
            return;
        }
        origin = f.getNow();
        origin.attr(OriginPool.EXCHANGE).set(this);
        reusedConnection = Boolean.TRUE.equals(origin.attr(OriginPool.SERVED).get());
        int timeout = target.responseTimeoutMillis;
        responseTimer = loop.schedule(this::responseTimedOut, timeout, TimeUnit.MILLISECONDS);
        flushToOrigin();
        origin.read();
    }

    private static String describe(Throwable cause) {
        String m = cause.getMessage();
        return m == null ? cause.getClass().getSimpleName() : m;
    }

    private void flushToOrigin() {
        if (origin == null || done) {
            return;
        }
        boolean wrote = false;
        Object item;
        while ((item = toOrigin.poll()) != null) {
            if (item instanceof Credit credit) {
                TmpStream s = stream;
                origin.write(Unpooled.EMPTY_BUFFER).addListener(x -> s.consumed(credit.bytes));
            } else {
                origin.write(item);
            }
            wrote = true;
        }
        if (wrote) {
            origin.flush();
        }
    }

    // ---- origin events (this loop) ----

    /** A response part from the origin. */
    void originRead(Object msg) {
        if (done) {
            ReferenceCountUtil.release(msg);
            return;
        }
        HttpObject obj = (HttpObject) msg;
        if (obj.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            originFailed(SiteDispatcher.Outcome.RESET, "malformed response from origin " + target.name + ": "
                    + obj.decoderResult().cause().getMessage());
            return;
        }
        if (msg instanceof HttpResponse res) {
            if (res.status().code() == 100) {
                // Interim response to Expect: 100-continue is hop-by-hop here; the body is already on its way.
                ReferenceCountUtil.release(msg);
                return;
            }
            cancelResponseTimer();
            responseStarted = true;
            dropReplay();
            originKeepAlive = HttpUtil.isKeepAlive(res);
            HttpResponse forward = HttpForwarding.forwardResponse(res, backEnd.name(), method);
            stream.compressible(compressibleBody(res.headers()));
            codec.writeOutbound(forward);
            backEnd.metrics().responses(target.name, res.status().code());
            dispatcher.responded(ticket, res.status().code());
        }
        if (msg instanceof HttpContent content) {
            boolean last = content instanceof LastHttpContent;
            backEnd.metrics().responseBytes(target.site, target.name, content.content().readableBytes());
            codec.writeOutbound(content);
            drainToStream();
            if (last) {
                complete();
            }
            return;
        }
        drainToStream();
    }

    void originReadComplete() {
        if (!done && origin != null && stream.isWritable()) {
            origin.read();
        }
    }

    @Override
    public void onWritable(TmpStream s) {
        if (!done && origin != null) {
            origin.read();
        }
    }

    void originClosed(String reason) {
        if (!done) {
            originFailed(SiteDispatcher.Outcome.RESET, "origin " + target.name + ": " + reason);
        }
    }

    private void responseTimedOut() {
        responseTimer = null;
        if (done || responseStarted) {
            return;
        }
        String why = "origin " + target.name + " sent no response within " + target.responseTimeoutMillis + " ms";
        detachOrigin();
        if (ticketHeld) {
            ticketHeld = false;
            dispatcher.release(ticket, SiteDispatcher.Outcome.TIMEOUT, why);
        }
        fail(504, why, 0);
    }

    private void originFailed(SiteDispatcher.Outcome outcome, String reason) {
        cancelResponseTimer();
        detachOrigin();
        if (outcome == SiteDispatcher.Outcome.RESET && !responseStarted && reusedConnection && !staleRetried
                && replay != null) {
            // A kept-alive connection closed as the request went out on it: the origin's idle
            // timeout raced ours (Node's default is 5 s). Nothing was answered and the request is
            // idempotent, so it goes again, once, to the same origin on another connection; this
            // says nothing about the origin's health, and the origin is not excluded.
            staleRetried = true;
            log.debug("stream {}: {} on a reused connection; sending the request again", stream.id(), reason);
            backEnd.metrics().retry(target.site, "stale_connection");
            // The copies stay kept: should the origin itself be gone, the retry on another origin still has them.
            restoreFromReplay(true);
            freshConnection = true;
            assigned(ticket, target);
            return;
        }
        if (responseStarted) {
            log.warn("stream {}: {} after the response began", stream.id(), reason);
            done = true;
            releaseTicket(outcome, reason);
            stream.reset(ResetCode.ORIGIN_UNREACHABLE, reason);
            cleanup();
            return;
        }
        retryOrFail(outcome, reason, replay != null);
    }

    /** Sends the request to another origin if this is the first failure and it may be sent again; else answers 502. */
    private void retryOrFail(SiteDispatcher.Outcome outcome, String reason, boolean resendable) {
        log.debug("stream {}: {}", stream.id(), reason);
        if (attempts == 0 && resendable) {
            attempts++;
            firstFailure = reason;
            if (outcome != SiteDispatcher.Outcome.CONNECT_FAILED) {
                restoreFromReplay(false);
            }
            target = null;
            dispatcher.retry(ticket, outcome, reason);
            return;
        }
        releaseTicket(outcome, reason);
        String why = firstFailure == null ? reason : firstFailure + "; retried, then " + reason;
        if (!resendable && outcome != SiteDispatcher.Outcome.CONNECT_FAILED) {
            why += replay == null && IDEMPOTENT.contains(method)
                    ? "; the request body was too large to keep for a retry, so it was not sent again"
                    : "; " + method + " is not idempotent, so it was not replayed on another origin";
        }
        fail(502, why, 0);
    }

    /**
     * Puts the kept copy of the request back in front of what has not been written yet (only
     * credit, by then); with {@code keep}, duplicates of it, the copy staying kept for another retry.
     */
    private void restoreFromReplay(boolean keep) {
        List<Object> copies = replay;
        if (keep) {
            copies = new ArrayList<>(replay.size());
            for (Object o : replay) {
                copies.add(o instanceof io.netty.buffer.ByteBufHolder h ? h.retainedDuplicate() : o);
            }
        } else {
            replay = null;
        }
        ArrayDeque<Object> rest = new ArrayDeque<>(toOrigin);
        toOrigin.clear();
        toOrigin.addAll(copies);
        for (Object o : rest) {
            if (o instanceof Credit) {
                toOrigin.add(o);
            } else {
                // Also in the copies: this one was never written.
                ReferenceCountUtil.release(o);
            }
        }
    }

    private void detachOrigin() {
        if (origin != null) {
            origin.attr(OriginPool.EXCHANGE).set(null);
            origin.close();
            origin = null;
        }
    }

    private void cancelResponseTimer() {
        if (responseTimer != null) {
            responseTimer.cancel(false);
            responseTimer = null;
        }
    }

    private void drainToStream() {
        ByteBuf out;
        while ((out = codec.readOutbound()) != null) {
            stream.write(out);
        }
    }

    private void complete() {
        done = true;
        codecReusable = requestComplete;
        stream.end();
        if (origin != null) {
            Channel ch = origin;
            origin = null;
            if (originKeepAlive && requestComplete && toOrigin.isEmpty()) {
                backEnd.pool().release(target, ch);
            } else {
                ch.attr(OriginPool.EXCHANGE).set(null);
                ch.close();
            }
        }
        backEnd.metrics().latency(target.site, target.name, System.nanoTime() - startNanos);
        releaseTicket(SiteDispatcher.Outcome.COMPLETED, "complete");
        cleanup();
    }

    private void releaseTicket(SiteDispatcher.Outcome outcome, String detail) {
        if (ticketHeld) {
            ticketHeld = false;
            dispatcher.release(ticket, outcome, detail);
        }
    }

    /** Answers the stream with an error response of the back-end's own, saying why. */
    private void fail(int status, String reason, int retryAfterSeconds) {
        if (done) {
            return;
        }
        done = true;
        cancelResponseTimer();
        detachOrigin();
        releaseTicket(SiteDispatcher.Outcome.CANCELLED, reason);
        if (request == null) {
            // The request head never parsed, so the codec cannot frame a response: reset instead.
            stream.reset(ResetCode.PROTOCOL_ERROR, reason);
            cleanup();
            return;
        }
        byte[] body = (HttpResponseStatus.valueOf(status) + ": " + reason + "\n").getBytes(StandardCharsets.UTF_8);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        res.headers().set("X-Braid-Error", reason.replaceAll("[\\r\\n]", " "));
        if (retryAfterSeconds > 0) {
            res.headers().setInt(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        HttpForwarding.appendVia(res.headers(), HttpVersion.HTTP_1_1, backEnd.name());
        codec.writeOutbound(res);
        drainToStream();
        stream.end();
        backEnd.metrics().responses(target == null ? "none" : target.name, status);
        cleanup();
    }

    @Override
    public void onReset(TmpStream s, ResetCode code, String reason) {
        stream = s;
        if (!done) {
            done = true;
            cancelResponseTimer();
            detachOrigin();
            releaseTicket(SiteDispatcher.Outcome.CANCELLED, "stream reset: " + code + " " + reason);
        }
        cleanup();
    }

    private void cleanup() {
        Object item;
        while ((item = toOrigin.poll()) != null) {
            if (item instanceof Credit credit) {
                stream.consumed(credit.bytes);
            } else {
                ReferenceCountUtil.release(item);
            }
        }
        dropReplay();
        if (codec != null) {
            if (codecReusable) {
                HttpCodecPool.server().give(codec);
            } else {
                HttpCodecPool.discard(codec);
            }
            codec = null;
        }
        if (counted) {
            counted = false;
            backEnd.exchangeEnded();
        }
    }

    /** Stream bytes to credit back once everything queued before it has reached the origin. */
    private record Credit(int bytes) {
    }

    /**
     * Whether a body with these headers is worth LZ4 on the TMP link: text-like types (text, JSON,
     * XML, JavaScript, SVG, forms) that are not already content-encoded (gzip, br). The link then
     * compresses each DATA frame on its own, and only where that saves at least 10%.
     */
    static boolean compressibleBody(io.netty.handler.codec.http.HttpHeaders headers) {
        String encoding = headers.get(HttpHeaderNames.CONTENT_ENCODING);
        if (encoding != null && !encoding.trim().equalsIgnoreCase("identity")) {
            return false;
        }
        String type = headers.get(HttpHeaderNames.CONTENT_TYPE);
        if (type == null) {
            return false;
        }
        String t = type.toLowerCase(java.util.Locale.ROOT);
        return t.startsWith("text/") || t.contains("json") || t.contains("xml") || t.contains("javascript")
                || t.contains("svg") || t.contains("x-www-form-urlencoded");
    }
}
