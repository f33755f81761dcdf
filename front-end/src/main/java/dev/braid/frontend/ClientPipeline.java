package dev.braid.frontend;

import dev.braid.managers.config.GatewayLimits;
import dev.braid.runtime.StrictHttp;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpServerCodec;

import java.net.InetSocketAddress;

/**
 * Builds the pipeline of one client connection: the PROXY protocol handling ({@link ProxyProtocol}),
 * the detection of HTTP/2 with prior knowledge ({@link H2cPriorKnowledge}), a watch on the raw
 * bytes for the header timeout, the raw head checks ({@link HeadSyntax}), the strict HTTP/1.1
 * codec with this front-end's limits, and the {@link GatewayHandler}.
 */
final class ClientPipeline {

    static final String CODEC = "http";
    static final String HEAD_SYNTAX = "head-syntax";

    private ClientPipeline() {
    }

    /**
     * Adds the client handlers after whatever {@code ch}'s pipeline already holds (such as TLS); the
     * PROXY protocol handlers go first of all, since a balancer's header precedes every other byte.
     *
     * @param overloaded whether the front-end was at its connection capacity when {@code ch} arrived:
     *                   then the connection only gets a 503 or a redirect ({@link Overloaded})
     */
    static void init(Channel ch, FrontEnd frontEnd, boolean overloaded) {
        GatewayLimits limits = frontEnd.limits();
        HttpServerCodec codec = new HttpServerCodec(StrictHttp.decoderConfig(limits.maxRequestLineBytes(),
                limits.maxHeaderBytes(), StrictHttp.MAX_CHUNK));
        InetSocketAddress peer = (InetSocketAddress) ch.remoteAddress();
        if (peer != null && Cidr.anyContains(frontEnd.proxyProtocolFrom(), peer.getAddress())) {
            ProxyProtocol.trusted(ch.pipeline());
        } else {
            ProxyProtocol.untrusted(ch.pipeline());
        }
        if (overloaded) {
            frontEnd.metrics().overloaded();
            ch.pipeline().addLast(CODEC, codec);
            ch.pipeline().addLast("overloaded", new Overloaded(frontEnd.siblingUrl(), limits.headerTimeoutMillis()));
            return;
        }
        GatewayHandler gateway = new GatewayHandler(frontEnd, limits);
        ch.pipeline().addLast("h2c", new H2cPriorKnowledge(frontEnd.http2Settings(),
                () -> new GatewayHandler(frontEnd, limits), () -> {
                    // The HTTP/1.1 handlers never saw a request; each HTTP/2 stream gets its own gateway.
                    ch.pipeline().remove("bytes");
                    ch.pipeline().remove(HEAD_SYNTAX);
                    ch.pipeline().remove(CODEC);
                    ch.pipeline().remove("gateway");
                }));
        ch.pipeline().addLast("bytes", gateway.byteWatch());
        ch.pipeline().addLast(HEAD_SYNTAX, new HeadSyntax(limits.maxRequestLineBytes() + limits.maxHeaderBytes() + 4));
        ch.pipeline().addLast(CODEC, codec);
        ch.pipeline().addLast("gateway", gateway);
    }
}
