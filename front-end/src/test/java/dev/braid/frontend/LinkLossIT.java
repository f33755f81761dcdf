package dev.braid.frontend;

import dev.braid.backend.BackEnd;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A TMP link dies while requests are in flight on it (a slow origin holds them): idempotent
 * requests without a response byte move to the other back-end and are answered; a POST is
 * answered 502 with the reason and reaches the origin at most once, counted at the origin.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(60)
class LinkLossIT {

    private GatewayFixture gateway;
    private final ExecutorService clients = Executors.newFixedThreadPool(16);

    @AfterEach
    void stop() throws InterruptedException {
        clients.shutdownNow();
        clients.awaitTermination(5, TimeUnit.SECONDS);
        if (gateway != null) {
            gateway.close();
        }
    }

    /** One request on its own connection (Connection: close); returns the whole response. */
    private static String exchange(int port, String method, String target, String body) throws IOException {
        // A GET with a range is fetched whole by the cache on a stream of its own (CacheFetch).
        String range = method.equals("RANGE") ? "Range: bytes=0-3\r\n" : "";
        String m = method.equals("RANGE") ? "GET" : method;
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            String head = m + " " + target + " HTTP/1.1\r\nHost: " + GatewayFixture.HOST + "\r\n" + range
                    + (body != null ? "Content-Length: " + body.length() + "\r\n" : "") + "Connection: close\r\n\r\n";
            s.getOutputStream().write((head + (body != null ? body : "")).getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            return all.toString(StandardCharsets.US_ASCII);
        }
    }

    private record Sent(String method, String path, String body, CompletableFuture<String> response) {
    }

    @Test
    void idempotentRequestsMoveToTheOtherBackEndAndPostsAreNeverReplayed() throws Exception {
        gateway = new GatewayFixture(Transport.NIO, 2, 2, 100, "tcp");
        int port = gateway.port();
        List<Sent> sent = new ArrayList<>();
        String[][] kinds = {{"GET", null}, {"HEAD", null}, {"PUT", "put-body"}, {"DELETE", null}, {"OPTIONS", null},
                {"POST", "post-body"}, {"RANGE", null}};
        for (int i = 0; i < 4; i++) {
            for (String[] k : kinds) {
                String path = "/slow/" + k[0].toLowerCase() + "/" + i;
                String body = k[1];
                CompletableFuture<String> f = CompletableFuture.supplyAsync(() -> {
                    try {
                        return exchange(port, k[0], path + "?delay=1500", body);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, clients);
                sent.add(new Sent(k[0], path, body, f));
            }
        }
        // Every request has reached the origin, and none has been answered yet (the cache's fetch stands for a range).
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (gateway.origin.total() < sent.size() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(gateway.origin.total() >= sent.size(), "requests at the origin before the link dies: "
                + gateway.origin.total());
        BackEnd busiest = gateway.backEnds.stream().max(java.util.Comparator.comparingInt(BackEnd::activeExchanges))
                .orElseThrow();
        int onIt = busiest.activeExchanges();
        assertTrue(onIt > 0);
        System.out.printf("killing %s with %d exchanges in flight%n", busiest.name(), onIt);
        // Drain with no time: the links close at once and their streams are lost.
        busiest.drain(Duration.ZERO);

        int replayed = 0;
        int refused = 0;
        for (Sent s : sent) {
            String response = s.response().get(20, TimeUnit.SECONDS);
            String status = response.substring(0, response.indexOf("\r\n"));
            if (s.method().equals("POST")) {
                if (status.equals("HTTP/1.1 502 Bad Gateway")) {
                    refused++;
                    assertTrue(response.contains("X-Braid-Error: link to back-end " + busiest.name()
                            + " lost; request not replayed: POST is not idempotent\r\n"), response);
                } else {
                    assertEquals("HTTP/1.1 200 OK", status, response);
                    assertTrue(response.endsWith("POST " + s.path() + "?delay=1500 " + s.body().length()), response);
                }
                assertEquals(1, gateway.origin.received("POST " + s.path()), "a POST reaches the origin once");
                continue;
            }
            if (s.method().equals("RANGE")) {
                // The origin ignores ranges and forbids storing: the request goes on itself after the cache's fetch.
                assertEquals("HTTP/1.1 200 OK", status, s.path() + ": " + response);
                assertTrue(response.endsWith("GET " + s.path() + "?delay=1500 0"), response);
                continue;
            }
            assertEquals("HTTP/1.1 200 OK", status, s.method() + " " + s.path() + ": " + response);
            if (!s.method().equals("HEAD")) {
                assertTrue(response.endsWith(s.method() + " " + s.path() + "?delay=1500 "
                        + (s.body() == null ? 0 : s.body().length())), response);
            }
            int times = gateway.origin.received(s.method() + " " + s.path());
            assertTrue(times == 1 || times == 2, s.path() + " at the origin " + times + " times");
            replayed += times - 1;
        }
        System.out.printf("%d idempotent requests sent again, %d POSTs refused with 502%n", replayed, refused);
        assertTrue(replayed > 0, "some idempotent request was in flight on the lost link");
        assertTrue(refused > 0, "some POST was in flight on the lost link");
        String metrics = gateway.frontEndMetrics.scrape();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("braid_frontend_link_lost_requests_total\\{backend=\""
                + busiest.name() + "\",outcome=\"replayed\"} (\\d+)").matcher(metrics);
        assertTrue(m.find(), metrics);
        // Ranged GETs that went on by themselves after the cache's fetch may have been replayed too.
        assertTrue(Long.parseLong(m.group(1)) >= replayed, metrics);
        assertTrue(metrics.contains("braid_frontend_link_lost_requests_total{backend=\"" + busiest.name()
                + "\",outcome=\"failed\"} " + refused), metrics);
    }
    @Test
    void withoutAnotherLinkOrWithABodyOver64KiBTheAnswerIs502WithTheReason() throws Exception {
        gateway = new GatewayFixture(Transport.NIO, 2, 1, 100, "tcp");
        int port = gateway.port();
        String big = "p".repeat(Replay.MAX_BODY_BYTES + 1);
        CompletableFuture<String> get = CompletableFuture.supplyAsync(() -> {
            try {
                return exchange(port, "GET", "/slow/alone?delay=2000", null);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, clients);
        CompletableFuture<String> put = CompletableFuture.supplyAsync(() -> {
            try {
                return exchange(port, "PUT", "/slow/big?delay=2000", big);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, clients);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (gateway.origin.total() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(2, gateway.origin.total(), "both at the origin before the link dies");
        gateway.backEnds.get(0).drain(Duration.ZERO);
        String g = get.get(20, TimeUnit.SECONDS);
        assertTrue(g.startsWith("HTTP/1.1 502 Bad Gateway\r\n"), g);
        assertTrue(g.contains("X-Braid-Error: link to back-end be-1 lost; request not replayed: no other link to a "
                + "back-end of site shop is up\r\n"), g);
        String p = put.get(20, TimeUnit.SECONDS);
        assertTrue(p.startsWith("HTTP/1.1 502 Bad Gateway\r\n"), p);
        assertTrue(p.contains("X-Braid-Error: link to back-end be-1 lost; request not replayed: its body passed "
                + Replay.MAX_BODY_BYTES + " bytes\r\n"), p);
        assertEquals(1, gateway.origin.received("GET /slow/alone"));
        assertEquals(1, gateway.origin.received("PUT /slow/big"));
    }
}
