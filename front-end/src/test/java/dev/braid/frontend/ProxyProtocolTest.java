package dev.braid.frontend;

import dev.braid.managers.config.GatewayLimits;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

import static dev.braid.frontend.EmbeddedGateway.received;
import static dev.braid.frontend.EmbeddedGateway.send;
import static dev.braid.frontend.EmbeddedGateway.sendProxyV2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PROXY protocol v2 is taken from the configured balancers only, and required from them. */
class ProxyProtocolTest {

    private static final EmbeddedGateway gateway = new EmbeddedGateway(GatewayLimits.DEFAULT, null,
            List.of("10.0.0.0/8"));
    private static final InetSocketAddress BALANCER = new InetSocketAddress("10.1.2.3", 50000);
    private static final InetSocketAddress STRANGER = new InetSocketAddress("192.0.2.7", 50000);
    private static final String GET = "GET / HTTP/1.1\r\nHost: www.shop.example\r\n\r\n";

    @AfterAll
    static void tearDown() {
        gateway.close();
    }

    @Test
    void balancerNamesTheClient() throws Exception {
        EmbeddedChannel ch = gateway.connect(false, BALANCER);
        sendProxyV2(ch, "203.0.113.9", 41000);
        assertEquals(new InetSocketAddress(InetAddress.getByName("203.0.113.9"), 41000),
                ProxyProtocol.clientAddress(ch));
        send(ch, GET);
        ch.runPendingTasks();
        assertTrue(received(ch).startsWith("HTTP/1.1 502 "), "the request is handled (no back-end is up here)");
        ch.close();
        assertFalse(ch.finish());
    }

    @Test
    void balancerWithoutAHeaderIsClosed() {
        EmbeddedChannel ch = gateway.connect(false, BALANCER);
        send(ch, GET);
        ch.runPendingTasks();
        assertEquals("", received(ch));
        assertFalse(ch.isOpen());
        assertFalse(ch.finish());
    }

    @Test
    void headerFromAnyoneElseIsRefused() throws Exception {
        EmbeddedChannel ch = gateway.connect(false, STRANGER);
        sendProxyV2(ch, "203.0.113.9", 41000);
        ch.runPendingTasks();
        assertEquals("", received(ch));
        assertFalse(ch.isOpen());
        assertEquals(STRANGER, ProxyProtocol.clientAddress(ch));
        assertFalse(ch.finish());

        EmbeddedChannel v1 = gateway.connect(false, STRANGER);
        send(v1, "PROXY TCP4 203.0.113.9 198.51.100.1 41000 443\r\n" + GET);
        v1.runPendingTasks();
        assertEquals("", received(v1));
        assertFalse(v1.isOpen());
        assertFalse(v1.finish());
    }

    @Test
    void strangerWithoutAHeaderIsServed() {
        EmbeddedChannel ch = gateway.connect(false, STRANGER);
        send(ch, GET);
        ch.runPendingTasks();
        assertTrue(received(ch).startsWith("HTTP/1.1 502 "));
        assertTrue(ch.isOpen());
        ch.close();
        assertFalse(ch.finish());
    }

    @Test
    void overloadedBalancerConnectionStillReadsItsHeader() throws Exception {
        try (EmbeddedGateway full = new EmbeddedGateway(GatewayLimits.DEFAULT, "http://fe-2.example",
                List.of("10.0.0.0/8"))) {
            EmbeddedChannel ch = full.connect(true, BALANCER);
            sendProxyV2(ch, "203.0.113.9", 41000);
            send(ch, GET);
            ch.runPendingTasks();
            String response = received(ch);
            // The request behind the header is read as such, so it can be redirected.
            assertTrue(response.startsWith("HTTP/1.1 307 "), response);
            assertFalse(ch.isOpen());
            assertFalse(ch.finish());
        }
    }

    @Test
    void cidrMatching() {
        Cidr net = Cidr.parse("x", "10.0.0.0/8");
        assertTrue(net.contains(addr("10.255.0.1")));
        assertFalse(net.contains(addr("11.0.0.1")));
        assertFalse(net.contains(addr("::ffff:10.0.0.1")) && addr("::ffff:10.0.0.1").getAddress().length == 16);
        Cidr v6 = Cidr.parse("x", "2001:db8::/33");
        assertTrue(v6.contains(addr("2001:db8:7fff::1")));
        assertFalse(v6.contains(addr("2001:db8:8000::1")));
        assertTrue(Cidr.parse("x", "0.0.0.0/0").contains(addr("192.0.2.1")));
    }

    private static InetAddress addr(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
