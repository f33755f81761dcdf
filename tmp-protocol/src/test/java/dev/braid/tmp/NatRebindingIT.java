package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * A link survives its client's address changing under it, as behind a NAT that rebinds: a relay
 * between client and back-end switches to a new source port mid-transfer, and the back-end keeps
 * the link because connection ids, not addresses, name it.
 */
@ExtendWith(PooledMemoryBaseline.class)
class NatRebindingIT {

    /** A UDP relay on loopback whose outer side can change its port. */
    static final class Nat implements AutoCloseable {
        final DatagramSocket inside;
        volatile DatagramSocket outside;
        volatile SocketAddress client;
        final InetSocketAddress server;
        final List<Thread> threads = new ArrayList<>();
        volatile boolean closed;

        Nat(InetSocketAddress server) throws IOException {
            this.server = server;
            this.inside = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            this.outside = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            thread(() -> {
                byte[] buf = new byte[65_536];
                while (!closed) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    inside.receive(p);
                    client = p.getSocketAddress();
                    DatagramPacket out = new DatagramPacket(p.getData(), p.getLength(), server);
                    try {
                        outside.send(out);
                    } catch (IOException e) {
                        // rebind() closed the socket this thread had just read: send on the new one.
                        if (closed) {
                            return;
                        }
                        outside.send(out);
                    }
                }
            });
            listenOutside(outside);
        }

        private void listenOutside(DatagramSocket socket) {
            thread(() -> {
                byte[] buf = new byte[65_536];
                while (!closed && socket == outside) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    socket.receive(p);
                    if (client != null) {
                        inside.send(new DatagramPacket(p.getData(), p.getLength(), client));
                    }
                }
            });
        }

        /** The outer port changes; packets the server sends to the old one are lost. */
        void rebind() throws IOException {
            DatagramSocket old = outside;
            outside = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            listenOutside(outside);
            old.close();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) inside.getLocalSocketAddress();
        }

        private void thread(RelayThreads.Loop body) {
            RelayThreads.start("nat", body, threads);
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            inside.close();
            outside.close();
            for (Thread t : threads) {
                t.join(2000);
            }
        }
    }

    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
    }

    @Test
    void theLinkFollowsItsConnectionIdToANewAddress() throws Exception {
        EventLoops loops = EventLoops.create("nat-it", Transport.NIO, 2);
        resources.add(loops);
        TmpServer server = TmpServer.start(loops, new InetSocketAddress("127.0.0.1", 0), UdpCarrierIT.PATIENT, "be",
                stream -> new UdpCarrierIT.Echo());
        resources.add(server);
        Nat nat = new Nat(server.localAddress());
        resources.add(nat);
        TmpClient client = TmpClient.start(loops, nat.address(), "be", UdpCarrierIT.PATIENT, "fe", stream -> null);
        resources.add(client);
        TmpLink link = client.awaitLink().get(15, TimeUnit.SECONDS);
        assertEquals("udp", link.carrier());

        byte[] payload = new byte[2_000_000];
        new Random(7).nextBytes(payload);
        UdpCarrierIT.Collect c = new UdpCarrierIT.Collect();
        TmpStream s = link.openStream(1, "standard", false, c);
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(payload.length / 2);
        b.writeBytes(payload, 0, payload.length / 2);
        s.write(b);
        Thread.sleep(300);
        TmpLink serverSide = server.links().iterator().next();
        SocketAddress before = serverSide.remoteAddress();
        nat.rebind();
        ByteBuf rest = ByteBufAllocator.DEFAULT.directBuffer(payload.length / 2);
        rest.writeBytes(payload, payload.length / 2, payload.length / 2);
        s.writeAndEnd(rest);
        assertArrayEquals(payload, c.done.get(30, TimeUnit.SECONDS));
        assertEquals(1, server.links().size(), "the same link, no reconnection");
        assertEquals(serverSide, server.links().iterator().next());
        assertNotEquals(before, serverSide.remoteAddress(), "the back-end follows the new address");
    }
}
