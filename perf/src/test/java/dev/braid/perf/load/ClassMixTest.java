package dev.braid.perf.load;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassMixTest {

    private HttpServer server;
    private final Map<String, AtomicInteger> requestsByCookie = new ConcurrentHashMap<>();

    /**
     * A server that paces bulk bodies per class: gold's chunks come three times as fast as
     * bronze's, so the measured shares must come out near 75/25 — the tool reads what the server
     * does, whatever it is.
     */
    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "classmix-test-server");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/small", ex -> {
            count(ex);
            reply(ex, new byte[1024], 0);
        });
        server.createContext("/bulk", ex -> {
            String cookie = count(ex);
            reply(ex, new byte[256 * 1024], cookie.contains("tier=gold") ? 1 : 3);
        });
        server.start();
    }

    private String count(HttpExchange ex) {
        String cookie = String.valueOf(ex.getRequestHeaders().getFirst("Cookie"));
        requestsByCookie.computeIfAbsent(cookie, k -> new AtomicInteger()).incrementAndGet();
        return cookie;
    }

    private static void reply(HttpExchange ex, byte[] body, int pauseMillisPer8k) throws IOException {
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            for (int off = 0; off < body.length; off += 8192) {
                out.write(body, off, Math.min(8192, body.length - off));
                if (pauseMillisPer8k > 0) {
                    out.flush();
                    try {
                        Thread.sleep(pauseMillisPer8k);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        } catch (IOException closedByClient) {
            // the tool cuts downloads at the end of a stage
        }
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void threeStagesMeasureLatencyGoodputAndSharesWithEachClassesHeader() throws Exception {
        String base = "http://127.0.0.1:" + server.getAddress().getPort();
        ClassMix.Options o = ClassMix.Options.parse(new String[] {"--base", base, "--gold-path", "/small",
                "--bulk-path", "/bulk", "--gold-clients", "2", "--think-ms", "5", "--bronze-connections", "2",
                "--share-connections", "2", "--alone-seconds", "0.5", "--ramp-seconds", "0.5",
                "--loaded-seconds", "0.5", "--share-seconds", "1.5", "--timeout-ms", "5000"});
        List<ClassMix.Row> rows = new ClassMix(o).run();

        assertEquals(List.of("alone/gold", "loaded/gold", "loaded/bronze", "shares/gold", "shares/bronze"),
                rows.stream().map(r -> r.stage() + "/" + r.clazz()).collect(Collectors.toList()));
        ClassMix.Row alone = rows.get(0);
        assertTrue(alone.requests() > 5 && alone.errors() == 0, "gold alone: " + alone);
        assertTrue(alone.p50Ms() > 0 && alone.p99Ms() >= alone.p50Ms(), "percentiles ordered: " + alone);
        assertEquals(alone.requests() * 1024, alone.bytes(), "every small response counted whole");
        assertTrue(rows.get(2).bytes() > 0, "bronze downloaded while gold ran: " + rows.get(2));

        ClassMix.Row gold = rows.get(3);
        ClassMix.Row bronze = rows.get(4);
        double goldShare = ClassMix.sharePct(rows, gold);
        assertEquals(100.0, goldShare + ClassMix.sharePct(rows, bronze), 1e-9);
        // Paced 1 ms vs 3 ms per 8 KiB: 75% for gold when sleep is exact, lower when the pauses
        // stretch on a busy machine; either way well away from an even split.
        assertTrue(goldShare > 58 && goldShare < 90, "gold's share " + goldShare + "% of " + rows);

        assertTrue(requestsByCookie.getOrDefault("tier=gold", new AtomicInteger()).get() > 0);
        assertTrue(requestsByCookie.getOrDefault("tier=bronze", new AtomicInteger()).get() > 0);
        assertEquals(Map.of(), requestsByCookie.entrySet().stream()
                .filter(e -> !e.getKey().equals("tier=gold") && !e.getKey().equals("tier=bronze"))
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().get())), "every request named its class");
    }

    @Test
    void badOptionsAreRefusedTogetherWithWhatWasExpected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassMix.Options.parse(
                new String[] {"--gold-path", "nope", "--gold-header", "no colon", "--share-seconds", "0", "--x", "1"}));
        String m = e.getMessage();
        assertTrue(m.contains("--gold-path: nope (expected: an absolute path"), m);
        assertTrue(m.contains("--gold-header: no colon (expected: Name: value"), m);
        assertTrue(m.contains("--share-seconds: 0 (expected: seconds in 0.5..600)"), m);
        assertTrue(m.contains("--x: unknown option"), m);
        assertTrue(m.contains("--base: missing"), m);
    }
}
