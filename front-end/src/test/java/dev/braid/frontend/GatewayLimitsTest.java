package dev.braid.frontend;

import dev.braid.managers.config.GatewayLimits;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static dev.braid.frontend.EmbeddedGateway.received;
import static dev.braid.frontend.EmbeddedGateway.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each named limit of {@link GatewayLimits} answers with its own status and closes the connection. */
class GatewayLimitsTest {

    private static final GatewayLimits SMALL = new GatewayLimits(256, 1024, 10, 100L, 10_000, 60_000, null, null);
    private static final EmbeddedGateway gateway = new EmbeddedGateway(SMALL);

    @AfterAll
    static void tearDown() {
        gateway.close();
    }

    private static String statusLine(String response) {
        return response.isEmpty() ? "" : response.substring(0, response.indexOf("\r\n"));
    }

    private void assertRefusedAndClosed(EmbeddedChannel ch, String status) {
        ch.runPendingTasks();
        String response = received(ch);
        assertEquals(status, statusLine(response), response);
        assertTrue(response.contains("\r\nconnection: close\r\n"), response);
        assertFalse(ch.isOpen());
        assertFalse(ch.finish());
    }

    @Test
    void longRequestLineIs414() {
        EmbeddedChannel ch = gateway.connect();
        send(ch, "GET /" + "a".repeat(300) + " HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        assertRefusedAndClosed(ch, "HTTP/1.1 414 Request-URI Too Long");
    }

    @Test
    void largeHeaderSectionIs431() {
        EmbeddedChannel ch = gateway.connect();
        send(ch, "GET / HTTP/1.1\r\nHost: www.shop.example\r\nX-Big: " + "b".repeat(2000) + "\r\n\r\n");
        assertRefusedAndClosed(ch, "HTTP/1.1 431 Request Header Fields Too Large");
    }

    @Test
    void tooManyHeaderFieldsIs431() {
        EmbeddedChannel ch = gateway.connect();
        StringBuilder head = new StringBuilder("GET / HTTP/1.1\r\nHost: www.shop.example\r\n");
        for (int i = 0; i < 10; i++) {
            head.append("X-").append(i).append(": v\r\n");
        }
        send(ch, head.append("\r\n").toString());
        assertRefusedAndClosed(ch, "HTTP/1.1 431 Request Header Fields Too Large");
    }

    @Test
    void tenHeaderFieldsPass() {
        EmbeddedChannel ch = gateway.connect();
        StringBuilder head = new StringBuilder("GET / HTTP/1.1\r\nHost: www.shop.example\r\n");
        for (int i = 0; i < 9; i++) {
            head.append("X-").append(i).append(": v\r\n");
        }
        send(ch, head.append("\r\n").toString());
        ch.runPendingTasks();
        // Past the limits: no back-end is up, so the gateway answers 502 and keeps the connection.
        String response = received(ch);
        assertEquals("HTTP/1.1 502 Bad Gateway", statusLine(response), response);
        assertTrue(response.matches("(?si).*\r\nx-request-id: [0-9a-f]{32}\r\n.*"), response);
        assertTrue(ch.isOpen());
        ch.close();
        assertFalse(ch.finish());
    }

    @Test
    void declaredBodyOverTheLimitIs413() {
        EmbeddedChannel ch = gateway.connect();
        send(ch, "POST / HTTP/1.1\r\nHost: www.shop.example\r\nContent-Length: 101\r\n\r\n");
        assertRefusedAndClosed(ch, "HTTP/1.1 413 Request Entity Too Large");
    }

    @Test
    void slowHeadIs408AfterTheHeaderTimeout() {
        EmbeddedChannel ch = gateway.connect();
        String head = "GET / HTTP/1.1\r\nHost: www.shop.example\r\n";
        // One byte every two seconds: each byte would restart a per-read timer, not this one.
        for (int i = 0; i < 4; i++) {
            send(ch, head.substring(i, i + 1));
            ch.advanceTimeBy(2, TimeUnit.SECONDS);
            ch.runScheduledPendingTasks();
            assertTrue(ch.isOpen(), "open after " + (i + 1) * 2 + " s");
        }
        send(ch, head.substring(4, 5));
        ch.advanceTimeBy(1_900, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen(), "open after 9.9 s");
        send(ch, head.substring(5, 6));
        ch.advanceTimeBy(100, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertRefusedAndClosed(ch, "HTTP/1.1 408 Request Timeout");
    }

    @Test
    void idleConnectionClosesSilently() {
        EmbeddedChannel ch = gateway.connect();
        ch.advanceTimeBy(59, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen());
        ch.advanceTimeBy(2, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertFalse(ch.isOpen());
        assertEquals("", received(ch));
        assertFalse(ch.finish());
    }

    @Test
    void idleTimerRestartsAfterEachExchange() {
        EmbeddedChannel ch = gateway.connect();
        ch.advanceTimeBy(50, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        send(ch, "GET / HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        ch.runPendingTasks();
        assertEquals("HTTP/1.1 502 Bad Gateway", statusLine(received(ch)));
        ch.advanceTimeBy(50, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen(), "the idle time counts from the end of the exchange");
        ch.advanceTimeBy(11, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertFalse(ch.isOpen());
        assertFalse(ch.finish());
    }

    @Test
    void pipelinedSecondHeadGetsItsOwnHeaderTimer() {
        EmbeddedChannel ch = gateway.connect();
        // The second head starts in the same read as the first request and then stalls.
        send(ch, "GET /1 HTTP/1.1\r\nHost: www.shop.example\r\n\r\nGET /2 HTTP/1.1\r\nHost: www.sh");
        ch.runPendingTasks();
        assertEquals("HTTP/1.1 502 Bad Gateway", statusLine(received(ch)));
        ch.advanceTimeBy(9_900, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen(), "open 9.9 s after the first exchange ended");
        ch.advanceTimeBy(100, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertRefusedAndClosed(ch, "HTTP/1.1 408 Request Timeout");
    }

    @Test
    void thirdHeadOfAKeepAliveConnectionIsTimedFromItsFirstByte() {
        EmbeddedChannel ch = gateway.connect();
        for (int i = 0; i < 2; i++) {
            send(ch, "GET /" + i + " HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
            ch.runPendingTasks();
            assertEquals("HTTP/1.1 502 Bad Gateway", statusLine(received(ch)));
        }
        ch.advanceTimeBy(30, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        send(ch, "GET /3 HTTP/1.1\r\n");
        ch.advanceTimeBy(9_900, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen());
        ch.advanceTimeBy(100, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertRefusedAndClosed(ch, "HTTP/1.1 408 Request Timeout");
    }

    @Test
    void pipelinedCompleteHeadsAreNotTimedOut() {
        EmbeddedChannel ch = gateway.connect();
        send(ch, "GET /1 HTTP/1.1\r\nHost: www.shop.example\r\n\r\nGET /2 HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        ch.runPendingTasks();
        String both = received(ch);
        assertEquals(2, both.split("HTTP/1.1 502 Bad Gateway", -1).length - 1, both);
        ch.advanceTimeBy(30, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen(), "nothing is pending: the idle timeout applies");
        ch.close();
        assertFalse(ch.finish());
    }
}
