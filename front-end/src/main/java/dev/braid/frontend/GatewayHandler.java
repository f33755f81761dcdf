package dev.braid.frontend;

import dev.braid.frontend.cache.CacheFill;
import dev.braid.frontend.cache.CacheResult;
import dev.braid.frontend.cache.CachedResponses;
import dev.braid.frontend.cache.HttpCache;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.GatewayLimits;
import dev.braid.managers.config.Site;
import dev.braid.runtime.HttpForwarding;
import dev.braid.runtime.HttpCodecPool;
import dev.braid.tmp.ResetCode;
import dev.braid.tmp.TmpLink;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client connection at the front-end. Requests are handled one at a time in arrival order
 * (pipelined requests wait, already parsed, until the response before them is complete); each is
 * checked, classified, looked up in the cache, and (unless the cache answers) re-serialised onto
 * a TMP stream at its class's priority; the response read back from the stream is sent to the
 * client with Via and X-Cache added, and copied into the cache when it leads a fill.
 *
 * <p>X-Cache says what the cache did: HIT (answered from a stored response, with X-Cache-Detail
 * STALE, REVALIDATED or COLLAPSED where that applies), MISS (looked up and forwarded) or BYPASS
 * (not looked up).
 *
 * <p>Reads from the client are explicit (auto-read is off): the next read happens only when the
 * current exchange can take more, so a fast uploader cannot fill memory.
 */
