package dev.braid.frontend;

import com.sun.net.httpserver.HttpServer;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClassRule;
import dev.braid.managers.config.ClientClass;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Front-end and back-end over a real TMP link, in front of a minimal origin. */
@ExtendWith(PooledMemoryBaseline.class)
class GatewayIT {

    static {
        // Lets the JDK client send the Host header the test chooses.
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private HttpServer origin;

    @AfterEach
    void tearDown() throws Exception {
        LinkedNodes.closeAll(resources, origin, null);
    }

    private FrontEnd start(Transport transport) throws IOException {
        origin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        origin.createContext("/", ex -> {
            byte[] in = ex.getRequestBody().readAllBytes();
            byte[] body = ("hello " + ex.getRequestMethod() + " " + ex.getRequestURI() + " " + in.length
                    + " via=" + ex.getRequestHeaders().getFirst("Via")).getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "text/plain");
            ex.sendResponseHeaders(200, "HEAD".equals(ex.getRequestMethod()) ? -1 : body.length);
            if (!"HEAD".equals(ex.getRequestMethod())) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }
            ex.close();
        });
        origin.start();
        EventLoops loops = EventLoops.create("it", transport, 2);
        resources.add(loops);
        BraidConfig config = LinkedNodes.oneSite(origin.getAddress().getPort(),
                List.of(new ClientClass("gold", 0, 8, List.of(new ClassRule(null, null, "/checkout", null, null, null))),
                        new ClientClass("standard", 2, 1, List.of())));
        FrontEnd fe = LinkedNodes.start(loops, config, new Metrics(), resources);
        return fe;
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void getHeadPostThroughTheLink(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable());
        FrontEnd fe = start(transport);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI base = URI.create("http://127.0.0.1:" + fe.localAddress().getPort());
        HttpResponse<String> get = client.send(HttpRequest.newBuilder(base.resolve("/a?b=c"))
                .header("Host", "www.shop.example").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, get.statusCode());
        assertEquals("hello GET /a?b=c 0 via=1.1 fe-1, 1.1 be-1", get.body());
        assertEquals("1.1 be-1, 1.1 fe-1", get.headers().firstValue("Via").orElseThrow());
        assertEquals("MISS", get.headers().firstValue("X-Cache").orElseThrow());

        HttpResponse<String> post = client.send(HttpRequest.newBuilder(base.resolve("/checkout"))
                .header("Host", "www.shop.example").POST(HttpRequest.BodyPublishers.ofString("x".repeat(100_000))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("hello POST /checkout 100000 via=1.1 fe-1, 1.1 be-1", post.body());

        HttpResponse<String> head = client.send(HttpRequest.newBuilder(base.resolve("/"))
                .header("Host", "www.shop.example").method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());

        HttpResponse<String> unknown = client.send(HttpRequest.newBuilder(base.resolve("/"))
                .header("Host", "elsewhere.example").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(421, unknown.statusCode());
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = "NIO")
    void smugglingAttemptIsRefused(Transport transport) throws Exception {
        FrontEnd fe = start(transport);
        try (Socket s = new Socket("127.0.0.1", fe.localAddress().getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("POST / HTTP/1.1\r\nHost: www.shop.example\r\nContent-Length: 4\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(response.startsWith("HTTP/1.1 400"), response);
        }
    }
}
