package dev.braid.frontend;

import dev.braid.managers.config.GatewayLimits;
import dev.braid.managers.config.ClientClass;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.braid.frontend.EmbeddedGateway.received;
import static dev.braid.frontend.EmbeddedGateway.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Connections past capacity and requests past their class's bound are refused, lower classes first. */
class OverloadTest {

    /** Ring-0 class bound 4: gold (ring 0 of 3 rings) may have 4 in flight, standard (ring 2) 1. */
    private static final EmbeddedGateway gateway = new EmbeddedGateway(
            new GatewayLimits(null, null, null, null, null, null, null, 4));
    private static final EmbeddedGateway redirecting = new EmbeddedGateway(GatewayLimits.DEFAULT,
            "http://fe-2.example:8080");

    @AfterAll
    static void tearDown() {
        gateway.close();
        redirecting.close();
    }

    @Test
    void connectionPastCapacityGets503WithRetryAfter() {
        EmbeddedChannel ch = gateway.connect(true);
        send(ch, "GET /a HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        ch.runPendingTasks();
        String response = received(ch);
        assertTrue(response.startsWith("HTTP/1.1 503 Service Unavailable\r\n"), response);
        assertTrue(response.toLowerCase().contains("\r\nretry-after: 5\r\n"), response);
        assertTrue(response.toLowerCase().contains("\r\nconnection: close\r\n"), response);
        assertFalse(ch.isOpen());
        assertFalse(ch.finish());
    }

    @Test
    void connectionPastCapacityIsRedirectedToTheSibling() {
        EmbeddedChannel ch = redirecting.connect(true);
        send(ch, "GET /a?b=c HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        ch.runPendingTasks();
        String response = received(ch);
        assertTrue(response.startsWith("HTTP/1.1 307 Temporary Redirect\r\n"), response);
        assertTrue(response.toLowerCase().contains("\r\nlocation: http://fe-2.example:8080/a?b=c\r\n"), response);
        assertFalse(ch.isOpen());
        assertFalse(ch.finish());
    }

    @Test
    void bounds() {
        assertEquals(4, ClassAdmission.bound(4, 0, 3));
        assertEquals(2, ClassAdmission.bound(4, 1, 3));
        assertEquals(1, ClassAdmission.bound(4, 2, 3));
        assertEquals(1, ClassAdmission.bound(1, 5, 3));
        assertEquals(10_000, ClassAdmission.bound(30_000, 2, 3));
    }

    @Test
    void lowerClassIsShedFirstAndPlacesComeBack() {
        FrontEnd fe = gateway.frontEnd;
        // Standard requests in flight elsewhere up to standard's bound, which is below gold's.
        ClientClass standard = new ClientClass("standard", 2, 1, List.of());
        int held = 0;
        while (fe.admit(standard)) {
            held++;
        }
        assertTrue(held >= 1 && held < 4, "standard's bound " + held);
        try {
            EmbeddedChannel ch = gateway.connect();
            send(ch, "GET /page HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
            ch.runPendingTasks();
            String shed = received(ch);
            assertTrue(shed.startsWith("HTTP/1.1 503 Service Unavailable\r\n"), shed);
            assertTrue(shed.toLowerCase().contains("\r\nretry-after: 5\r\n"), shed);
            assertTrue(ch.isOpen(), "a request without a body is shed without closing the connection");

            send(ch, "GET /checkout HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
            ch.runPendingTasks();
            String gold = received(ch);
            // Admitted: it gets as far as the back-end (none is up here), and gives its place back.
            assertTrue(gold.startsWith("HTTP/1.1 502 Bad Gateway\r\n"), gold);
            assertEquals(0, fe.admission().inFlight("gold"));
            ch.close();
            assertFalse(ch.finish());
        } finally {
            for (int i = 0; i < held; i++) {
                fe.release(standard);
            }
        }
        assertEquals(0, fe.admission().inFlight("standard"));
        EmbeddedChannel ch = gateway.connect();
        send(ch, "GET /page HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        ch.runPendingTasks();
        String admitted = received(ch);
        assertTrue(admitted.startsWith("HTTP/1.1 502 Bad Gateway\r\n"), admitted);
        assertEquals(0, fe.admission().inFlight("standard"));
        ch.close();
        assertFalse(ch.finish());
    }
}
