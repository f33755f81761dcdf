package dev.braid.frontend;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClassRule;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.GatewayLimits;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A front-end without back-ends whose client connections are {@link EmbeddedChannel}s: for tests
 * of what the gateway answers by itself (limits, timeouts, refusals).
 */
final class EmbeddedGateway implements AutoCloseable {

    final EventLoops loops = EventLoops.create("embedded-fe", Transport.NIO, 1);
    final Metrics metrics = new Metrics();
    final FrontEnd frontEnd;

    EmbeddedGateway(GatewayLimits limits) {
        this(limits, null);
    }

    EmbeddedGateway(GatewayLimits limits, String siblingUrl) {
        this(limits, siblingUrl, null);
    }

    EmbeddedGateway(GatewayLimits limits, String siblingUrl, List<String> proxyProtocolFrom) {
        BraidConfig config = new BraidConfig(
                List.of(new Site("shop", List.of("www.shop.example"), null,
                        List.of(new Origin("o1", "http://127.0.0.1:9", null, null, null)))),
                List.of(new FrontEndNode("fe-1", "127.0.0.1:0", "127.0.0.1", null, null, null, List.of("shop"),
                        List.of(), null, limits, siblingUrl, proxyProtocolFrom)),
                List.of(),
                List.of(new ClientClass("gold", 0, 8, List.of(new ClassRule(null, null, "/checkout", null, null, null))),
                        new ClientClass("standard", 2, 1, List.of())),
                null, null, null);
        frontEnd = FrontEnd.start(new FrontEnd.Options("fe-1", new InetSocketAddress("127.0.0.1", 0), loops,
                metrics, config));
    }

    /** A new client connection from 192.0.2.7, active. */
    EmbeddedChannel connect() {
        return connect(false);
    }

    /** A new client connection from 192.0.2.7, active, arriving while the front-end is full or not. */
    EmbeddedChannel connect(boolean overloaded) {
        return connect(overloaded, new InetSocketAddress("192.0.2.7", 40000));
    }

    /** A new client connection from {@code peer}, active. */
    EmbeddedChannel connect(boolean overloaded, InetSocketAddress peer) {
        EmbeddedChannel ch = new EmbeddedChannel(false, true) {
            @Override
            protected SocketAddress remoteAddress0() {
                return peer;
            }

            @Override
            protected SocketAddress localAddress0() {
                return new InetSocketAddress("127.0.0.1", 8080);
            }
        };
        ClientPipeline.init(ch, frontEnd, overloaded);
        try {
            ch.register();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return ch;
    }

    /** A PROXY protocol v2 header (PROXY command, TCP over IPv4) naming {@code source}. */
    static void sendProxyV2(EmbeddedChannel ch, String source, int sourcePort) throws java.net.UnknownHostException {
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer();
        b.writeBytes(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        b.writeByte(0x21).writeByte(0x11).writeShort(12);
        b.writeBytes(java.net.InetAddress.getByName(source).getAddress());
        b.writeBytes(new byte[] {(byte) 198, 51, 100, 1});
        b.writeShort(sourcePort).writeShort(443);
        ch.writeInbound(b);
    }

    /** Writes {@code text} as one pooled buffer, as a socket read would deliver it. */
    static void send(EmbeddedChannel ch, String text) {
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer();
        b.writeCharSequence(text, StandardCharsets.ISO_8859_1);
        ch.writeInbound(b);
    }

    /** Everything the gateway wrote so far, released. */
    static String received(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            try {
                sb.append(b.toString(StandardCharsets.ISO_8859_1));
            } finally {
                b.release();
            }
        }
        return sb.toString();
    }

    @Override
    public void close() {
        frontEnd.close();
        loops.close();
    }
}
