package dev.braid.frontend;

import dev.braid.frontend.tls.ClientTls;
import dev.braid.managers.config.HttpsSettings;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

/**
 * Recognises HTTP/2 with prior knowledge on the plain listener (RFC 9113 §3.3): a connection
 * whose first bytes are the client connection preface {@code PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n}
 * gets the HTTP/2 pipeline the HTTPS listener uses after ALPN chose h2 ({@link
 * ClientTls#http2Handlers}), with the same limits; every other connection keeps its HTTP/1.1
 * pipeline, and this handler leaves as soon as the first bytes differ from the preface. Until
 * then it holds at most the 24 bytes of the preface. The {@code Upgrade: h2c} dance of RFC 7540
 * §3.2 is not supported (RFC 9113 deprecates it): such a request is served over HTTP/1.1.
 */
final class H2cPriorKnowledge extends ByteToMessageDecoder {

    static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final HttpsSettings settings;
    private final Supplier<ChannelHandler> gateway;
    private final Runnable onSwitch;

    /**
     * @param settings the HTTP/2 limits (streams, header list, resets)
     * @param gateway  makes the handler each HTTP/2 stream ends in
     * @param onSwitch runs once when the connection turns out to speak HTTP/2
     */
    H2cPriorKnowledge(HttpsSettings settings, Supplier<ChannelHandler> gateway, Runnable onSwitch) {
        this.settings = settings;
        this.gateway = gateway;
        this.onSwitch = onSwitch;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), PREFACE.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != PREFACE[i]) {
                // HTTP/1.x: what was held goes on to the HTTP/1.1 codec when this handler leaves.
                ctx.pipeline().remove(this);
                return;
            }
        }
        if (n < PREFACE.length) {
            return;
        }
        ChannelPipeline p = ctx.pipeline();
        onSwitch.run();
        String after = ctx.name();
        for (ChannelHandler h : ClientTls.http2Handlers(settings, gateway)) {
            String name = "h2-" + h.getClass().getSimpleName();
            p.addAfter(after, name, h);
            after = name;
        }
        // The HTTP/2 connection reads freely; each stream reads on demand (see ClientTls).
        ctx.channel().config().setAutoRead(true);
        p.remove(this);
    }
}
