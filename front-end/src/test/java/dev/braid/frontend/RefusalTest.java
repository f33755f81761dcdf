package dev.braid.frontend;

import dev.braid.managers.config.GatewayLimits;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static dev.braid.frontend.EmbeddedGateway.received;
import static dev.braid.frontend.EmbeddedGateway.send;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Malformed heads the front-end refuses by itself, answered with 400 and closed. */
class RefusalTest {

    private static final EmbeddedGateway gateway = new EmbeddedGateway(GatewayLimits.DEFAULT);

    @AfterAll
    static void tearDown() {
        gateway.close();
    }

    private static void assert400AndClosed(String raw) {
        EmbeddedChannel ch = gateway.connect();
        send(ch, raw);
        ch.runPendingTasks();
        String response = received(ch);
        assertTrue(response.startsWith("HTTP/1.1 400 Bad Request\r\n"), raw + " -> " + response);
        assertTrue(response.toLowerCase().contains("\r\nconnection: close\r\n"), response);
        assertFalse(ch.isOpen());
        assertFalse(ch.finish());
    }

    @Test
    void nulInAHeaderName() {
        assert400AndClosed("GET / HTTP/1.1\r\nHost: www.shop.example\r\nX-\u0000A: b\r\n\r\n");
    }

    @Test
    void controlCharactersInTheTarget() {
        assert400AndClosed("GET /a\u0000b HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        assert400AndClosed("GET /a\u007fb HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        assert400AndClosed("GET /a\u00e9b HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
    }
}
