package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.runtime.HttpForwarding;
import dev.braid.runtime.StrictHttp;
import dev.braid.tmp.ResetCode;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
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
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * One TMP stream at the back-end: the HTTP/1.1 request the front-end re-serialised onto the stream
 * is parsed (strictly), sent to an origin over a pooled keep-alive connection, and the response is
 * re-serialised onto the stream. Everything runs on the link's event loop, which is also the
 * origin connection's loop. Backpressure both ways: request bytes are credited back to the
 * front-end only once written to the origin; the origin is read only while the stream is writable.
 */
final class OriginExchange implements TmpStreamHandler {

    private static final Logger log = LoggerFactory.getLogger(OriginExchange.class);

    private final BackEnd backEnd;
    private final EventLoop loop;
    private TmpStream stream;
    /** Parses the request bytes from the stream and serialises the response onto it. */
    private final EmbeddedChannel codec = new EmbeddedChannel(new HttpServerCodec(StrictHttp.decoderConfig()));
    private final ArrayDeque<Object> toOrigin = new ArrayDeque<>();

    private HttpRequest request;
    private HttpMethod method;
    private InetSocketAddress originAddress;
    private String originName;
    private Channel origin;
    private boolean requestComplete;
    private boolean responseStarted;
    private boolean originKeepAlive;
    private boolean done;
    private long startNanos;

    OriginExchange(BackEnd backEnd, EventLoop loop) {
        this.backEnd = backEnd;
        this.loop = loop;
    }

    @Override
    public void onData(TmpStream s, ByteBuf data, boolean fin) {
        stream = s;
        if (done) {
            data.release();
            s.consumed(data.readableBytes());
            return;
        }
        int n = data.readableBytes();
        codec.writeInbound(data);
        boolean produced = false;
        Object msg;
        while ((msg = codec.readInbound()) != null) {
            produced = true;
            if (done) {
                ReferenceCountUtil.release(msg);
                continue;
            }
            handleRequestPart(msg);
        }
        if (fin && !requestComplete && !done) {
            fail(400, "request ended before its body was complete");
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
                fail(400, "more than one request on a stream");
                return;
            }
            if (req.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                fail(400, "malformed request from the front-end: " + req.decoderResult().cause().getMessage());
                return;
            }
            request = req;
            method = req.method();
            startNanos = System.nanoTime();
            chooseOrigin(req);
            if (done) {
                ReferenceCountUtil.release(msg);
                return;
            }
            toOrigin.add(HttpForwarding.forwardRequest(req, backEnd.name()));
        }
        if (msg instanceof HttpContent content) {
            if (content.decoderResult().isFailure()) {
                content.release();
                fail(400, "malformed request body: " + content.decoderResult().cause().getMessage());
                return;
            }
            if (content instanceof LastHttpContent) {
                requestComplete = true;
            }
            toOrigin.add(content);
        }
    }

    private void chooseOrigin(HttpRequest req) {
        String host = req.headers().get(HttpHeaderNames.HOST);
        String siteName = req.headers().get(HttpForwarding.SITE_HEADER);
        Site site = siteName != null ? backEnd.config().site(siteName) : backEnd.config().siteForHost(host);
        if (site == null) {
            fail(421, "this back-end serves no site " + (siteName != null ? siteName : "for host " + host));
            return;
        }
        Origin chosen = backEnd.selector().choose(site);
        if (chosen == null) {
            fail(502, "site " + site.name() + " has no origin");
            return;
        }
        URI uri = URI.create(chosen.url());
        if (!"http".equalsIgnoreCase(uri.getScheme())) {
            fail(502, "origin " + chosen.name() + ": scheme " + uri.getScheme() + " is not supported yet");
            return;
        }
        originName = chosen.name();
        originAddress = new InetSocketAddress(uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort());
        backEnd.selector().started(originName);
        ChannelFuture f = backEnd.pool().acquire(loop, originAddress);
        if (f.isDone()) {
            connected(f);
        } else {
            f.addListener(x -> connected(f));
        }
    }

    private void connected(ChannelFuture f) {
        if (!f.isSuccess()) {
            originFailed("cannot connect to origin " + originName + " at " + originAddress + ": "
                    + f.cause().getMessage());
            return;
        }
        if (done) {
            backEnd.pool().release(originAddress, f.channel());
            return;
        }
        origin = f.channel();
        origin.attr(OriginPool.EXCHANGE).set(this);
        flushToOrigin();
        origin.read();
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

    /** A response part from the origin. */
    void originRead(Object msg) {
        if (done) {
            ReferenceCountUtil.release(msg);
            return;
        }
        HttpObject obj = (HttpObject) msg;
        if (obj.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            originFailed("malformed response from origin " + originName + ": "
                    + obj.decoderResult().cause().getMessage());
            return;
        }
        if (msg instanceof HttpResponse res) {
            if (res.status().code() == 100) {
                // Interim response to Expect: 100-continue is hop-by-hop here; the body is already on its way.
                ReferenceCountUtil.release(msg);
                return;
            }
            responseStarted = true;
            originKeepAlive = HttpUtil.isKeepAlive(res);
            HttpResponse forward = HttpForwarding.forwardResponse(res, backEnd.name(), method);
            stream.compressible(compressibleBody(res.headers()));
            codec.writeOutbound(forward);
            backEnd.metrics().responses(originName, res.status().code());
        }
        if (msg instanceof HttpContent content) {
            boolean last = content instanceof LastHttpContent;
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
            originFailed(reason);
        }
    }

    private void originFailed(String reason) {
        log.warn("stream {}: {}", stream != null ? stream.id() : -1, reason);
        backEnd.metrics().originError(originName == null ? "none" : originName);
        if (origin != null) {
            origin.attr(OriginPool.EXCHANGE).set(null);
            origin.close();
            origin = null;
        }
        if (responseStarted) {
            done = true;
            finishOrigin();
            stream.reset(ResetCode.ORIGIN_UNREACHABLE, reason);
            cleanup();
        } else {
            fail(502, reason);
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
        stream.end();
        if (origin != null) {
            Channel ch = origin;
            origin = null;
            if (originKeepAlive && requestComplete && toOrigin.isEmpty()) {
                backEnd.pool().release(originAddress, ch);
            } else {
                ch.attr(OriginPool.EXCHANGE).set(null);
                ch.close();
            }
        }
        finishOrigin();
        backEnd.metrics().latency(originName, System.nanoTime() - startNanos);
        cleanup();
    }

    private void finishOrigin() {
        if (originName != null) {
            backEnd.selector().finished(originName);
        }
    }

    /** Answers the stream with an error response of the back-end's own, saying why. */
    private void fail(int status, String reason) {
        if (done) {
            return;
        }
        done = true;
        finishOrigin();
        originName = originName == null ? "none" : originName;
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
        HttpForwarding.appendVia(res.headers(), HttpVersion.HTTP_1_1, backEnd.name());
        codec.writeOutbound(res);
        drainToStream();
        stream.end();
        backEnd.metrics().responses(originName, status);
        cleanup();
    }

    @Override
    public void onReset(TmpStream s, ResetCode code, String reason) {
        stream = s;
        if (!done) {
            done = true;
            finishOrigin();
            if (origin != null) {
                origin.attr(OriginPool.EXCHANGE).set(null);
                origin.close();
                origin = null;
            }
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
        codec.finishAndReleaseAll();
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
