package dev.braid.cli.reliability;

import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import dev.braid.tmp.LinkSettings;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Resource bounds of a whole system (docs/testing.md, "Reliability"): slowloris connections do not
 * deny service to normal clients, and a client reading slowly from a huge response keeps what the
 * front-end and the back-end hold within flow-control credit and water marks.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ResourceBoundsIT {

    /** Slowloris connections; {@code -Dbraid.it.slowloris=N} changes it. */
    private static final int SLOWLORIS = Integer.getInteger("braid.it.slowloris", 10_000);
    /**
     * One header byte per connection every 2 s: the 10 s of the attack scaled to the front-end's
     * 10 s header timeout, so that each connection sends a few bytes before the timeout ends it.
     */
    private static final long SLOWLORIS_INTERVAL_MS = 2_000;
    private static final long NORMAL_LATENCY_BOUND_MS = 2_000;

    @TempDir
    Path state;

    /**
     * 10,000 connections (a child JVM, its descriptor limit raised) each dribble a request head
     * while 4 normal clients send 300 requests through the link: every normal request is answered
     * 200 within {@value #NORMAL_LATENCY_BOUND_MS} ms while all the slowloris connections are open;
     * then the header timeout (10 s from a head's first byte) closes every slowloris connection,
     * with 408.
     */
    @Test
    void slowlorisConnectionsDoNotDenyServiceToOthers() throws Exception {
        assumeTrue(Children.canRaiseDescriptorLimit(SLOWLORIS + 1_000),
                "cannot raise the descriptor limit to " + (SLOWLORIS + 1_000) + " for the slowloris child");
        try (ChaosSystem system = new ChaosSystem(Transport.NIO, "udp", state)) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            assertEquals(200, get(client, system, "/item/warm-up").statusCode());
            try (Children loris = new Children(SLOWLORIS + 1_000, List.of("-Xmx256m"), "slowloris",
                    Integer.toString(system.frontEnd().getPort()), Integer.toString(SLOWLORIS),
                    Long.toString(SLOWLORIS_INTERVAL_MS))) {
                String[] open = loris.await("OPEN", 60_000);
                long openedAt = System.nanoTime();
                assertEquals(SLOWLORIS, Integer.parseInt(open[1]), "slowloris connections opened");
                // A connect completes before the front-end accepts it: wait for the accept queue to drain.
                double connections = 0;
                for (long until = System.nanoTime() + 10_000_000_000L; System.nanoTime() < until
                        && connections < SLOWLORIS; Thread.sleep(50)) {
                    connections = sample(system.frontEndMetrics.scrape(), "braid_frontend_client_connections");
                }
                ExecutorService pool = Executors.newFixedThreadPool(4);
                List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
                List<String> failures = Collections.synchronizedList(new ArrayList<>());
                try {
                    List<Future<?>> done = new ArrayList<>();
                    for (int c = 0; c < 4; c++) {
                        int client0 = c;
                        done.add(pool.submit(() -> {
                            for (int i = 0; i < 75; i++) {
                                long t = System.nanoTime();
                                try {
                                    HttpResponse<String> r = get(client, system, "/item/n" + client0 + "-" + i);
                                    if (r.statusCode() != 200 || !r.body().equals("item-n" + client0 + "-" + i)) {
                                        failures.add(r.statusCode() + " " + r.body());
                                    }
                                } catch (Exception e) {
                                    failures.add(e.toString());
                                }
                                latencies.add((System.nanoTime() - t) / 1_000_000);
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : done) {
                        f.get(60, TimeUnit.SECONDS);
                    }
                } finally {
                    pool.shutdownNow();
                }
                long normalDoneMs = (System.nanoTime() - openedAt) / 1_000_000;
                String[] during = loris.latest("STATUS");
                Collections.sort(latencies);
                long p50 = latencies.get(latencies.size() / 2);
                long p99 = latencies.get(latencies.size() * 99 / 100);
                long max = latencies.get(latencies.size() - 1);
                // The header timeout closes them all: 10 s from each head's first byte.
                long deadline = System.nanoTime() + 25_000_000_000L;
                String[] status = during;
                while (System.nanoTime() < deadline) {
                    String[] s = loris.latest("STATUS");
                    status = s != null ? s : status;
                    if (status != null && Integer.parseInt(status[1]) == 0) {
                        break;
                    }
                    Thread.sleep(200);
                }
                long closedAfterMs = (System.nanoTime() - openedAt) / 1_000_000;
                System.out.printf("slowloris: %d connections open (front-end counted %.0f), normal requests: %d in %d ms,"
                                + " latency p50 %d ms, p99 %d ms, max %d ms, failures %d; slowloris still open when the"
                                + " normal clients finished: %s; after %d ms: open %s, closed %s, answered 408: %s%n",
                        SLOWLORIS, connections, latencies.size(), normalDoneMs, p50, p99, max, failures.size(),
                        during == null ? "?" : during[1], closedAfterMs, status[1], status[2], status[3]);
                assertTrue(failures.isEmpty(), () -> "normal requests failed: " + failures.subList(0,
                        Math.min(5, failures.size())));
                assertTrue(connections >= SLOWLORIS, "the front-end held the slowloris connections: " + connections);
                assertTrue(during != null && Integer.parseInt(during[1]) >= SLOWLORIS * 99 / 100,
                        "the slowloris connections were open while the normal clients ran: "
                                + (during == null ? "no status" : during[1]));
                assertTrue(max <= NORMAL_LATENCY_BOUND_MS, "slowest normal request " + max + " ms");
                assertEquals(0, Integer.parseInt(status[1]), "slowloris connections left open by the header timeout");
                assertTrue(Integer.parseInt(status[3]) >= SLOWLORIS * 9 / 10, "answered 408: " + status[3]);
            }
        }
    }

    /** Seconds the slow client reads; {@code -Dbraid.slowReaderSeconds=60} runs the full minute. */
    private static final int SLOW_READER_SECONDS = Integer.getInteger("braid.slowReaderSeconds", 10);
    private static final int SLOW_READER_RATE = 1024;
    /** One origin read: the adaptive receive buffer's largest size. */
    private static final int ONE_READ = 64 * 1024;
    /** The front-end's client-socket high water mark (FrontEnd's WRITE_BUFFER_WATER_MARK). */
    private static final int CLIENT_HIGH_WATER = 128 * 1024;

    /**
     * A client reading 1 KiB/s from a 1 GiB response through the real front-end, link and back-end:
     * the back-end holds at most the stream's send high-water mark plus one origin read; what the
     * back-end has sent and the front-end has not yet written to the client is within the stream's
     * credit; the origin is read only about as fast as the client reads.
     */
    @ParameterizedTest
    @MethodSource("transports")
    void aSlowReaderKeepsWhatTheFrontEndAndBackEndHoldWithinCreditAndWaterMarks(Transport transport) throws Exception {
        try (ChaosSystem system = new ChaosSystem(transport, "udp", state);
             Socket socket = new Socket()) {
            long baseline = usedPooledMemory();
            socket.setReceiveBufferSize(4096);
            socket.connect(system.frontEnd(), 2000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET /big HTTP/1.1\r\nHost: " + ChaosSystem.SITE_HOST + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            LinkSettings link = LinkSettings.DEFAULT;
            long backEndBound = link.sendHighWaterBytes() + ONE_READ + 1024;
            long creditBound = link.streamWindowBytes() + 16 * 1024;
            long maxBackEnd = 0;
            long maxCredit = 0;
            long maxUnread = 0;
            long maxPooled = 0;
            long read = 0;
            byte[] buf = new byte[SLOW_READER_RATE];
            long start = System.nanoTime();
            long end = start + SLOW_READER_SECONDS * 1_000_000_000L;
            int tick = 0;
            while (System.nanoTime() < end) {
                int n = in.read(buf, 0, buf.length);
                assertTrue(n > 0, "the response goes on");
                read += n;
                // 1 KiB per second, measured in quarter-second steps.
                long due = start + (read * 1_000_000_000L) / SLOW_READER_RATE;
                while (System.nanoTime() < due) {
                    Thread.sleep(Math.min(250, Math.max(1, (due - System.nanoTime()) / 1_000_000)));
                    if (++tick % 2 == 0) {
                        String be = system.backEndMetrics.scrape();
                        String fe = system.frontEndMetrics.scrape();
                        long fromOrigin = (long) sum(be, "braid_backend_origin_response_bytes_total");
                        long linkSent = (long) sum(be, "braid_link_sent_bytes_total");
                        long written = (long) sum(fe, "braid_frontend_response_body_bytes_total");
                        // Link bytes include the response head (a few hundred bytes).
                        long heldBackEnd = Math.max(0, fromOrigin - linkSent);
                        long inCredit = Math.max(0, linkSent - written);
                        maxBackEnd = Math.max(maxBackEnd, heldBackEnd);
                        maxCredit = Math.max(maxCredit, inCredit);
                        maxUnread = Math.max(maxUnread, written - read);
                        maxPooled = Math.max(maxPooled, usedPooledMemory() - baseline);
                        assertTrue(heldBackEnd <= backEndBound, "back-end holds " + heldBackEnd + " > " + backEndBound);
                        assertTrue(inCredit <= creditBound, "sent by the back-end, not yet written by the front-end: "
                                + inCredit + " > " + creditBound);
                    }
                }
            }
            long originWrote = system.origin.bigWritten();
            System.out.printf("slow reader (%s), %d s at %d B/s through the front-end: client read %d B; origin wrote %d B"
                            + " of %d; most held: back-end %d B (bound %d), back-end sent but front-end not yet written"
                            + " %d B (bound %d), front-end written but client not yet read %d B (socket buffers and the"
                            + " %d B water mark), pooled memory +%d B%n",
                    transport.label(), SLOW_READER_SECONDS, SLOW_READER_RATE, read, originWrote, CountingOrigin.BIG_BYTES, maxBackEnd,
                    backEndBound, maxCredit, creditBound, maxUnread, CLIENT_HIGH_WATER, maxPooled);
            assertTrue(read >= (long) SLOW_READER_RATE * (SLOW_READER_SECONDS - 2), "the client kept reading: " + read);
            // Loopback socket buffers hold a few MiB; the rest of the GiB was never read from the origin.
            assertTrue(originWrote < 32L * 1024 * 1024, "the origin was read only as fast as the client: " + originWrote);
            assertTrue(maxPooled <= 32L * 1024 * 1024, "pooled memory grew by " + maxPooled);
        }
    }

    /** NIO and the best native transport here (io_uring, else epoll), as the demo tests run. */
    static Stream<Transport> transports() {
        return Stream.of(Transport.NIO, Transport.best()).distinct();
    }

    private static HttpResponse<String> get(HttpClient client, ChaosSystem system, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + system.frontEnd().getPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static double sample(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
            }
        }
        return Double.NaN;
    }

    /** The sum of every sample of {@code family} (all label sets). */
    static double sum(String scrape, String family) {
        double total = 0;
        for (String line : scrape.split("\n")) {
            if (line.startsWith(family + "{") || line.startsWith(family + " ")) {
                String[] parts = line.substring(line.lastIndexOf('}') + 1).trim().split(" ");
                total += Double.parseDouble(parts[0]);
            }
        }
        return total;
    }

    private static long usedPooledMemory() {
        if (!(ByteBufAllocator.DEFAULT instanceof PooledByteBufAllocator p)) {
            return 0;
        }
        return p.metric().usedDirectMemory() + p.metric().usedHeapMemory();
    }

}
