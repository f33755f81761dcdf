package dev.braid.frontend;

import com.sun.net.httpserver.HttpServer;
import dev.braid.backend.BackEnd;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClassRule;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.GatewayLimits;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway's manners over real sockets (front-end, back-end, origin): request IDs end to end,
 * body limits while streaming, graceful drain, and a request smuggling suite in which every
 * ambiguous or malformed request is refused and closed before the origin sees anything of it.
 */
@ExtendWith(PooledMemoryBaseline.class)
class GatewayMannersIT {

    private final List<AutoCloseable> resources = new ArrayList<>();
    private HttpServer origin;
    /** Requests the origin read completely: "METHOD path X-Request-Id". */
    private final Queue<String> seen = new ConcurrentLinkedQueue<>();
    private FrontEnd fe;
    private EventLoops loops;
    private BraidConfig withPort;

    @BeforeEach
    void start() throws IOException {
        origin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        origin.createContext("/", ex -> {
            byte[] in;
            try {
                in = ex.getRequestBody().readAllBytes();
            } catch (IOException e) {
                ex.close();
                return;
            }
            String xa = ex.getRequestHeaders().getFirst("X-A");
            if (ex.getRequestURI().getPath().equals("/who")) {
                xa = String.join(", ", ex.getRequestHeaders().get("X-Forwarded-For")) + " "
                        + String.join(", ", ex.getRequestHeaders().get("Forwarded"));
            }
            seen.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " " + ex.getRequestHeaders().getFirst("X-Request-Id")
                    + (xa == null ? "" : " [" + xa + "]"));
            if (ex.getRequestURI().getPath().equals("/slow")) {
                try {
                    Thread.sleep(700);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] body = ("ok " + in.length).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        origin.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        origin.start();
        loops = EventLoops.create("manners", Transport.NIO, 2);
        resources.add(loops);
        List<Site> sites = List.of(new Site("shop", List.of("www.shop.example"), null,
                List.of(new Origin("o1", "http://127.0.0.1:" + origin.getAddress().getPort(), null, null, null))));
        List<ClientClass> classes = List.of(
                new ClientClass("gold", 0, 8, List.of(new ClassRule(null, null, "/checkout", null, null, null))),
                new ClientClass("standard", 2, 1, List.of()));
        GatewayLimits limits = new GatewayLimits(null, null, null, 1000L, null, null, 5000, null);
        BraidConfig config = new BraidConfig(sites,
                List.of(new FrontEndNode("fe-1", "127.0.0.1:0", "127.0.0.1", null, null, null, List.of("shop"),
                        List.of("be-1"), null, limits, null, null)),
                List.of(new BackEndNode("be-1", "127.0.0.1:0", null, List.of("shop"))), classes, null, null, null);
        BackEnd be = BackEnd.start(new BackEnd.Options("be-1", new InetSocketAddress("127.0.0.1", 0), loops,
                new Metrics(), config));
        resources.add(be);
        withPort = new BraidConfig(sites, config.frontEnds(),
                List.of(new BackEndNode("be-1", "127.0.0.1:" + be.localAddress().getPort(), null, List.of("shop"))),
                classes, null, null, null);
        fe = FrontEnd.start(new FrontEnd.Options("fe-1", new InetSocketAddress("127.0.0.1", 0), loops,
                new Metrics(), withPort));
        resources.add(fe);
        assertTrue(fe.awaitLinks(Duration.ofSeconds(5)));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        origin.stop(0);
        ((java.util.concurrent.ExecutorService) origin.getExecutor()).shutdownNow();
    }

    private Socket connect() throws IOException {
        Socket s = new Socket("127.0.0.1", fe.localAddress().getPort());
        s.setSoTimeout(2000);
        return s;
    }

    /** Sends {@code raw} on a new connection and reads until the front-end closes it (or 5 s pass: an error). */
    private String exchangeUntilClose(String raw) throws IOException {
        try (Socket s = connect()) {
            s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                int n;
                while ((n = s.getInputStream().read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
            } catch (java.net.SocketTimeoutException e) {
                return "(not closed) " + got.toString(StandardCharsets.ISO_8859_1);
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** Reads one response whose body has a Content-Length, leaving the connection open. */
    private static String readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed after " + head);
            }
            head.append((char) b);
        }
        String lower = head.toString().toLowerCase(Locale.ROOT);
        int at = lower.indexOf("content-length: ");
        int length = Integer.parseInt(lower.substring(at + 16, lower.indexOf("\r\n", at)).trim());
        return head + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
    }

    private static String header(String response, String name) {
        for (String line : response.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    @Test
    void requestIdReachesTheOriginAndComesBack() throws Exception {
        String response = exchangeUntilClose("GET /id HTTP/1.1\r\nHost: www.shop.example\r\nX-Request-Id: mine-1\r\n"
                + "Connection: close\r\n\r\n");
        assertTrue(response.startsWith("HTTP/1.1 200 "), response);
        String id = header(response, "X-Request-Id");
        assertTrue(id != null && id.matches("[0-9a-f]{32}"), response);
        assertEquals(List.of("GET /id " + id), List.copyOf(seen));
    }

    @Test
    void chunkedBodyPastTheLimitIs413() throws Exception {
        String chunk = "x".repeat(600);
        String response = exchangeUntilClose("POST /upload HTTP/1.1\r\nHost: www.shop.example\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n258\r\n" + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
        assertTrue(response.startsWith("HTTP/1.1 413 "), response);
        assertEquals(List.of(), List.copyOf(seen), "the origin never gets the cut request whole");
        String small = exchangeUntilClose("POST /upload HTTP/1.1\r\nHost: www.shop.example\r\nConnection: close\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
        assertTrue(small.startsWith("HTTP/1.1 200 ") && small.endsWith("ok 600"), small);
    }

    @Test
    void drainFinishesExchangesInFlightAndClosesIdleConnections() throws Exception {
        try (Socket idle = connect(); Socket busy = connect()) {
            idle.getOutputStream().write("GET /a HTTP/1.1\r\nHost: www.shop.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertTrue(readResponse(idle.getInputStream()).startsWith("HTTP/1.1 200 "));
            busy.getOutputStream().write("GET /slow HTTP/1.1\r\nHost: www.shop.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (seen.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            long start = System.nanoTime();
            CompletableFuture<Void> closing = CompletableFuture.runAsync(fe::close);
            assertEquals(-1, idle.getInputStream().read(), "an idle keep-alive connection is closed at once");
            String slow = readResponse(busy.getInputStream());
            assertTrue(slow.startsWith("HTTP/1.1 200 ") && slow.endsWith("ok 0"), slow);
            assertEquals("close", header(slow, "Connection"));
            assertEquals(-1, busy.getInputStream().read());
            closing.get(5, TimeUnit.SECONDS);
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(4), "close() returns once drained");
            assertThrows(ConnectException.class, this::connect);
        }
    }

    /** Each request is refused with the status named, the connection closed, and nothing reaches the origin. */
    @Test
    void smugglingSuite() throws Exception {
        String h = "Host: www.shop.example\r\n";
        String smuggled = "GET /smuggled HTTP/1.1\r\n" + h + "\r\n";
        Map<String, String> cases = SmugglingCases.suite(h, smuggled);

        Map<String, String> wrong = new LinkedHashMap<>();
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String response = exchangeUntilClose(c.getValue());
            String status = response.length() >= 12 ? response.substring(9, 12) : "(" + response + ")";
            String expected = expectedStatus(c.getKey());
            if (!status.equals(expected) || java.util.regex.Pattern.compile("\nHTTP/1\\.\\d \\d{3}").matcher(response).find()
                    || response.startsWith("(")) {
                wrong.put(c.getKey(), status + " (expected " + expected + ", one response): "
                        + response.replace("\r\n", " | ").substring(0, Math.min(response.length(), 160)));
            }
        }
        assertEquals(Map.of(), wrong);
        // Nothing was forwarded whole: no smuggled request, and none of the refused ones either.
        assertEquals(List.of(), List.copyOf(seen));
        // The same connection-level checks still let a clean request through.
        assertTrue(exchangeUntilClose("GET /clean HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n").startsWith("HTTP/1.1 200 "));
        assertEquals(1, seen.size());
        assertFalse(seen.peek().contains("smuggled"));
    }

    /**
     * Every case is a 400: RFC 9112 §6.3 makes a request whose final transfer coding is not chunked a
     * 400 too (the body length cannot be determined), not a 501.
     */
    private static String expectedStatus(String name) {
        return "400";
    }

    @Test
    void proxyProtocolFromATrustedBalancerNamesTheClientUpstream() throws Exception {
        FrontEndNode node = withPort.frontEnds().get(0);
        BraidConfig behindBalancer = new BraidConfig(withPort.sites(), List.of(new FrontEndNode(node.name(),
                node.listen(), node.publicAddress(), null, null, null, node.sites(), node.backEnds(), null, node.limits(),
                null, List.of("127.0.0.0/8"))), withPort.backEnds(), withPort.clientClasses(), null, null, null);
        FrontEnd proxied = FrontEnd.start(new FrontEnd.Options("fe-1", new InetSocketAddress("127.0.0.1", 0), loops,
                new Metrics(), behindBalancer));
        resources.add(proxied);
        assertTrue(proxied.awaitLinks(Duration.ofSeconds(5)));
        try (Socket s = new Socket("127.0.0.1", proxied.localAddress().getPort())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0, 12,
                    (byte) 203, 0, 113, 9, 127, 0, 0, 1, (byte) 0xA0, 0x28, 0x01, (byte) 0xBB});
            out.write("GET /who HTTP/1.1\r\nHost: www.shop.example\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(response.startsWith("HTTP/1.1 200 "), response);
        }
        String who = List.copyOf(seen).get(0);
        assertTrue(who.endsWith("[6.6.6.6, 203.0.113.9 for=203.0.113.9;proto=http]"), who);
        // Without the header, a connection from the balancer is refused.
        try (Socket s = new Socket("127.0.0.1", proxied.localAddress().getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET /who HTTP/1.1\r\nHost: www.shop.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals(0, s.getInputStream().readAllBytes().length);
        }
        assertEquals(1, seen.size());
    }

    /**
     * obs-fold is refused (RFC 9112 §5.2 allows either; nginx refuses it, so Braid does too): the
     * first request gets a 400 and the connection closes, and nothing reaches the origin. The
     * request before it on the same connection is answered first.
     */
    @Test
    void obsFoldIsRefusedAfterTheRequestsBeforeIt() throws Exception {
        String response = exchangeUntilClose("GET /first HTTP/1.1\r\nHost: www.shop.example\r\n\r\n"
                + "GET /fold HTTP/1.1\r\nHost: www.shop.example\r\nX-A: b\r\n c\r\n\r\n"
                + "GET /second HTTP/1.1\r\nHost: www.shop.example\r\n\r\n");
        assertTrue(response.startsWith("HTTP/1.1 200 "), response);
        assertEquals(1, response.split("HTTP/1.1 200 ", -1).length - 1, response);
        assertTrue(response.contains("HTTP/1.1 400 Bad Request\r\n"), response);
        assertTrue(response.contains("X-Braid-Error: malformed request: obs-fold (a field line starting with whitespace)"
                + " is not accepted\r\n"), response);
        List<String> origin = List.copyOf(seen);
        assertEquals(1, origin.size(), origin.toString());
        assertTrue(origin.get(0).startsWith("GET /first "), origin.toString());
    }
}
