package dev.braid.frontend.tls;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.HostPort;
import dev.braid.managers.config.HttpsSettings;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.StrictHttp;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The front-end's HTTPS listener ({@code frontEnds[].https}): TLS 1.3 and 1.2 with each site's
 * certificate chosen by SNI ({@link SiteCertificates}), then HTTP/2 or HTTP/1.1 as ALPN decides,
 * both ending in the same gateway handler the plain HTTP port uses.
 *
 * <pre>
 * connection: SniHandler ▸ (SslHandler) ▸ ProtocolSwitch ▸ HttpServerCodec ▸ gateway      (http/1.1)
 *                                       ▸ Http2FrameCodec ▸ Http2MultiplexHandler           (h2)
 * each h2 stream: Http2StreamFrameToHttpObjectCodec ▸ Http2StreamAdapter ▸ gateway
 * </pre>
 *
 * <p>HTTP/1.1 connections read on demand (auto-read off), as on the plain port. An HTTP/2
 * connection reads freely, and each stream's channel reads on demand: a stream's request body is
 * held back by HTTP/2 flow control (the window opens as the gateway consumes), so a slow upstream
 * stalls that stream only. Limits: {@code maxConcurrentStreams} and {@code maxHeaderListBytes}
 * are announced in SETTINGS and enforced; more than {@code maxResetsPerWindow} RST_STREAM frames
 * from a client within {@code resetWindowSeconds} close its connection (the rapid-reset flood,
 * CVE-2023-44487).
 *
 * <p>Certificate files are checked for changes every {@code pki.reloadCheckSeconds} on a thread of
 * its own; a configuration version reaches it through {@link #update}. Changing
 * {@code https.listen} or the HTTP/2 limits takes a restart; certificates and sites change live.
 *
 * <p>Metrics: {@code braid_frontend_tls_handshakes_total{result,protocol}}.
 */
public final class ClientTls implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClientTls.class);

    /**
     * The event the front-end sends every client connection when it starts to drain: an HTTP/1.1
     * connection closes when idle or after its exchange, an HTTP/2 one sends GOAWAY and closes
     * once its streams are done.
     */
    public static final Object DRAIN = new Object() {
        @Override
        public String toString() {
            return "DRAIN";
        }
    };

    /** Largest ClientHello read while looking for SNI, in bytes. */
    static final int MAX_CLIENT_HELLO_BYTES = 16 * 1024;
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private final String frontEnd;
    private final SiteCertificates certificates;
    private final HttpsSettings settings;
    private final Supplier<ChannelHandler> gateway;
    private final ChannelGroup clients;
    private final Metrics.Counter handshakes;
    private final ScheduledExecutorService reloader;
    private final dev.braid.frontend.Listeners listeners;

    private ClientTls(EventLoops loops, BraidConfig config, String frontEnd, InetSocketAddress listen,
                      Supplier<ChannelHandler> gateway, ChannelGroup clients, Metrics metrics) {
        FrontEndNode node = config.frontEnd(frontEnd);
        this.frontEnd = frontEnd;
        this.settings = Objects.requireNonNull(node.https(), "frontEnds[" + frontEnd + "].https");
        this.gateway = gateway;
        this.clients = clients;
        this.certificates = SiteCertificates.load(config, frontEnd);
        this.handshakes = metrics.counter("braid_frontend_tls_handshakes_total",
                "TLS handshakes with clients, by result and the protocol ALPN chose", "result", "protocol");
        metrics.gauges("braid_frontend_https_certificate_expiry_timestamp_seconds",
                "When each site certificate in use expires (Unix time), by the certificate's label: alert well before it",
                () -> {
                    java.util.Map<java.util.List<String>, Double> m = new java.util.HashMap<>();
                    certificates.expiries().forEach((label, at) -> m.put(java.util.List.of(label),
                            at.getEpochSecond() + 0.0));
                    return m;
                }, "certificate");
        // The same listening sockets as plain HTTP: one per event loop where the transport allows it.
        this.listeners = dev.braid.frontend.Listeners.bind(loops, listen, new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ClientTls.this.clients.add(ch);
                ch.pipeline().addLast("sni", new SniHandler(certificates, MAX_CLIENT_HELLO_BYTES,
                                HANDSHAKE_TIMEOUT.toMillis()))
                        .addLast("protocol", new ProtocolSwitch())
                        .addLast("http1", new HttpServerCodec(StrictHttp.decoderConfig()))
                        .addLast("gateway", ClientTls.this.gateway.get());
            }
        });
        this.reloader = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "front-end-certificates");
            t.setDaemon(true);
            return t;
        });
        long every = config.pki().reloadCheckSeconds();
        reloader.scheduleWithFixedDelay(this::reload, every, every, TimeUnit.SECONDS);
        log.info("front-end {}: HTTPS on {} (h2, http/1.1; {})", frontEnd, listeners.localAddress(),
                listeners.describe());
    }

    /**
     * Starts the HTTPS listener of front-end {@code frontEnd} on its {@code https.listen}.
     *
     * @param gateway makes the handler each HTTP/1.1 connection and each HTTP/2 stream ends in
     * @param clients every client connection joins it (to be counted and closed with the front-end)
     * @throws IllegalArgumentException when a certificate cannot be loaded
     */
    public static ClientTls start(EventLoops loops, BraidConfig config, String frontEnd,
                                  Supplier<ChannelHandler> gateway, ChannelGroup clients, Metrics metrics) {
        FrontEndNode node = config.frontEnd(frontEnd);
        InetSocketAddress listen = HostPort.parse("frontEnds[" + frontEnd + "].https.listen", node.https().listen());
        return new ClientTls(loops, config, frontEnd, listen, gateway, clients, metrics);
    }

    /** The certificates in use. */
    public SiteCertificates certificates() {
        return certificates;
    }

    public InetSocketAddress localAddress() {
        return listeners.localAddress();
    }

    /**
     * Takes a configuration version: sites and certificate files for new connections.
     *
     * @throws IllegalArgumentException when a certificate of the new version cannot be loaded;
     *                                  nothing changed then
     */
    public void update(BraidConfig config) {
        FrontEndNode node = config.frontEnd(frontEnd);
        if (node != null && !Objects.equals(node.https(), settings)) {
            log.warn("front-end {}: frontEnds[{}].https changed to {}; the listener keeps {} until a restart",
                    frontEnd, frontEnd, node.https(), settings);
        }
        if (node != null && node.https() == null) {
            // HTTPS is going away at the next restart; until then the listener serves the certificates it has.
            return;
        }
        certificates.update(config);
    }

    private void reload() {
        try {
            certificates.reloadIfChanged();
        } catch (RuntimeException e) {
            log.warn("front-end {}: checking certificate files failed: {}", frontEnd, e.toString());
        }
    }

    @Override
    public void close() {
        reloader.shutdownNow();
        listeners.close();
    }

    /**
     * Picks the pipeline ALPN chose once the handshake is done. Until then the HTTP/1.1 pipeline
     * is in place (its handler started the first read), and this buffers what arrives.
     */
    private final class ProtocolSwitch extends ApplicationProtocolNegotiationHandler {

        ProtocolSwitch() {
            super(ApplicationProtocolNames.HTTP_1_1);
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            handshakes.inc("ok", protocol);
            if (!ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                return;
            }
            ChannelPipeline p = ctx.pipeline();
            p.remove("http1");
            p.remove("gateway");
            p.addLast(http2Handlers(settings, gateway));
            ctx.channel().config().setAutoRead(true);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            // Every handshake ends in this event, timeouts included; exceptionCaught does not see them all.
            if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) {
                handshakes.inc("failed", "none");
                log.debug("front-end {}: TLS handshake with {} failed: {}", frontEnd, ctx.channel().remoteAddress(),
                        e.cause().toString());
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * What an HTTP/2 connection's pipeline holds after the TLS handler (or, for h2c with prior
     * knowledge on the plain listener, after the PROXY protocol handlers): the connection codec
     * with the listener's limits, the stream multiplexer, and {@link ConnectionTail}.
     */
    public static ChannelHandler[] http2Handlers(HttpsSettings settings, Supplier<ChannelHandler> gateway) {
        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(settings.maxConcurrentStreams())
                        .maxHeaderListSize(settings.maxHeaderListBytes()))
                .decoderEnforceMaxRstFramesPerWindow(settings.maxResetsPerWindow(), settings.resetWindowSeconds())
                .validateHeaders(true)
                .build();
        return new ChannelHandler[] {codec, new Http2MultiplexHandler(streamInitializer(gateway)), new ConnectionTail()};
    }

    /** Sets up each HTTP/2 stream's channel to end in a handler from {@code gateway}. */
    private static ChannelInitializer<Http2StreamChannel> streamInitializer(Supplier<ChannelHandler> gateway) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
                // The gateway reads each stream on demand; flow control holds back what it has not read.
                stream.config().setAutoRead(false);
                stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new Http2StreamAdapter(),
                        gateway.get());
            }
        };
    }

    /**
     * The end of an HTTP/2 connection's pipeline. The codec has already answered a protocol error
     * (GOAWAY or RST_STREAM) when it passes the error on, and the connection frames it passes on
     * (SETTINGS, PING, GOAWAY) need nothing more: both end here, so a client sending garbage costs
     * a debug line, not a warning per connection.
     */
    static final class ConnectionTail extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == DRAIN) {
                // Closing an HTTP/2 connection is graceful: GOAWAY first, and the streams under way finish.
                ctx.channel().close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("HTTP/2 client {}: {}", ctx.channel().remoteAddress(), cause.toString());
            if (!(cause instanceof Http2Exception)) {
                // Anything but a protocol error (which the codec has answered) ends the connection here.
                ctx.close();
            }
        }
    }
}
