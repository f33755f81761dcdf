package dev.braid.cli.reliability;

import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Idle keep-alive client connections fit the front-end's memory budget: a front-end in a child
 * JVM with {@code -Xmx1g -XX:MaxDirectMemorySize=512m} holds {@code N} connections, each of which
 * has had one exchange (answered by the front-end itself, 421, kept alive) and then sits idle,
 * opened by a second child from several loopback source addresses. Both children raise their
 * descriptor limit (skipped, with the reason, where the machine does not allow it).
 *
 * <p>The heap after GC and the direct memory are measured before and after; the test asserts every
 * connection was answered and is still open, and that {@value #TARGET} connections at the
 * measured bytes per connection fit the budget. {@code N} is 10,000 in {@code mvn verify}
 * (about 15 s); {@code -Dbraid.it.idleConnections=100000} runs the full count
 * ({@code perf/scripts/idle-connections.sh}).
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class IdleConnectionsIT {

    static final int TARGET = 100_000;
    private static final int COUNT = Integer.getInteger("braid.it.idleConnections", 10_000);
    /**
     * The front-end's transport ({@code -Dbraid.it.idleTransport}): NIO by default; under io_uring
     * every connection waiting to read holds a receive buffer, so direct memory per connection differs.
     */
    private static final Transport TRANSPORT = Transport.parse(System.getProperty("braid.it.idleTransport", "nio"));
    private static final long HEAP_BUDGET = 1L << 30;
    private static final long DIRECT_BUDGET = 512L << 20;

    @TempDir
    Path dir;

    @Test
    void idleKeepAliveConnectionsFitInOneGibHeapAndHalfAGibDirect() throws Exception {
        int fds = COUNT + 2_000;
        assumeTrue(TRANSPORT.isAvailable(), () -> TRANSPORT.label() + " is not available here");
        assumeTrue(Children.canRaiseDescriptorLimit(fds), "cannot raise the descriptor limit to " + fds
                + " for the child processes (hard limit too low and not root)");
        Path config = dir.resolve("braid.yaml");
        Files.writeString(config, String.join("\n",
                "sites:",
                "  - name: shop",
                "    hostnames: [www.shop.example]",
                "    origins: [{url: 'http://127.0.0.1:9'}]",
                "frontEnds:",
                "  - name: fe-1",
                "    listen: 127.0.0.1:0",
                "    publicAddress: 127.0.0.1",
                "    admin: 127.0.0.1:0",
                "    capacity: " + (COUNT + 1_000),
                "    sites: [shop]",
                "    backEnds: [be-1]",
                "    limits: {idleTimeoutMillis: 3600000}",
                "backEnds:",
                "  - {name: be-1, listen: '127.0.0.1:9', admin: '127.0.0.1:0', sites: [shop]}",
                "clientClasses:",
                "  - {name: standard, ring: 0, weight: 1}",
                ""));
        List<String> sources = new ArrayList<>();
        // About 28,000 ephemeral ports per source address: one address per 20,000 connections.
        for (int i = 0; i <= COUNT / 20_000; i++) {
            sources.add("127.0.0." + (i + 2));
        }
        try (Children frontEnd = new Children(fds, List.of("-Xmx1g", "-XX:MaxDirectMemorySize=512m",
                "-Dio.netty.leakDetection.level=disabled"), "front-end", config.toString(), TRANSPORT.label())) {
            int port = Integer.parseInt(frontEnd.await("LISTEN", 30_000)[1]);
            frontEnd.send("measure");
            String[] before = frontEnd.await("MEASURE", 30_000);
            long start = System.nanoTime();
            try (Children clients = new Children(fds, List.of("-Xmx512m"), "idle", Integer.toString(port),
                    Integer.toString(COUNT), String.join(",", sources))) {
                String[] open = clients.await("OPEN", 240_000);
                long openMs = (System.nanoTime() - start) / 1_000_000;
                Thread.sleep(1_000);
                frontEnd.send("measure");
                String[] after = frontEnd.await("MEASURE", 60_000);
                clients.send("check");
                String[] alive = clients.await("ALIVE", 60_000);
                long heap = Long.parseLong(after[1]) - Long.parseLong(before[1]);
                long pooled = Long.parseLong(after[2]) < 0 ? 0 : Long.parseLong(after[2]) - Long.parseLong(before[2]);
                long direct = Long.parseLong(after[3]) - Long.parseLong(before[3]);
                long heapPer = heap / COUNT;
                long directPer = Math.max(pooled, direct) / COUNT;
                System.out.printf("idle connections (%s): %d opened from %s in %d ms (answered %s, failed %s), %s still open,"
                                + " front-end counts %s; heap after GC +%d B (%d B per connection), pooled direct +%d B,"
                                + " direct +%d B (%d B per connection); %d connections would take %d MiB heap, %d MiB"
                                + " direct%n",
                        TRANSPORT.label(), COUNT, sources, openMs, open[3], open[5], alive[1], after[4], heap, heapPer, pooled, direct,
                        directPer, TARGET, heapPer * TARGET >> 20, directPer * TARGET >> 20);
                assertEquals(COUNT, Integer.parseInt(open[1]), "connections opened");
                assertEquals(COUNT, Integer.parseInt(open[3]), "connections answered 421 and kept alive");
                assertEquals(COUNT, Integer.parseInt(alive[1]), "connections still open");
                assertTrue(Long.parseLong(after[4]) >= COUNT, "the front-end holds them: " + after[4]);
                assertTrue(Long.parseLong(after[1]) + heapPer * (TARGET - COUNT) < HEAP_BUDGET,
                        "heap for " + TARGET + " connections: " + (Long.parseLong(after[1]) + heapPer * (TARGET - COUNT)));
                assertTrue(Math.max(Long.parseLong(after[2]), Long.parseLong(after[3])) + directPer * (TARGET - COUNT)
                        < DIRECT_BUDGET, "direct memory for " + TARGET + " connections");
            }
        }
    }
}
