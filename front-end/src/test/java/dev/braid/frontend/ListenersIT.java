package dev.braid.frontend;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The front-end's listening sockets: one per loop where the transport can share a port, yet a
 * second front-end on an address already taken fails as it would with one socket.
 */
@ExtendWith(PooledMemoryBaseline.class)
class ListenersIT {

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aTakenAddressIsRefusedWithAddressInUse(Transport transport) throws Exception {
        Assumptions.assumeTrue(transport.isAvailable(), transport.label() + " is not available here");
        try (EventLoops loops = EventLoops.create("listeners-it", transport, 2);
             Listeners first = Listeners.bind(loops, new InetSocketAddress("127.0.0.1", 0), new ChannelInboundHandlerAdapter())) {
            InetSocketAddress at = first.localAddress();
            assertTrue(first.describe().contains(transport.reusesPorts() ? "2 listening sockets" : "one listening socket"),
                    first.describe());
            ChannelException e = assertThrows(ChannelException.class,
                    () -> Listeners.bind(loops, at, new ChannelInboundHandlerAdapter()).close());
            assertTrue(String.valueOf(e.getMessage()).contains("in use"), "message: " + e.getMessage());
            try (Socket s = new Socket()) {
                s.connect(at, 2000);  // the first front-end still listens
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aPortHeldByAnotherProgramIsRefused(Transport transport) throws Exception {
        Assumptions.assumeTrue(transport.isAvailable(), transport.label() + " is not available here");
        try (ServerSocket other = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             EventLoops loops = EventLoops.create("listeners-it", transport, 2)) {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", other.getLocalPort());
            ChannelException e = assertThrows(ChannelException.class,
                    () -> Listeners.bind(loops, at, new ChannelInboundHandlerAdapter()).close());
            assertTrue(String.valueOf(e.getMessage()).contains("in use"), "message: " + e.getMessage());
            assertEquals(other.getLocalPort(), at.getPort());
        }
    }
}
