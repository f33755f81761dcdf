package dev.braid.frontend;

import dev.braid.frontend.cache.CacheFill;
import dev.braid.runtime.HttpForwarding;
import dev.braid.runtime.HttpCodecPool;
import dev.braid.tmp.ResetCode;
import dev.braid.tmp.TmpLink;
import dev.braid.tmp.TmpStream;
import dev.braid.tmp.TmpStreamHandler;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * A fetch the cache makes for itself over a TMP stream, with no client connection attached: the
 * validation of a stale response, the proactive refresh of a hot one, or a fill led by a request
 * the cache cannot forward as it is (a range, the client's own validators). The response is fed
 * into the {@link CacheFill}; once the fill wants no more of it the stream is reset, so the rest
 * of a response that will not be stored does not cross the link.
 *
 * <p>Its request is a GET without a body, so when the link dies before a response byte came back
 * the fetch starts again on another link to a back-end of the site (each link once; see {@link
 * Replay}); the fill fails only when no other link is up.
 *
 * <p>Everything after {@link #start} runs on the link's event loop, where the stream's events
 * arrive.
 */
final class CacheFetch implements TmpStreamHandler {

    private final CacheFill fill;
    private final Attempt attempt;
    /** Whether a response byte has come back. */
    private boolean received;
    /**
     * Serialises the request and parses the response: taken from the link loop's {@link HttpCodecPool}
     * when the request is sent, given back once the response ended, null before and after.
     */
    private EmbeddedChannel codec;
    private boolean done;
    /** Inside an interim (1xx) response, whose end is not the end of the exchange. */
    private boolean interim;

    /** What a fetch needs to start again elsewhere. */
    private record Attempt(String via, int ring, String clientClass,
                           java.util.function.Function<java.util.Set<TmpLink>, TmpLink> nextLink,
                           java.util.Set<TmpLink> tried) {
    }

    private CacheFetch(CacheFill fill, Attempt attempt) {
        this.fill = fill;
        this.attempt = attempt;
    }

    /**
     * Opens a stream on {@code link} at {@code ring} and sends the fill's request; the fill learns the outcome.
     *
     * @param nextLink the best link up to a back-end of the fill's site other than those given, or null
     */
    static void start(TmpLink link, CacheFill fill, String via, int ring, String clientClass,
                      java.util.function.Function<java.util.Set<TmpLink>, TmpLink> nextLink) {
        start(link, fill, new Attempt(via, ring, clientClass, nextLink, java.util.concurrent.ConcurrentHashMap.newKeySet()));
    }

    private static void start(TmpLink link, CacheFill fill, Attempt attempt) {
        attempt.tried().add(link);
        HttpRequest request = HttpForwarding.forwardRequest(fill.request(), attempt.via());
        request.headers().set(HttpForwarding.SITE_HEADER, fill.site());
        CacheFetch fetch = new CacheFetch(fill, attempt);
        TmpStream stream = link.openStream(attempt.ring(), attempt.clientClass(), false, fetch);
        stream.executor().execute(() -> fetch.send(stream, request));
    }

    /** Ends the codec of a fetch that stops: no response came whole, and whoever ends the fetch reports why. */
    private void closeCodec() {
        if (codec != null) {
            HttpCodecPool.discard(codec);
            codec = null;
        }
    }

    private void send(TmpStream stream, HttpRequest request) {
        if (done) {
            return;
        }
        codec = HttpCodecPool.client().take();
        codec.writeOutbound(request, LastHttpContent.EMPTY_LAST_CONTENT);
        ByteBuf out;
        while ((out = codec.readOutbound()) != null) {
            stream.write(out);
        }
        stream.end();
    }

    @Override
    public void onData(TmpStream stream, ByteBuf data, boolean fin) {
        int n = data.readableBytes();
        received = true;
        if (done) {
            data.release();
            stream.consumed(n);
            return;
        }
        codec.writeInbound(data);
        boolean stop = false;
        boolean complete = false;
        boolean afterEnd = false;
        Object msg;
        while ((msg = codec.readInbound()) != null) {
            try {
                if (stop || complete) {
                    // Anything after the end of the response leaves the codec mid-message: not reused then.
                    afterEnd |= complete;
                    continue;
                }
                HttpObject obj = (HttpObject) msg;
                if (obj.decoderResult().isFailure()) {
                    fill.fail(502, "malformed response from the back-end: " + obj.decoderResult().cause().getMessage());
                    stop = true;
                    continue;
                }
                if (msg instanceof HttpResponse res) {
                    interim = res.status().code() < 200;
                    if (!interim && !fill.head(res)) {
                        stop = true;
                    }
                }
                if (interim) {
                    interim = !(msg instanceof LastHttpContent);
                    continue;
                }
                if (!stop && msg instanceof HttpContent content) {
                    if (!fill.content(content.content())) {
                        stop = true;
                    } else if (content instanceof LastHttpContent) {
                        fill.end();
                        complete = true;
                    }
                }
                if (stop && msg instanceof LastHttpContent) {
                    complete = true;
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
        stream.consumed(n);
        if (complete || stop) {
            done = true;
            if (complete && !afterEnd) {
                HttpCodecPool.client().give(codec);
                codec = null;
            } else {
                closeCodec();
            }
            if (!complete) {
                stream.reset(ResetCode.CANCELLED, "the cache does not need the rest of the response");
            }
        } else if (fin) {
            done = true;
            closeCodec();
            fill.fail(502, "the back-end ended the response early");
        }
    }

    @Override
    public void onReset(TmpStream stream, ResetCode code, String reason) {
        if (!done) {
            done = true;
            closeCodec();
            if (code == ResetCode.LINK_LOST && !received) {
                TmpLink next = attempt.nextLink().apply(attempt.tried());
                if (next != null) {
                    start(next, fill, attempt);
                    return;
                }
                fill.fail(502, "link to back-end " + stream.peerName() + " lost; no other link to a back-end of site "
                        + fill.site() + " is up");
                return;
            }
            fill.fail(code == ResetCode.TIMEOUT ? 504 : 502, code + ": " + reason);
        }
    }
}
