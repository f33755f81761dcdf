package dev.braid.frontend;

import dev.braid.managers.config.GatewayLimits;
import dev.braid.runtime.StrictHttp;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpServerCodec;

/**
 * Builds the pipeline of one client connection: the strict HTTP/1.1 codec with this front-end's
 * limits, a watch on the raw bytes for the header timeout, and the {@link GatewayHandler}.
 */
final class ClientPipeline {

    static final String CODEC = "http";

    private ClientPipeline() {
    }

    static void init(Channel ch, FrontEnd frontEnd) {
        GatewayLimits limits = frontEnd.limits();
        GatewayHandler gateway = new GatewayHandler(frontEnd, limits);
        ch.pipeline().addLast("bytes", gateway.byteWatch());
        ch.pipeline().addLast(CODEC, new HttpServerCodec(StrictHttp.decoderConfig(limits.maxRequestLineBytes(),
                limits.maxHeaderBytes(), StrictHttp.MAX_CHUNK)));
        ch.pipeline().addLast("gateway", gateway);
    }
}
