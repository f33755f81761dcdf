package dev.braid.frontend;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AccessLogTest {

    @Test
    void combinedFormatWithBraidFields() {
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/a?b=c");
        req.headers().set("Referer", "http://www.shop.example/");
        req.headers().set("User-Agent", "agent \"x\"\tz");
        AccessLog.Request r = AccessLog.Request.of("abc", new InetSocketAddress("192.0.2.7", 4000), req, 0);
        String line = AccessLog.format(r, ZonedDateTime.of(2026, 11, 21, 23, 58, 1, 0, ZoneOffset.UTC), 4_210_000,
                200, 512, "gold", "MISS", "be-1", 17);
        assertEquals("192.0.2.7 - - [21/Nov/2026:23:58:01 +0000] \"GET /a?b=c HTTP/1.1\" 200 512 "
                + "\"http://www.shop.example/\" \"agent \\\"x\\\"\\x09z\" class=gold cache=MISS backend=be-1 link=17 "
                + "rid=abc ms=4.21", line);
        String refused = AccessLog.format(AccessLog.Request.of("def", null, null, 0),
                ZonedDateTime.of(2026, 1, 2, 3, 4, 5, 0, ZoneOffset.UTC), 0, 408, 0, null, null, null, -1);
        assertEquals("- - - [02/Jan/2026:03:04:05 +0000] \"-\" 408 - \"-\" \"-\" class=- cache=- backend=- link=- "
                + "rid=def ms=0.00", refused);
    }

    /** An HTTP/2 request reaches the gateway converted to HTTP/1.1; its line names what the client spoke (as nginx does). */
    @Test
    void anHttp2RequestIsLoggedAsHttp2() {
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/p");
        AccessLog.Request r = AccessLog.Request.of("h2", new InetSocketAddress("192.0.2.8", 4001), req,
                new HttpVersion("HTTP", 2, 0, true), 0);
        String line = AccessLog.format(r, ZonedDateTime.of(2026, 11, 22, 7, 0, 0, 0, ZoneOffset.UTC), 1_000_000,
                200, 10, "standard", "HIT", null, -1);
        assertTrue(line.startsWith("192.0.2.8 - - [22/Nov/2026:07:00:00 +0000] \"GET /p HTTP/2.0\" 200 10 "), line);
    }

    @Test
    void requestIdsAreFreshAndTheClientsIsKeptApart() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = AccessLog.newRequestId();
            assertTrue(id.matches("[0-9a-f]{32}"), id);
            ids.add(id);
        }
        assertEquals(1000, ids.size());

        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        req.headers().set("X-Request-Id", "client-42");
        req.headers().set("X-Client-Request-Id", "forged");
        AccessLog.assignId(req, "ours");
        assertEquals("ours", req.headers().get("X-Request-Id"));
        assertEquals("client-42", req.headers().get("X-Client-Request-Id"));

        HttpRequest bad = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        bad.headers().set("X-Request-Id", "has space");
        AccessLog.assignId(bad, "ours");
        assertEquals("ours", bad.headers().get("X-Request-Id"));
        assertNull(bad.headers().get("X-Client-Request-Id"));
    }
}