final class GatewayHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(GatewayHandler.class);
    /** How HTTP/2 is named where a version is written out: Via's {@code 2}, the access log's {@code HTTP/2.0} (as nginx logs it). */
    private static final HttpVersion HTTP_2 = new HttpVersion("HTTP", 2, 0, true);

    /** The event {@link FrontEnd#close()} sends every client connection when it starts to drain. */
    static final Object DRAIN = dev.braid.frontend.tls.ClientTls.DRAIN;

    /** The status the access log gives an exchange the client abandoned before its response ended. */
    static final int CLIENT_CLOSED = 499;

    private final FrontEnd frontEnd;
    private final GatewayLimits limits;
    private final ArrayDeque<HttpObject> inbound = new ArrayDeque<>();
    /** The idle or header timer while no exchange is under way, else null. */
    private ScheduledFuture<?> timer;
    /** Whether the timer running is the header timer: a byte of the next request head has arrived. */
    private boolean headStarted;
    /** The request being answered, for its ID and access log line; null before the first. */
    private AccessLog.Request info;
    private ChannelHandlerContext ctx;
    private Pending current;
    /** Set after a request we could not parse: everything after it is discarded and the connection closes. */
    private boolean closing;
    /** Guards {@link #process()} against re-entry, so a run of pipelined cache hits does not deepen the stack. */
    private boolean processing;
    /** A head {@link HeadSyntax} refused, to be answered once the requests before it are; or null. */
    private HeadSyntax.Refusal refusal;

    GatewayHandler(FrontEnd frontEnd, GatewayLimits limits) {
        this.frontEnd = frontEnd;
        this.limits = limits;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        // Removed before any request (the connection turned to HTTP/2): its timer must not close it.
        cancelTimer();
        releaseInbound();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        awaitRequest();
        ctx.read();
        ctx.fireChannelActive();
    }

    /**
     * The handler that goes before the HTTP codec: it sees the raw bytes, so the header timer can
     * start at the first byte of a request head, before the codec has parsed anything.
     */
    ChannelInboundHandlerAdapter byteWatch() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext c, Object msg) {
                if (msg instanceof ByteBuf b && b.isReadable()) {
                    bytesArrived();
                }
                c.fireChannelRead(msg);
            }
        };
    }

    /** Between requests: the connection may sit idle for the idle timeout, then closes without a word. */
    private void awaitRequest() {
        cancelTimer();
        if (closing || current != null || !inbound.isEmpty()) {
            return;
        }
        headStarted = false;
        if (DecoderBacklog.holdsBytes(ctx.pipeline())) {
            // The next head began in an earlier read (pipelining): no new byte will start its timer.
            startHeaderTimer();
            return;
        }
        int idle = limits.idleTimeoutMillis();
        timer = ctx.executor().schedule(() -> {
            if (timer != null && !headStarted && current == null && !closing) {
                log.debug("client {}: idle for {} ms, closing", clientAddress(), idle);
                closing = true;
                releaseInbound();
                ctx.close();
            }
        }, idle, TimeUnit.MILLISECONDS);
    }

    /** The first byte of a request head turns the idle timer into the header timer, which is not restarted by more bytes. */
    private void bytesArrived() {
        if (timer == null || headStarted || current != null || closing) {
            return;
        }
        cancelTimer();
        startHeaderTimer();
    }

    private void startHeaderTimer() {
        headStarted = true;
        int limit = limits.headerTimeoutMillis();
        timer = ctx.executor().schedule(() -> {
            if (timer != null && current == null && !closing) {
                timer = null;
                info = AccessLog.Request.of(AccessLog.newRequestId(), clientAddress(), null, System.nanoTime());
                reject(408, "the request head did not arrive within " + limit + " ms", true);
            }
        }, limit, TimeUnit.MILLISECONDS);
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HeadSyntax.Refusal r && !closing) {
            // Comes after every request before the refused head: answered when they are.
            refusal = r;
            process();
            return;
        }
        if (closing || !(msg instanceof HttpObject)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        inbound.add((HttpObject) msg);
        process();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        readIfReady();
    }

    /** Asks for more bytes when the current exchange can take them, or when idle between requests. */
    private void readIfReady() {
        if (closing || !ctx.channel().isActive() || !inbound.isEmpty()) {
            return;
        }
        if (current == null || current.wantsRequestBytes()) {
            ctx.read();
        }
    }

    private void process() {
        if (processing) {
            return;
        }
        processing = true;
        try {
            processInbound();
        } finally {
            processing = false;
        }
    }

    private void processInbound() {
        while (!closing && !inbound.isEmpty()) {
            HttpObject next = inbound.peek();
            if (current == null) {
                inbound.poll();
                if (next instanceof HttpRequest request) {
                    startExchange(request);
                } else {
                    // A stray body part after an exchange that ended early; the request is already answered.
                    ReferenceCountUtil.release(next);
                }
            } else if (!current.requestDone()) {
                if (!current.canTakeBody()) {
                    return;
                }
                inbound.poll();
                if (next instanceof HttpContent content) {
                    current.requestBody(content);
                } else {
                    ReferenceCountUtil.release(next);
                }
            } else {
                return;
            }
        }
        if (!closing && current == null && inbound.isEmpty() && refusal != null) {
            cancelTimer();
            info = AccessLog.Request.of(AccessLog.newRequestId(), clientAddress(), null, System.nanoTime());
            reject(400, "malformed request: " + refusal.reason(), true);
        }
    }

    /** The place the request under way holds under its class bound, or null. */
    private ClientClass admitted;

    /**
     * Writes the access log line of request {@code r}. Its class place is given back separately,
     * wherever the next pipelined request could start ({@link #writeError}, {@link #exchangeDone})
     * or the connection ends, so a place is always released before the next one is taken.
     */
    private static void finish(AccessLog.Request r, int status, long bytes, String cls, String cache, String backEnd,
                               long stream) {
        AccessLog.write(r, status, bytes, cls, cache, backEnd, stream);
    }

    private void releaseAdmission() {
        if (admitted != null) {
            frontEnd.release(admitted);
            admitted = null;
        }
    }

    /** The client: the connection's peer, or the address a trusted load balancer's PROXY header named. */
    private InetSocketAddress clientAddress() {
        return ProxyProtocol.clientAddress(ctx.channel());
    }

    private void startExchange(HttpRequest request) {
        long start = System.nanoTime();
        String requestId = AccessLog.newRequestId();
        info = AccessLog.Request.of(requestId, clientAddress(), request, received(ctx.channel(), request), start);
        if (request.decoderResult().isFailure()) {
            cancelTimer();
            Throwable cause = request.decoderResult().cause();
            int status = cause instanceof TooLongHttpLineException ? 414
                    : cause instanceof TooLongHttpHeaderException ? 431
                    : cause instanceof TooLongFrameException ? 413 : 400;
            ReferenceCountUtil.release(request);
            reject(status, "malformed request: " + cause.getMessage(), true);
            return;
        }
        cancelTimer();
        if (request.headers().size() > limits.maxHeaderCount()) {
            ReferenceCountUtil.release(request);
            reject(431, "more than " + limits.maxHeaderCount() + " header fields", true);
            return;
        }
        AccessLog.assignId(request, requestId);
        RequestChecks.Rejection rejection = RequestChecks.check(request);
        if (rejection != null) {
            ReferenceCountUtil.release(request);
            // The body's framing may be what is wrong: nothing after this request can be trusted.
            reject(rejection.status(), rejection.reason(), true);
            return;
        }
        if (HttpUtil.getContentLength(request, 0L) > limits.maxBodyBytes()) {
            ReferenceCountUtil.release(request);
            reject(413, "request body larger than " + limits.maxBodyBytes() + " bytes", true);
            return;
        }
        String host = request.headers().get(HttpHeaderNames.HOST);
        Site site = frontEnd.siteFor(host, (InetSocketAddress) ctx.channel().localAddress());
        if (site == null) {
            ReferenceCountUtil.release(request);
            reject(421, host == null ? "a request without Host reaches a site only on a front-end serving exactly one"
                    : "this front-end serves no site for host " + host, !hasNoBody(request));
            return;
        }
        ClientClass cls = frontEnd.classifier().classify(clientAddress().getAddress(), request);
        if (!frontEnd.admit(cls)) {
            frontEnd.metrics().shed(cls.name());
            boolean close = !hasNoBody(request) || !HttpUtil.isKeepAlive(request);
            boolean head = HttpMethod.HEAD.equals(request.method());
            ReferenceCountUtil.release(request);
            frontEnd.metrics().rejected(503);
            if (close) {
                closing = true;
                releaseInbound();
            }
            AccessLog.Request r = info;
            int bytes = writeError(503, "client class " + cls.name() + " is at its bound of requests in flight", close,
                    head, null, Overloaded.RETRY_AFTER_SECONDS);
            finish(r, 503, bytes, cls.name(), null, null, -1);
            return;
        }
        admitted = cls;
        HttpCache.Lookup lookup = frontEnd.cache().lookup(site.name(), site.cache(), request);
        if (lookup.kind() == HttpCache.Lookup.Kind.BYPASS) {
            forward(request, cls, site, start, CacheResult.BYPASS, null, false);
        } else {
            CacheAnswer answer = new CacheAnswer(request, cls, site, start, lookup);
            current = answer;
            answer.answer(true);
        }
    }

    /**
     * Sends a request to the back-end and its response to the client.
     *
     * @param tee          the fill the response is copied into, or null
     * @param requestDone  whether the request's end has already been consumed
     */
    private void forward(HttpRequest request, ClientClass cls, Site site, long start, CacheResult result,
                         CacheFill tee, boolean requestDone) {
        TmpLink link = frontEnd.linkFor(site);
        if (link == null) {
            String reason = "no TMP link to a back-end of site " + site.name() + " is up";
            if (tee != null) {
                tee.fail(502, reason);
            }
            current = null;
            if (requestDone) {
                answerError(request, cls, start, result, 502, reason);
            } else {
                reject(502, reason, !hasNoBody(request), cls.name());
            }
            return;
        }
        Exchange exchange = new Exchange(request, cls, site, start, result, tee);
        current = exchange;
        exchange.open(link);
        if (requestDone) {
            exchange.requestBody(LastHttpContent.EMPTY_LAST_CONTENT);
        }
    }

    private static boolean hasNoBody(HttpRequest request) {
        return !HttpUtil.isTransferEncodingChunked(request) && HttpUtil.getContentLength(request, 0L) == 0;
    }

    /** Answers a request the front-end refuses itself. */
    private void reject(int status, String reason, boolean close) {
        reject(status, reason, close, null);
    }

    private void reject(int status, String reason, boolean close, String cls) {
        frontEnd.metrics().rejected(status);
        if (close) {
            closing = true;
            releaseInbound();
        }
        AccessLog.Request r = info;
        int bytes = writeError(status, reason, close, false);
        finish(r, status, bytes, cls, null, null, -1);
    }

    /**
     * Answers a request without a body with an error of the front-end's own; its empty end, if
     * still to come, is dropped as a stray part.
     */
    private void answerError(HttpRequest request, ClientClass cls, long start, CacheResult result, int status,
                             String reason) {
        frontEnd.metrics().answered(cls.name(), result.xCache(), status, System.nanoTime() - start);
        frontEnd.cache().count(result);
        current = null;
        boolean close = !HttpUtil.isKeepAlive(request);
        if (close) {
            closing = true;
            releaseInbound();
        }
        AccessLog.Request r = info;
        int bytes = writeError(status, reason, close, HttpMethod.HEAD.equals(request.method()), result.xCache());
        finish(r, status, bytes, cls.name(), result.xCache(), null, -1);
    }

    private int writeError(int status, String reason, boolean close, boolean head) {
        return writeError(status, reason, close, head, null, 0);
    }

    private int writeError(int status, String reason, boolean close, boolean head, String xCache) {
        return writeError(status, reason, close, head, xCache, 0);
    }

    /**
     * Writes an error of the front-end's own; returns the body bytes sent.
     *
     * @param retryAfter seconds for Retry-After, or 0 for none
     */
    private int writeError(int status, String reason, boolean close, boolean head, String xCache, int retryAfter) {
        if (!close && frontEnd.draining()) {
            close = true;
            closing = true;
            releaseInbound();
        }
        byte[] body = (HttpResponseStatus.valueOf(status) + ": " + reason + "\n").getBytes(StandardCharsets.UTF_8);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        // The reason may quote what the client sent: no control character may reach a header.
        res.headers().set("X-Braid-Error", reason.replaceAll("[\\p{Cntrl}\\x{80}-\\x{10FFFF}]", "?"));
        if (xCache != null) {
            res.headers().set("X-Cache", xCache);
        }
        if (info != null) {
            res.headers().set(AccessLog.REQUEST_ID, info.id());
        }
        if (retryAfter > 0) {
            res.headers().setInt(HttpHeaderNames.RETRY_AFTER, retryAfter);
        }
        if (close) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        ChannelFuture f = ctx.writeAndFlush(res);
        releaseAdmission();
        if (close) {
            f.addListener(ChannelFutureListener.CLOSE);
        } else {
            process();
            awaitRequest();
            readIfReady();
        }
        return head ? 0 : body.length;
    }

    /** The state of the exchange under way, as {@link #process()} sees it. */
    private interface Pending {
        boolean requestDone();

        boolean canTakeBody();

        boolean wantsRequestBytes();

        void requestBody(HttpContent content);

        void clientGone();
    }

    private void exchangeDone(boolean keepAlive) {
        current = null;
        releaseAdmission();
        if (!keepAlive || frontEnd.draining()) {
            closing = true;
            releaseInbound();
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        process();
        awaitRequest();
        readIfReady();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimer();
        closing = true;
        releaseInbound();
        if (current != null) {
            current.clientGone();
        }
        releaseAdmission();
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == DRAIN) {
            // An idle connection closes now; a busy one after its exchange, whose response says Connection: close.
            if (current == null && inbound.isEmpty() && !closing) {
                cancelTimer();
                closing = true;
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof io.netty.handler.codec.DecoderException && current == null && !closing) {
            // The decoder gave up on a request head without producing a message (e.g. a NUL in a field name).
            cancelTimer();
            info = AccessLog.Request.of(AccessLog.newRequestId(), clientAddress(), null, System.nanoTime());
            reject(400, "malformed request: " + (cause.getCause() != null ? cause.getCause() : cause).getMessage(), true);
            return;
        }
        log.debug("client {} rid={}: {}", clientAddress(), info == null ? "-" : info.id(),
                cause.toString());
        ctx.close();
    }

    private void releaseInbound() {
        HttpObject o;
        while ((o = inbound.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    /**
     * The HTTP version the client spoke. An HTTP/2 stream's request reaches the gateway as an
     * HTTP/1.1 message (the stream codec converts it, and the gateway's checks and keep-alive rules
     * are those of HTTP/1.1), so its version says nothing of what arrived; the stream's channel
     * does. The access log's request line and Via (RFC 9110 §7.6.3: the protocol this hop
     * received) use this one.
     */
    static HttpVersion received(Channel ch, HttpRequest request) {
        return ch instanceof Http2StreamChannel ? HTTP_2 : request.protocolVersion();
    }

    /**
     * Whether the client reached this front-end over TLS: its connection has an {@link SslHandler},
     * or, for an HTTP/2 stream, the connection the stream belongs to (its parent channel) has one.
     */
    static boolean overTls(Channel ch) {
        for (Channel c = ch; c != null; c = c.parent()) {
            if (c.pipeline().get(SslHandler.class) != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * One request and its response. Client-side work runs on the client channel's loop; stream
     * events arrive on the link's loop and are handed over.
     */
    private final class Exchange implements TmpStreamHandler, Pending {
        private final HttpRequest request;
        private final HttpMethod method;
        private final ClientClass cls;
        private final Site site;
        private final long startNanos;
        private final boolean clientKeepAlive;
        private final CacheResult cacheResult;
        /** The cache fill this response is copied into, or null. */
        private final CacheFill tee;
        /**
         * Serialises the request onto the stream and parses the response from it: taken from this
         * loop's {@link HttpCodecPool} per attempt, given back once request and response both ended,
         * null once this exchange no longer owns it.
         */
        private EmbeddedChannel codec;
        /** The stream of the current attempt; read on the link's loop to ignore events of an earlier one. */
        private volatile TmpStream stream;
        /** The re-serialised request head, kept to send again on another link. */
        private HttpRequest forward;
        /** The links tried so far, each at most once. */
        private final java.util.Set<TmpLink> tried = new java.util.HashSet<>();
        /** The request body sent so far, kept while it may still be replayed; null before the first byte or once it may not. */
        private io.netty.buffer.CompositeByteBuf replayBody;
        private io.netty.handler.codec.http.HttpHeaders replayTrailers;
        /** Why this request may not be sent again, or null while it may. */
        private String notReplayable;
        /** Whether any response byte has come back on the current attempt. */
        private boolean responseBytes;
        boolean requestDone;
        private boolean responseStarted;
        private boolean finished;
        /** Inside an interim (1xx) response from the back-end. */
        private boolean interim;
        /** Stream bytes handed over from the link's loop, drained on the client's loop. */
        private final java.util.Queue<Arrival> arrived = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final java.util.concurrent.atomic.AtomicBoolean drainScheduled = new java.util.concurrent.atomic.AtomicBoolean();
        private int status;
        private long bodyBytes;
        private long bytesSent;
        private final AccessLog.Request info = GatewayHandler.this.info;

        Exchange(HttpRequest request, ClientClass cls, Site site, long startNanos, CacheResult cacheResult,
                 CacheFill tee) {
            this.request = request;
            this.cacheResult = cacheResult;
            this.tee = tee;
            this.site = site;
            this.method = request.method();
            this.cls = cls;
            this.startNanos = startNanos;
            this.clientKeepAlive = HttpUtil.isKeepAlive(request);
            this.notReplayable = Replay.refusal(request.method());
        }

        void open(TmpLink link) {
            HttpVersion received = received(ctx.channel(), request);
            // Via names the version the client sent, not the one its HTTP/2 request was converted to.
            HttpRequest asReceived = received.equals(request.protocolVersion()) ? request
                    : new DefaultHttpRequest(received, request.method(), request.uri(), request.headers());
            forward = HttpForwarding.forwardRequest(asReceived, frontEnd.name());
            // The front-end has decided the site; the back-end trusts this, never a client's copy.
            forward.headers().set(HttpForwarding.SITE_HEADER, site.name());
            if (HttpUtil.is100ContinueExpected(request)) {
                // The front-end takes the body itself, so it answers the expectation at once.
                forward.headers().remove(HttpHeaderNames.EXPECT);
                ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                        Unpooled.EMPTY_BUFFER));
            }
            InetSocketAddress client = clientAddress();
            String clientIp = client.getAddress().getHostAddress();
            forward.headers().add("X-Forwarded-For", clientIp);
            // RFC 7239 §5.4: the scheme the client used to reach this front-end.
            forward.headers().add("Forwarded", "for=" + (clientIp.contains(":")
                    ? "\"[" + clientIp + "]\"" : clientIp) + ";proto=" + (overTls(ctx.channel()) ? "https" : "http"));
            send(link, false);
        }

        /** Opens a stream on {@code link} and writes the request head, and when {@code replay} all of the body kept. */
        private void send(TmpLink link, boolean replay) {
            tried.add(link);
            responseBytes = false;
            // The re-serialised head is text; a body is worth compressing only if it is text too.
            boolean compressible = !HttpUtil.isContentLengthSet(request) && !HttpUtil.isTransferEncodingChunked(request)
                    || compressibleBody(request.headers());
            codec = HttpCodecPool.client().take();
            stream = link.openStream(frontEnd.ring(cls), cls.name(), compressible, this);
            codec.writeOutbound(forward);
            if (replay) {
                if (replayBody != null && replayBody.isReadable()) {
                    codec.writeOutbound(new io.netty.handler.codec.http.DefaultHttpContent(replayBody.retainedSlice()));
                }
                if (requestDone) {
                    LastHttpContent end = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
                    if (replayTrailers != null) {
                        end.trailingHeaders().set(replayTrailers);
                    }
                    codec.writeOutbound(end);
                }
            }
            drainToStream();
            if (replay && requestDone) {
                stream.end();
            }
        }

        /** Gives up the kept body: the request will not be sent again. */
        private void dropReplay(String why) {
            if (notReplayable == null) {
                notReplayable = why;
            }
            if (replayBody != null) {
                replayBody.release();
                replayBody = null;
            }
        }

        @Override
        public boolean requestDone() {
            return requestDone;
        }

        @Override
        public boolean canTakeBody() {
            return stream.isWritable();
        }

        @Override
        public boolean wantsRequestBytes() {
            return !requestDone && stream.isWritable();
        }

        @Override
        public void requestBody(HttpContent content) {
            if (content.decoderResult().isFailure()) {
                content.release();
                stream.reset(ResetCode.CANCELLED, "client sent a malformed body");
                finished = true;
                dropReplay("the client sent a malformed body");
                if (tee != null) {
                    tee.abandon("the client sent a malformed request");
                }
                endCodec();
                closing = true;
                releaseInbound();
                writeError(400, "malformed request body: " + content.decoderResult().cause().getMessage(), true,
                        false);
                return;
            }
            boolean last = content instanceof LastHttpContent;
            bodyBytes += content.content().readableBytes();
            frontEnd.metrics().bodyIn(cls.name(), content.content().readableBytes());
            if (bodyBytes > limits.maxBodyBytes() && !finished) {
                content.release();
                bodyTooLarge();
                return;
            }
            if (finished) {
                content.release();
            } else {
                keepForReplay(content);
                codec.writeOutbound(content);
                drainToStream();
            }
            if (last) {
                requestDone = true;
                if (!finished) {
                    stream.end();
                }
            }
        }

        /** The body passed the limit while streaming: the back-end's copy is cut, the client told if nothing was sent yet. */
        private void bodyTooLarge() {
            String reason = "request body larger than " + limits.maxBodyBytes() + " bytes";
            finished = true;
            dropReplay(reason);
            stream.reset(ResetCode.CANCELLED, reason);
            endCodec();
            if (tee != null) {
                tee.abandon(reason);
            }
            frontEnd.metrics().rejected(413);
            closing = true;
            releaseInbound();
            if (responseStarted) {
                finish(info, status, bytesSent, cls.name(), cacheResult.xCache(), stream.peerName(), stream.id());
                ctx.close();
            } else {
                int bytes = writeError(413, reason, true, false);
                finish(info, 413, bytes, cls.name(), cacheResult.xCache(), stream.peerName(), stream.id());
            }
        }

        private void keepForReplay(HttpContent content) {
            if (notReplayable != null) {
                return;
            }
            int n = content.content().readableBytes();
            if (n > 0 && replayBody == null) {
                replayBody = ctx.alloc().compositeDirectBuffer();
            }
            if (n > 0 && replayBody.readableBytes() + n > Replay.MAX_BODY_BYTES) {
                dropReplay("its body passed " + Replay.MAX_BODY_BYTES + " bytes");
                return;
            }
            if (n > 0) {
                replayBody.addComponent(true, content.content().retainedSlice());
            }
            if (content instanceof LastHttpContent last && !last.trailingHeaders().isEmpty()) {
                replayTrailers = last.trailingHeaders().copy();
            }
        }

        private void drainToStream() {
            ByteBuf out;
            while ((out = codec.readOutbound()) != null) {
                stream.write(out);
            }
        }

        // ---- stream events (link loop) ----

        @Override
        public void onData(TmpStream s, ByteBuf data, boolean fin) {
            if (s != stream) {
                // An earlier attempt's stream: its link is gone and its request sent again.
                data.release();
                return;
            }
            // Batch the frames that arrive together: one hand-over and one flush per batch, not per sub-packet.
            arrived.add(new Arrival(data, fin));
            if (drainScheduled.compareAndSet(false, true)) {
                ctx.executor().execute(this::drainArrived);
            }
        }

        @Override
        public void onReset(TmpStream s, ResetCode code, String reason) {
            ctx.executor().execute(() -> {
                if (s == stream) {
                    streamReset(code, reason);
                }
            });
        }

        @Override
        public void onWritable(TmpStream s) {
            ctx.executor().execute(() -> {
                if (current == this) {
                    process();
                    readIfReady();
                }
            });
        }

        // ---- client loop ----

        private void drainArrived() {
            drainScheduled.set(false);
            int n = 0;
            boolean fin = false;
            ChannelFuture lastWrite = null;
            boolean complete = false;
            boolean afterEnd = false;
            Arrival a;
            while ((a = arrived.poll()) != null) {
                n += a.data.readableBytes();
                fin |= a.fin;
                if (!responseBytes && (a.data.isReadable() || a.fin)) {
                    responseBytes = true;
                    dropReplay("a response had begun to arrive");
                }
                if (finished) {
                    a.data.release();
                    continue;
                }
                // A failure below ends the codec; the local keeps reading what it still returns (nothing).
                EmbeddedChannel c = codec;
                c.writeInbound(a.data);
                Object msg;
                while ((msg = c.readInbound()) != null) {
                    if (finished) {
                        ReferenceCountUtil.release(msg);
                        continue;
                    }
                    // Anything after the end of the response leaves the codec mid-message: not reused then.
                    afterEnd |= complete;
                    HttpObject obj = (HttpObject) msg;
                    if (obj.decoderResult().isFailure()) {
                        ReferenceCountUtil.release(msg);
                        failUpstream(502, "malformed response from the back-end: " + obj.decoderResult().cause().getMessage());
                        continue;
                    }
                    if (msg instanceof HttpResponse res) {
                        interim = res.status().code() < 200;
                        lastWrite = ctx.write(responseHead(res));
                    }
                    if (msg instanceof HttpContent content && interim) {
                        // The end of an interim (1xx) response is not the end of the exchange.
                        interim = !(content instanceof LastHttpContent);
                        lastWrite = ctx.write(content);
                    } else if (msg instanceof HttpContent content) {
                        frontEnd.metrics().bytes(cls.name(), content.content().readableBytes());
                        bytesSent += content.content().readableBytes();
                        boolean last = content instanceof LastHttpContent;
                        complete |= last;
                        if (tee != null) {
                            // Copied before the write, which releases the content once sent.
                            tee.content(content.content());
                            if (last) {
                                tee.end();
                            }
                        }
                        lastWrite = ctx.write(content);
                    }
                }
            }
            int consumed = n;
            if (lastWrite != null) {
                ctx.flush();
                lastWrite.addListener(f -> stream.consumed(consumed));
            } else {
                stream.consumed(consumed);
            }
            if (complete && !finished) {
                finished = true;
                dropReplay("the exchange ended");
                if (requestDone && !afterEnd) {
                    // Both messages ended: the codec's encoder and decoder are between messages.
                    HttpCodecPool.client().give(codec);
                    codec = null;
                } else {
                    endCodec();
                }
                frontEnd.metrics().answered(cls.name(), cacheResult.xCache(), status, System.nanoTime() - startNanos);
                frontEnd.cache().count(cacheResult);
                finish(info, status, bytesSent, cls.name(), cacheResult.xCache(), stream.peerName(), stream.id());
                exchangeDone(clientKeepAlive && requestDone);
            } else if (fin && !finished) {
                failUpstream(502, "the back-end ended the response early");
            }
        }

        private HttpResponse responseHead(HttpResponse res) {
            responseStarted = true;
            status = res.status().code();
            if (tee != null && !interim) {
                tee.head(res);
            }
            frontEnd.cache().invalidateAfter(site.name(), request, res);
            HttpResponse out = HttpForwarding.forwardResponse(res, frontEnd.name(), method);
            out.headers().remove(CachedResponses.SURROGATE_KEY);
            out.headers().set("X-Cache", cacheResult.xCache());
            out.headers().set(AccessLog.REQUEST_ID, info.id());
            if (!clientKeepAlive || !requestDone || frontEnd.draining()) {
                out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            if (request.protocolVersion().equals(HttpVersion.HTTP_1_0) && HttpUtil.isTransferEncodingChunked(out)) {
                // An HTTP/1.0 client cannot read chunked framing: delimit the body by closing.
                HttpUtil.setTransferEncodingChunked(out, false);
                out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            return out;
        }

        private void streamReset(ResetCode code, String reason) {
            if (finished) {
                return;
            }
            if (code != ResetCode.LINK_LOST) {
                failUpstream(code == ResetCode.TIMEOUT ? 504 : 502, code + ": " + reason);
                return;
            }
            String lost = "link to back-end " + stream.peerName() + " lost";
            if (notReplayable == null && !responseBytes && arrived.isEmpty()) {
                TmpLink next = frontEnd.linkFor(site, tried);
                if (next != null) {
                    log.debug("rid={}: {} ({}), sending {} {} again over the link to {}", info.id(), lost, reason,
                            method, request.uri(), next.peerName());
                    frontEnd.metrics().replayed(stream.peerName(), true);
                    endCodec();
                    send(next, true);
                    return;
                }
                dropReplay("no other link to a back-end of site " + site.name() + " is up");
            }
            frontEnd.metrics().replayed(stream.peerName(), false);
            failUpstream(502, lost + "; request not replayed: " + notReplayable);
        }

        /**
         * Ends the response decoder of an exchange that stops before its response is whole. The
         * decoder then reports the missing response (PrematureChannelClosureException); that is
         * why the exchange stops, not a new failure, and letting it escape would leave the client
         * without an answer.
         */
        private void endCodec() {
            if (codec == null) {
                return;
            }
            EmbeddedChannel c = codec;
            codec = null;
            try {
                c.finishAndReleaseAll();
            } catch (PrematureChannelClosureException expected) {
                log.debug("rid={}: response decoder ended early: {}", info.id(), expected.getMessage());
            }
        }

        /** The upstream side failed: answer with an error if nothing was sent yet, else cut the connection. */
        private void failUpstream(int status, String reason) {
            if (finished) {
                return;
            }
            finished = true;
            dropReplay("the exchange ended");
            stream.reset(ResetCode.CANCELLED, reason);
            endCodec();
            if (tee != null) {
                tee.fail(status, reason);
            }
            frontEnd.metrics().answered(cls.name(), cacheResult.xCache(), status, System.nanoTime() - startNanos);
            frontEnd.cache().count(cacheResult);
            if (responseStarted) {
                log.debug("rid={}: response cut: {}", info.id(), reason);
                finish(info, this.status, bytesSent, cls.name(), cacheResult.xCache(), stream.peerName(),
                        stream.id());
                closing = true;
                releaseInbound();
                ctx.close();
                return;
            }
            current = null;
            boolean close = !requestDone || !clientKeepAlive;
            if (close) {
                closing = true;
                releaseInbound();
            }
            int bytes = writeError(status, reason, close, HttpMethod.HEAD.equals(method));
            finish(info, status, bytes, cls.name(), cacheResult.xCache(), stream.peerName(), stream.id());
        }

        @Override
        public void clientGone() {
            dropReplay("the client left");
            if (!finished) {
                finished = true;
                finish(info, CLIENT_CLOSED, bytesSent, cls.name(), cacheResult.xCache(), stream.peerName(),
                        stream.id());
                stream.reset(ResetCode.CANCELLED, "client closed the connection");
                endCodec();
                if (tee != null) {
                    tee.abandon("the client closed the connection");
                }
            }
            Arrival a;
            while ((a = arrived.poll()) != null) {
                a.data.release();
            }
        }
    }

    /**
     * A GET or HEAD the cache takes on: answered from a stored response, or after waiting for a
     * fill (its own or another request's), or handed to an {@link Exchange} when it has to go to
     * the back-end itself. Runs on the client's loop; fill results are handed over to it.
     */
    private final class CacheAnswer implements Pending {
        private final HttpRequest request;
        private final ClientClass cls;
        private final Site site;
        private final long startNanos;
        private final boolean clientKeepAlive;
        private HttpCache.Lookup lookup;
        private boolean requestDone;
        private boolean responseDone;
        private boolean gone;
        private boolean retried;
        private final AccessLog.Request info = GatewayHandler.this.info;

        CacheAnswer(HttpRequest request, ClientClass cls, Site site, long startNanos, HttpCache.Lookup lookup) {
            this.request = request;
            this.cls = cls;
            this.site = site;
            this.startNanos = startNanos;
            this.clientKeepAlive = HttpUtil.isKeepAlive(request);
            this.lookup = lookup;
        }

        /** Acts on the lookup. */
        void answer(boolean mayWait) {
            HttpCache cache = frontEnd.cache();
            switch (lookup.kind()) {
                case HIT, STALE, STALE_REVALIDATE -> {
                    CachedResponses.Rendered r = cache.serve(lookup, request);
                    if (r != null) {
                        respond(r, lookup.kind() == HttpCache.Lookup.Kind.HIT ? CacheResult.HIT : CacheResult.STALE,
                                null);
                    } else {
                        // Evicted between lookup and serving: look again, once.
                        lookup = cache.lookup(site.name(), site.cache(), request);
                        if (lookup.kind() == HttpCache.Lookup.Kind.MISS || lookup.kind() == HttpCache.Lookup.Kind.VALIDATE) {
                            fetch(mayWait);
                        } else {
                            forward(request, cls, site, startNanos, CacheResult.MISS, null, requestDone);
                        }
                    }
                }
                case GATEWAY_TIMEOUT -> answerError(request, cls, startNanos, CacheResult.MISS, 504,
                        "only-if-cached: no usable stored response");
                case MISS, VALIDATE -> fetch(mayWait);
                default -> forward(request, cls, site, startNanos, CacheResult.BYPASS, null, requestDone);
            }
        }

        private void fetch(boolean mayWait) {
            HttpCache.Fetch f = frontEnd.cache().fetch(lookup, request, mayWait);
            switch (f.kind()) {
                case JOIN -> await(f.fill(), false);
                case LEAD_DETACHED -> {
                    await(f.fill(), true);
                    frontEnd.fetchForCache(f.fill(), frontEnd.ring(cls), cls.name());
                }
                default -> forward(request, cls, site, startNanos, CacheResult.MISS, f.fill(), requestDone);
            }
        }

        private void await(CacheFill fill, boolean leader) {
            fill.result().whenComplete((result, error) -> ctx.executor().execute(() -> {
                if (error != null) {
                    filled(CacheFill.Result.failed(502, error.toString()), leader);
                } else {
                    filled(result, leader);
                }
            }));
        }

        private void filled(CacheFill.Result result, boolean leader) {
            if (gone || current != this) {
                if (leader) {
                    result.releaseUnstored();
                }
                return;
            }
            switch (result.outcome()) {
                case STORED -> {
                    CachedResponses.Rendered r = result.matches(request) ? frontEnd.cache().serve(result, request) : null;
                    if (r == null) {
                        // Another variant, or gone already: this request goes itself, without waiting again.
                        fetch(false);
                    } else if (result.validated()) {
                        respond(r, CacheResult.REVALIDATED, null);
                    } else if (leader) {
                        respond(r, CacheResult.MISS, null);
                    } else {
                        respond(r, CacheResult.HIT, "COLLAPSED");
                    }
                }
                case UNCACHEABLE -> {
                    // The leader's own request was sent once already: answer it with what came back.
                    CachedResponses.Rendered r = leader ? frontEnd.cache().serveUnstored(result, request) : null;
                    if (r != null) {
                        respond(r, CacheResult.MISS, null);
                    } else {
                        fetch(false);
                    }
                }
                case RELEASED -> {
                    if (retried) {
                        fetch(false);
                    } else {
                        retried = true;
                        lookup = frontEnd.cache().lookup(site.name(), site.cache(), request);
                        answer(true);
                    }
                }
                default -> {
                    CachedResponses.Rendered stale = frontEnd.cache().serveStaleOnError(lookup, request);
                    if (stale != null) {
                        respond(stale, CacheResult.STALE, null);
                    } else {
                        answerError(request, cls, startNanos, CacheResult.MISS, result.status() >= 500
                                ? result.status() : 502, result.reason());
                    }
                }
            }
        }

        private void respond(CachedResponses.Rendered r, CacheResult result, String detail) {
            HttpResponse head = r.head();
            head.headers().set("X-Cache", result.xCache());
            String d = detail != null ? detail : result.detail();
            if (d != null) {
                head.headers().set("X-Cache-Detail", d);
            }
            head.headers().set(AccessLog.REQUEST_ID, info.id());
            if (!clientKeepAlive || frontEnd.draining()) {
                head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            int bytes = r.body() == null ? 0 : r.body().readableBytes();
            frontEnd.metrics().answered(cls.name(), result.xCache(), head.status().code(),
                    System.nanoTime() - startNanos);
            frontEnd.metrics().bytes(cls.name(), bytes);
            frontEnd.cache().count(result);
            finish(info, head.status().code(), HttpMethod.HEAD.equals(request.method()) ? 0 : bytes, cls.name(),
                    result.xCache(), null, -1);
            ctx.write(head);
            ChannelFuture f = ctx.writeAndFlush(r.body() == null ? LastHttpContent.EMPTY_LAST_CONTENT
                    : new DefaultLastHttpContent(r.body()));
            if (ctx.channel().isWritable()) {
                responseWritten();
            } else {
                // Backpressure: the next pipelined request waits until this response has left.
                f.addListener(x -> responseWritten());
            }
        }

        private void responseWritten() {
            responseDone = true;
            if (requestDone && current == this) {
                exchangeDone(clientKeepAlive);
            }
        }

        @Override
        public boolean requestDone() {
            return requestDone;
        }

        @Override
        public boolean canTakeBody() {
            return true;
        }

        @Override
        public boolean wantsRequestBytes() {
            return !requestDone;
        }

        @Override
        public void requestBody(HttpContent content) {
            // Only requests without a body reach the cache: this is the empty end of the request.
            boolean last = content instanceof LastHttpContent;
            content.release();
            if (last) {
                requestDone = true;
                if (responseDone && current == this) {
                    exchangeDone(clientKeepAlive);
                }
            }
        }

        @Override
        public void clientGone() {
            if (!responseDone && !gone) {
                finish(info, CLIENT_CLOSED, 0, cls.name(), null, null, -1);
            }
            gone = true;
        }
    }

    private record Arrival(ByteBuf data, boolean fin) {
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
