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
        BraidConfig config = new BraidConfig(
                List.of(new Site("shop", List.of("www.shop.example"), null,
                        List.of(new Origin("o1", "http://127.0.0.1:9", null, null, null)))),
                List.of(new FrontEndNode("fe-1", "127.0.0.1:0", "127.0.0.1", null, null, null, List.of("shop"),
                        List.of(), null, limits, siblingUrl, null)),
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
        EmbeddedChannel ch = new EmbeddedChannel(false, true) {
            @Override
            protected SocketAddress remoteAddress0() {
                return isActive() ? new InetSocketAddress("192.0.2.7", 40000) : null;
            }

            @Override
            protected SocketAddress localAddress0() {
                return isActive() ? new InetSocketAddress("127.0.0.1", 8080) : null;
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
