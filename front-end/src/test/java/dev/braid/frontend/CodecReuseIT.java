package dev.braid.frontend;

import dev.braid.runtime.HttpCodecPool;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exchanges of every framing, one after another on one keep-alive client connection, with front-end
 * and back-end on one event loop: each exchange takes the codecs the one before gave back, so a
 * codec left mid-message (a HEAD answered with a Content-Length, a chunked body, an interim 100)
 * would misframe the next answer.
 */
@ExtendWith(PooledMemoryBaseline.class)
class CodecReuseIT {

    private GatewayFixture gateway;

    @AfterEach
    void tearDown() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "udp"})
    void everyFramingInTurnOnReusedCodecs(String carrier) throws Exception {
        gateway = new GatewayFixture(Transport.NIO, 1, 1, 100, carrier);
        try (Socket s = new Socket("127.0.0.1", gateway.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            for (int round = 0; round < 3; round++) {
                send(out, "GET /a?r=" + round + " HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
                Response get = read(in, false);
                assertEquals(200, get.status);
                assertEquals("GET /a?r=" + round + " 0", get.body);

                // The origin answers HEAD with the GET's Content-Length and no body.
                send(out, "HEAD /b HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
                Response head = read(in, true);
                assertEquals(200, head.status);
                assertEquals("HEAD /b 0".length(), Integer.parseInt(head.headers.get("content-length")));
                assertEquals("", head.body);

                send(out, "POST /c HTTP/1.1\r\nHost: www.shop.example\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n");
                Response chunked = read(in, false);
                assertEquals("POST /c 11", chunked.body);

                send(out, "POST /d HTTP/1.1\r\nHost: www.shop.example\r\nContent-Length: 3\r\n"
                        + "Expect: 100-continue\r\n\r\n");
                assertEquals(100, readStatusLineAndHeaders(in).status, "the front-end answers the expectation");
                send(out, "abc");
                Response continued = read(in, false);
                assertEquals(200, continued.status);
                assertEquals("POST /d 3", continued.body);
            }
        }
        // Front-end, link and back-end share the one loop: both kinds of codec came back to it.
        var loop = gateway.loops.group().next();
        int clients = loop.submit(() -> HttpCodecPool.client().idleHere()).get(5, TimeUnit.SECONDS);
        int servers = loop.submit(() -> HttpCodecPool.server().idleHere()).get(5, TimeUnit.SECONDS);
        assertTrue(clients >= 1, "client codecs kept on the loop: " + clients);
        assertTrue(servers >= 1, "server codecs kept on the loop: " + servers);
        assertTrue(clients <= HttpCodecPool.MAX_IDLE && servers <= HttpCodecPool.MAX_IDLE);
    }

    private static void send(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private record Response(int status, Map<String, String> headers, String body) {
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new IOException("connection closed mid-line: " + b);
            }
            b.write(c);
        }
        String s = b.toString(StandardCharsets.ISO_8859_1);
        assertTrue(s.endsWith("\r"), "line ends in CRLF: " + s);
        return s.substring(0, s.length() - 1);
    }

    private static Response readStatusLineAndHeaders(InputStream in) throws IOException {
        String status = line(in);
        assertTrue(status.startsWith("HTTP/1.1 "), status);
        Map<String, String> headers = new LinkedHashMap<>();
        String h;
        while (!(h = line(in)).isEmpty()) {
            int colon = h.indexOf(':');
            headers.put(h.substring(0, colon).toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
        }
        return new Response(Integer.parseInt(status.substring(9, 12)), headers, "");
    }

    /** One final response; its body by Content-Length or chunked framing, none for a HEAD. */
    private static Response read(InputStream in, boolean head) throws IOException {
        Response r = readStatusLineAndHeaders(in);
        assertFalse(r.status < 200, "no interim response expected here: " + r.status);
        if (head) {
            return r;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if ("chunked".equalsIgnoreCase(r.headers.get("transfer-encoding"))) {
            int size;
            while ((size = Integer.parseInt(line(in).split(";")[0].trim(), 16)) > 0) {
                body.write(in.readNBytes(size));
                assertEquals("", line(in));
            }
            while (!line(in).isEmpty()) {
                // trailers
            }
        } else {
            body.write(in.readNBytes(Integer.parseInt(r.headers.get("content-length"))));
        }
        return new Response(r.status, r.headers, body.toString(StandardCharsets.UTF_8));
    }
}
