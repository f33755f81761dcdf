package dev.braid.runtime;

import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.ArrayDeque;
import java.util.function.Supplier;

/**
 * Per-thread free lists of the in-memory HTTP/1.1 codecs that serialise and parse the messages
 * carried on TMP streams. Building a codec channel (pipeline, channel id, register, active) for
 * every request was the largest per-request cost of the miss path; a codec whose exchange ended
 * cleanly is taken again by the next exchange on the same thread instead.
 *
 * <p>Guarantees: a codec is only ever handed out on the thread it was given back on (the lists are
 * thread-local, so each event loop has its own and no codec crosses loops); a codec given back with
 * anything still queued in it, or closed, is finished and released, never reused; at most
 * {@link #MAX_IDLE} codecs are kept per thread. Only the caller knows whether the codec's parser
 * and serialiser are between messages, so it gives back only codecs whose request and response
 * both ended; anything else it ends with {@link #discard}. The codecs keep {@link StrictHttp}'s
 * limits and strictness: reuse changes nothing about what they accept.
 */
public final class HttpCodecPool {

    /** Codecs kept idle per thread: enough for the exchanges a loop finishes between two takes. */
    public static final int MAX_IDLE = 64;

    private static final HttpCodecPool CLIENT = new HttpCodecPool(
            () -> new HttpClientCodec(StrictHttp.decoderConfig(), false, true));
    private static final HttpCodecPool SERVER = new HttpCodecPool(
            () -> new HttpServerCodec(StrictHttp.decoderConfig()));

    private final Supplier<ChannelHandler> codecs;
    private final FastThreadLocal<ArrayDeque<EmbeddedChannel>> idle = new FastThreadLocal<>() {
        @Override
        protected ArrayDeque<EmbeddedChannel> initialValue() {
            return new ArrayDeque<>();
        }

        @Override
        protected void onRemoval(ArrayDeque<EmbeddedChannel> value) {
            EmbeddedChannel c;
            while ((c = value.poll()) != null) {
                discard(c);
            }
        }
    };

    private HttpCodecPool(Supplier<ChannelHandler> codecs) {
        this.codecs = codecs;
    }

    /**
     * Codecs of a client: requests out, responses in (strict decoder, no error on a missing
     * response, HEAD and CONNECT responses framed by the request they answer).
     */
    public static HttpCodecPool client() {
        return CLIENT;
    }

    /** Codecs of a server: requests in, responses out (strict decoder). */
    public static HttpCodecPool server() {
        return SERVER;
    }

    /** A codec between messages: an idle one of this thread, else a new one. */
    public EmbeddedChannel take() {
        EmbeddedChannel c = idle.get().poll();
        return c != null ? c : new EmbeddedChannel(codecs.get());
    }

    /**
     * Gives back a codec whose request and response both ended on this thread. One with messages
     * still queued, or closed, is discarded instead.
     */
    public void give(EmbeddedChannel codec) {
        if (!codec.isOpen() || !codec.inboundMessages().isEmpty() || !codec.outboundMessages().isEmpty()) {
            discard(codec);
            return;
        }
        ArrayDeque<EmbeddedChannel> list = idle.get();
        if (list.size() >= MAX_IDLE) {
            discard(codec);
        } else {
            list.push(codec);
        }
    }

    /** Idle codecs of the calling thread, for tests. */
    public int idleHere() {
        return idle.get().size();
    }

    /**
     * Ends a codec for good, releasing whatever it still holds. A response decoder ended before
     * its response was whole reports that (PrematureChannelClosureException); the caller already
     * knows why the exchange stopped, so that is not raised again.
     */
    public static void discard(EmbeddedChannel codec) {
        try {
            codec.finishAndReleaseAll();
        } catch (PrematureChannelClosureException expected) {
            // The exchange ended early; its owner reports why.
        }
    }
}
