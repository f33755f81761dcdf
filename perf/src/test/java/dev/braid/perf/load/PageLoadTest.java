package dev.braid.perf.load;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PageLoadTest {

    private final HttpConnection conn = new HttpConnection(new InetSocketAddress("127.0.0.1", 9), "h", 1000);

    private static ByteArrayInputStream wire(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void referencesAreLocalPathsInDocumentOrderEachOnce() {
        String html = "<link href=\"/a.css\"><img src=\"/o/1.bin\"><a href=\"https://x/\">x</a>"
                + "<img src=\"/o/2.bin\"><img src=\"/o/1.bin\">";
        assertEquals(List.of("/a.css", "/o/1.bin", "/o/2.bin"), PageLoad.references(html));
    }

    @Test
    void readsContentLengthThenChunkedBodiesFromOneConnection() throws IOException {
        var in = wire("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                + "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n");
        HttpConnection.Response a = conn.readResponse(in, true);
        assertEquals(200, a.status());
        assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), a.body());
        HttpConnection.Response b = conn.readResponse(in, false);
        assertEquals(404, b.status());
        assertEquals(5, b.bodyBytes());
        assertNull(b.body());
        assertNull(conn.readResponse(in, false), "clean end of stream between responses");
    }

    @Test
    void bodyWithoutLengthRunsToTheEndOfTheConnection() throws IOException {
        HttpConnection.Response r = conn.readResponse(wire("HTTP/1.0 200 OK\r\n\r\n0123456789"), false);
        assertEquals(10, r.bodyBytes());
    }

    @Test
    void truncatedBodyIsAnError() {
        assertThrows(EOFException.class,
                () -> conn.readResponse(wire("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), false));
        assertThrows(IOException.class, () -> conn.readResponse(wire("SSH-2.0-x\r\n\r\n"), false));
    }

    @Test
    void percentileIsNearestRank() {
        double[] v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5, PageLoad.percentile(v, 0.5));
        assertEquals(10, PageLoad.percentile(v, 0.99));
        assertEquals(1, PageLoad.percentile(v, 0.0));
    }
}
