package dev.braid.runtime;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Via as RFC 9110 §7.6.3 writes it: the version each hop received, as its protocol names it, appended in order. */
class HttpForwardingTest {

    private static String via(HttpVersion received, String existing) {
        HttpHeaders h = new DefaultHttpHeaders();
        if (existing != null) {
            h.add("Via", existing);
        }
        HttpForwarding.appendVia(h, received, "fe-1");
        return String.join(" | ", h.getAll("Via"));
    }

    @Test
    void eachVersionIsNamedAsItsProtocolNamesIt() {
        assertEquals("1.0 fe-1", via(HttpVersion.HTTP_1_0, null));
        assertEquals("1.1 fe-1", via(HttpVersion.HTTP_1_1, null));
        assertEquals("2 fe-1", via(new HttpVersion("HTTP", 2, 0, true), null));
        assertEquals("3 fe-1", via(new HttpVersion("HTTP", 3, 0, true), null));
    }

    @Test
    void aHopIsAppendedAfterThoseBeforeIt() {
        assertEquals("1.0 fred, 1.1 p.example.net, 1.1 fe-1", via(HttpVersion.HTTP_1_1, "1.0 fred, 1.1 p.example.net"));
    }
}
