package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TCP carrier's sockets, as TmpServer and TmpClient configure them, on real connections: the
 * kernel holds at most {@link TcpLinkHandler#KERNEL_UNSENT_BYTES} unsent on both ends where the
 * transport can say so, so link data waits in the blender, by priority, and not in the kernel.
 */
@ExtendWith(PooledMemoryBaseline.class)
class TcpLinkSocketsIT {

    @ParameterizedTest
    @EnumSource(Transport.class)
    void bothEndsOfALinkConnectionBoundTheKernelsUnsentBytes(Transport transport) throws Exception {
        Assumptions.assumeTrue(transport.isAvailable(), transport.label() + " is not available here");
        try (EventLoops loops = EventLoops.create("tcp-link-sockets", transport, 1)) {
            CompletableFuture<Channel> accepted = new CompletableFuture<>();
            ServerBootstrap sb = new ServerBootstrap().group(loops.group()).channel(transport.serverSocketChannel())
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted.complete(ch);
                        }
                    });
            TcpLinkHandler.socketOptions(transport).forEach((k, v) -> sb.childOption(TmpClient.rawOption(k), v));
            Channel server = sb.bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            Bootstrap b = new Bootstrap().group(loops.group()).channel(transport.socketChannel())
                    .handler(new ChannelInboundHandlerAdapter());
            TcpLinkHandler.socketOptions(transport).forEach((k, v) -> b.option(TmpClient.rawOption(k), v));
            Channel client = b.connect(server.localAddress()).sync().channel();
            Channel child = accepted.get(5, TimeUnit.SECONDS);
            try {
                ChannelOption<Long> unsent = transport.tcpNotSentLowWater();
                for (Channel ch : new Channel[] {client, child}) {
                    assertTrue(ch.config().getOption(ChannelOption.TCP_NODELAY), "TCP_NODELAY on " + ch);
                    assertEquals(TcpLinkHandler.WATER_MARK, ch.config().getOption(ChannelOption.WRITE_BUFFER_WATER_MARK));
                    if (unsent == null) {
                        assertFalse(TcpLinkHandler.socketOptions(transport).containsValue(TcpLinkHandler.KERNEL_UNSENT_BYTES),
                                "NIO has no way to set it");
                    } else {
                        // Read back from the kernel (getsockopt), not from a Java field.
                        assertEquals(TcpLinkHandler.KERNEL_UNSENT_BYTES, ch.config().getOption(unsent), "on " + ch);
                    }
                }
                if (unsent == null) {
                    assertNull(transport.tcpNotSentLowWater());
                }
            } finally {
                client.close().sync();
                child.close().sync();
                server.close().sync();
            }
        }
    }
}
