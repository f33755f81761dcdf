package dev.braid.frontend;

import com.sun.net.httpserver.HttpServer;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The cache-hit path over real sockets: client → front-end (four event loops) → TMP → back-end →
 * origin, with one object stored. A hit must not depend on anything but the loop serving its own
 * connection: not on the link, which a slow response holds, and not on any other event loop,
 * however busy (the link's loop among them).
 */
@ExtendWith(PooledMemoryBaseline.class)
class HitPathIT {

    private static final String OBJECT = "/img/logo.png";
    private static final int LOOPS = 4;

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final CountDownLatch originGate = new CountDownLatch(1);
    private final AtomicInteger originRequests = new AtomicInteger();
    private HttpServer origin;
    private ExecutorService originThreads;
    private EventLoops loops;
    private InetSocketAddress frontEnd;

    @AfterEach
    void tearDown() throws Exception {
        originGate.countDown();
        LinkedNodes.closeAll(resources, origin, originThreads);
    }

    private void start(Transport transport) throws IOException {
        origin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        originThreads = Executors.newFixedThreadPool(8);
        origin.setExecutor(originThreads);
        origin.createContext("/", ex -> {
            originRequests.incrementAndGet();
            if (ex.getRequestURI().getPath().startsWith("/slow")) {
                try {
                    // The page's uncacheable part, held at the origin: its stream stays open on the link.
                    originGate.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            byte[] body = ("object " + ex.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Cache-Control",
                    ex.getRequestURI().getPath().startsWith("/slow") ? "no-store" : "max-age=3600");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        origin.start();
        loops = EventLoops.create("hit-path-it", transport, LOOPS);
        resources.add(loops);
        BraidConfig config = LinkedNodes.oneSite(origin.getAddress().getPort(),
                List.of(new ClientClass("standard", 2, 1, List.of())));
        FrontEnd fe = LinkedNodes.start(loops, config, new Metrics(), resources);
        frontEnd = fe.localAddress();
    }

    /** Status, X-Cache and body of one GET on a fresh connection, read within {@code timeoutMillis}. */
    private String get(String path, int timeoutMillis) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(timeoutMillis);
            s.connect(frontEnd, timeoutMillis);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: www.shop.example\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) >= 0) {
                all.write(buf, 0, n);
            }
            String text = all.toString(StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            assertTrue(end > 0, "a whole response head: " + text);
            String head = text.substring(0, end);
            String xCache = "none";
            for (String line : head.split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("x-cache:")) {
                    xCache = line.substring(8).trim();
                }
            }
            return head.substring(9, 12) + " " + xCache + " " + text.substring(end + 4);
        }
    }

    private static final String HIT = "200 HIT object " + OBJECT;

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aHitIsAnsweredWhileTheLinkIsHeldBySlowResponses(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable());
        start(transport);
        assertEquals("200 MISS object " + OBJECT, get(OBJECT, 5000));
        ExecutorService clients = Executors.newFixedThreadPool(6);
        try {
            List<Future<String>> slow = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String path = "/slow/" + i;
                slow.add(clients.submit(() -> get(path, 20_000)));
            }
            // Every slow request has reached the origin: six streams are open on the link and waiting.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (originRequests.get() < 7 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(7, originRequests.get(), "the six slow requests reached the origin");
            for (int i = 0; i < 20; i++) {
                assertEquals(HIT, get(OBJECT, 2000), "hit " + i + " while the link's streams wait");
            }
            originGate.countDown();
            for (Future<String> f : slow) {
                assertTrue(f.get(10, TimeUnit.SECONDS).startsWith("200 MISS object /slow/"));
            }
        } finally {
            clients.shutdownNow();
        }
        assertEquals(7, originRequests.get(), "the hits never left the front-end");
    }

    /**
     * One event loop after another is stalled (as a loop busy with a TMP link's work, or with a
     * long write, would be) while a dozen new connections each ask for the stored object. Those
     * on the other loops are answered at once; those the kernel gave the stalled loop are
     * answered once it runs again. With one shared acceptor, stalling its loop held every new
     * connection of the front-end.
     */
    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"IO_URING", "EPOLL"})
    void aStalledEventLoopDelaysOnlyItsOwnConnections(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable());
        start(transport);
        assertEquals("200 MISS object " + OBJECT, get(OBJECT, 5000));
        assertEquals(HIT, get(OBJECT, 5000));
        int connections = 12;
        ExecutorService clients = Executors.newFixedThreadPool(connections);
        try {
            int loop = 0;
            for (EventExecutor executor : loops.group()) {
                CountDownLatch stalled = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                executor.execute(() -> {
                    stalled.countDown();
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                assertTrue(stalled.await(5, TimeUnit.SECONDS));
                AtomicInteger answered = new AtomicInteger();
                AtomicReference<String> wrong = new AtomicReference<>();
                List<Future<?>> all = new ArrayList<>();
                for (int i = 0; i < connections; i++) {
                    all.add(clients.submit(() -> {
                        String r = get(OBJECT, 10_000);
                        if (!HIT.equals(r)) {
                            wrong.compareAndSet(null, r);
                        }
                        answered.incrementAndGet();
                        return null;
                    }));
                }
                // The kernel spreads the connections over four sockets: all twelve on the stalled
                // loop's would happen once in 4^12 runs.
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
                while (answered.get() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                int whileStalled = answered.get();
                release.countDown();
                for (Future<?> f : all) {
                    f.get(15, TimeUnit.SECONDS);
                }
                assertTrue(whileStalled > 0, "no new connection was answered while event loop " + loop
                        + " was stalled");
                assertEquals(null, wrong.get(), "every answer is the stored object");
                assertEquals(connections, answered.get());
                loop++;
            }
            assertEquals(LOOPS, loop);
        } finally {
            clients.shutdownNow();
        }
        assertEquals(1, originRequests.get(), "every other answer came from the cache");
    }
}
