package dev.braid.frontend;

import dev.braid.managers.config.GatewayLimits;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static dev.braid.frontend.EmbeddedGateway.received;
import static dev.braid.frontend.EmbeddedGateway.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link HeadSyntax}: what the decoder would normalise away is refused with 400, after the requests
 * before it on the connection; bodies are followed by their framing, so body bytes that look like a
 * head are never checked as one. (No back-end here: a request that passes gets the gateway's 502.)
 */
class HeadSyntaxTest {

    private static final EmbeddedGateway gateway = new EmbeddedGateway(GatewayLimits.DEFAULT);
    private static final String HOST = "Host: www.shop.example\r\n";

    @AfterAll
    static void tearDown() {
        gateway.close();
    }

    private static String exchange(String... reads) {
        EmbeddedChannel ch = gateway.connect();
        for (String r : reads) {
            send(ch, r);
            ch.runPendingTasks();
        }
        String response = received(ch);
        ch.close();
        assertFalse(ch.finish());
        return response;
    }

    private static int count(String response, String status) {
        return response.split(status, -1).length - 1;
    }

    private static void assertRefused(String reason, String request) {
        String response = exchange("GET /before HTTP/1.1\r\n" + HOST + "\r\n" + request
                + "GET /after HTTP/1.1\r\n" + HOST + "\r\n");
        assertEquals(1, count(response, "HTTP/1.1 502 Bad Gateway"), "the request before is answered: " + response);
        assertTrue(response.contains("HTTP/1.1 400 Bad Request\r\n"), response);
        assertTrue(response.contains("X-Braid-Error: malformed request: " + reason + "\r\n"), response);
        assertTrue(response.endsWith("\n"), "nothing after the 400: " + response);
    }

    @Test
    void aTabOrTwoSpacesInTheRequestLineIsRefused() {
        String why = "malformed request line (expected: method SP target SP HTTP/d.d, single spaces, upper-case HTTP)";
        assertRefused(why, "GET\t/ HTTP/1.1\r\n" + HOST + "\r\n");
        assertRefused(why, "GET /  HTTP/1.1\r\n" + HOST + "\r\n");
        assertRefused(why, "GET / http/1.1\r\n" + HOST + "\r\n");
    }

    @Test
    void obsFoldIsRefused() {
        assertRefused("obs-fold (a field line starting with whitespace) is not accepted",
                "GET / HTTP/1.1\r\n" + HOST + "X-A: b\r\n\tc\r\n\r\n");
    }

    @Test
    void aTabInAFramingFieldIsRefused() {
        assertRefused("a tab in the value of Transfer-Encoding is not accepted",
                "POST / HTTP/1.1\r\n" + HOST + "Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n");
        assertRefused("a tab in the value of Content-Length is not accepted",
                "POST / HTTP/1.1\r\n" + HOST + "Content-Length: 0\t\r\n\r\n");
    }

    /** Runs {@code reads} through a lone {@link HeadSyntax}; returns what it passed on, and any refusal after it. */
    private static String through(String... reads) {
        EmbeddedChannel ch = new EmbeddedChannel(new HeadSyntax(16 * 1024));
        StringBuilder out = new StringBuilder();
        for (String r : reads) {
            io.netty.buffer.ByteBuf b = io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer();
            b.writeCharSequence(r, java.nio.charset.StandardCharsets.ISO_8859_1);
            ch.writeInbound(b);
            Object o;
            while ((o = ch.readInbound()) != null) {
                if (o instanceof io.netty.buffer.ByteBuf buf) {
                    out.append(buf.toString(java.nio.charset.StandardCharsets.ISO_8859_1));
                    buf.release();
                } else {
                    out.append("<").append(((HeadSyntax.Refusal) o).reason()).append(">");
                }
            }
        }
        assertFalse(ch.finishAndReleaseAll());
        return out.toString();
    }

    @Test
    void bodiesThatLookLikeHeadsAreFollowedNotChecked() {
        String lookalike = "GET\t/ http/1.1\r\n X: y\r\n\r\n";
        String sized = "POST /a HTTP/1.1\r\n" + HOST + "Content-Length: " + lookalike.length() + "\r\n\r\n" + lookalike;
        String chunked = "POST /b HTTP/1.1\r\n" + HOST + "Transfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(lookalike.length()) + ";ext=1\r\n" + lookalike + "\r\n0\r\nX-T: 1\r\n\r\n";
        String all = "\r\n" + sized + chunked + "GET /c HTTP/1.1\r\n" + HOST + "\r\n";
        assertEquals(all, through(all), "passed on unchanged, nothing refused");
        // Split into reads of 7 bytes that cut heads, sizes and data anywhere.
        java.util.List<String> pieces = new java.util.ArrayList<>();
        for (int i = 0; i < all.length(); i += 7) {
            pieces.add(all.substring(i, Math.min(all.length(), i + 7)));
        }
        assertEquals(all, through(pieces.toArray(String[]::new)));
        // The same bytes as a head of their own are refused, and nothing after them passes.
        assertEquals(sized + "<malformed request line (expected: method SP target SP HTTP/d.d, single spaces, "
                + "upper-case HTTP)>", through(sized + lookalike + "GET /c HTTP/1.1\r\n" + HOST + "\r\n"));
    }

    @Test
    void whatItCannotFollowPassesOnForTheDecoderToRefuse() {
        String bad = "POST / HTTP/1.1\r\n" + HOST + "Transfer-Encoding: chunked\r\n\r\nzz\r\nGET\t/ HTTP/1.1\r\n\r\n";
        assertEquals(bad, through(bad));
        String bareLf = "GET / HTTP/1.1\n" + HOST + "\r\nGET\t/ HTTP/1.1\r\n\r\n";
        assertEquals(bareLf, through(bareLf));
    }
}
