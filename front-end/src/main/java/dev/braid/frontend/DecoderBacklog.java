package dev.braid.frontend;

import io.netty.channel.ChannelPipeline;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpServerCodec;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Tells whether a connection's HTTP/1.1 codec (or {@link HeadSyntax} before it) holds bytes it has
 * read but not yet decoded into a message: the start of a pipelined request head that arrived in the same read as the request
 * before it. Such a head has begun, so its header timer must run although no new byte will
 * arrive to start it.
 *
 * <p>{@link HttpServerCodec} is final and offers no view of its decoder's buffer; the decoder's
 * {@code actualReadableBytes()} is reached through method handles. Should that ever fail (a Netty
 * that renamed it), every codec is taken to hold bytes, which only makes the header timer apply
 * sooner (408 after {@code headerTimeoutMillis} instead of a silent close after the idle timeout).
 */
final class DecoderBacklog {

    private static final MethodHandle INBOUND_HANDLER;
    private static final MethodHandle READABLE_BYTES;

    static {
        MethodHandle inbound = null;
        MethodHandle readable = null;
        try {
            inbound = MethodHandles.privateLookupIn(CombinedChannelDuplexHandler.class, MethodHandles.lookup())
                    .findVirtual(CombinedChannelDuplexHandler.class, "inboundHandler",
                            MethodType.methodType(io.netty.channel.ChannelInboundHandler.class));
            readable = MethodHandles.privateLookupIn(ByteToMessageDecoder.class, MethodHandles.lookup())
                    .findVirtual(ByteToMessageDecoder.class, "actualReadableBytes", MethodType.methodType(int.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(DecoderBacklog.class)
                    .warn("HTTP decoder's buffer not observable ({}); pipelined heads get the header timer at once", e.toString());
        }
        INBOUND_HANDLER = inbound;
        READABLE_BYTES = readable;
    }

    private DecoderBacklog() {
    }

    /** Whether the {@link HttpServerCodec} in {@code pipeline} holds undecoded bytes; false without one. */
    static boolean holdsBytes(ChannelPipeline pipeline) {
        HeadSyntax heads = pipeline.get(HeadSyntax.class);
        if (heads != null && heads.heldBytes() > 0) {
            return true;
        }
        HttpServerCodec codec = pipeline.get(HttpServerCodec.class);
        if (codec == null) {
            return false;
        }
        if (INBOUND_HANDLER == null || READABLE_BYTES == null) {
            return true;
        }
        try {
            Object decoder = INBOUND_HANDLER.invoke((CombinedChannelDuplexHandler<?, ?>) codec);
            return (int) READABLE_BYTES.invoke((ByteToMessageDecoder) decoder) > 0;
        } catch (Throwable e) {
            return true;
        }
    }
}
