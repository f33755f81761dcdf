package dev.braid.frontend;

import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * 10,000 concurrent keep-alive clients through one front-end, a back-end and an origin. The clients
 * run in a child JVM ({@link KeepAliveClients}, one Netty event loop group) so that the 10,000
 * client sockets and the front-end's 10,000 accepted sockets count against two descriptor limits;
 * the child raises its soft limit to the hard one ({@code ulimit -n}), and this JVM's was raised by
 * HotSpot ({@code MaxFDLimit}). The clients bind to eight loopback source addresses, are all
 * connected before the first request (the front-end's connection gauge must show them), and each
 * sends two requests on its connection, each answered 200 with its own body. The durations are
 * printed to this class's output file.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(150)
class TenThousandClientsIT {

    private static final int CLIENTS = 10_000;
    private static final int REQUESTS = 2;
    private static final int SOURCES = 8;
    /** Descriptors each process needs beyond one per socket: jars, event loops, pipes. */
    private static final int SPARE_DESCRIPTORS = 1_000;

    private GatewayFixture gateway;
    private Process clients;

    @AfterEach
    void stop() throws InterruptedException {
        if (clients != null && clients.isAlive()) {
            clients.destroy();
            clients.waitFor(10, TimeUnit.SECONDS);
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    /** The {@code Max open files} line of /proc/self/limits: soft and hard, -1 for unlimited. */
    private static long[] openFilesLimit() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return new long[] {parse(f[0]), parse(f[1])};
            }
        }
        throw new IOException("/proc/self/limits has no Max open files line");
    }

    private static long parse(String v) {
        return v.equals("unlimited") ? -1 : Long.parseLong(v);
    }

    private static boolean atLeast(long limit, long needed) {
        return limit < 0 || limit >= needed;
    }

    private double openConnections() {
        String gauge = gateway.frontEndMetrics.scrape().lines()
                .filter(l -> l.startsWith("braid_frontend_client_connections ")).findFirst().orElseThrow();
        return Double.parseDouble(gauge.split(" ")[1]);
    }

    @Test
    void tenThousandConcurrentKeepAliveClientsEachGetTheirOwnAnswers() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/limits")), "needs Linux /proc/self/limits");
        long[] limit = openFilesLimit();
        long needed = CLIENTS + SPARE_DESCRIPTORS;
        assumeTrue(atLeast(limit[1], needed), "the hard limit on open files is " + limit[1] + "; this test needs "
                + needed + " per process (raise it with ulimit -Hn or in /etc/security/limits.conf)");
        assumeTrue(atLeast(limit[0], needed), "this JVM's soft limit on open files is " + limit[0]
                + " although the hard one is " + limit[1] + "; run it with -XX:+MaxFDLimit");
        for (int i = 0; i < SOURCES; i++) {
            try (Socket probe = new Socket()) {
                probe.bind(new InetSocketAddress("127.0.0." + (2 + i), 0));
            } catch (IOException e) {
                assumeTrue(false, "cannot bind to loopback source address 127.0.0." + (2 + i) + ": " + e);
            }
        }
        Transport transport = Transport.EPOLL.isAvailable() ? Transport.EPOLL : Transport.NIO;
        gateway = new GatewayFixture(transport, 2, 1, CLIENTS + 2_000);

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String hard = limit[1] < 0 ? "unlimited" : Long.toString(limit[1]);
        List<String> command = new ArrayList<>(List.of("bash", "-c", "ulimit -n " + hard + " && exec \"$0\" \"$@\"",
                java, "-Xmx512m", "-XX:+MaxFDLimit", "-cp", System.getProperty("java.class.path"),
                KeepAliveClients.class.getName(), "127.0.0.1", Integer.toString(gateway.port()),
                Integer.toString(CLIENTS), Integer.toString(REQUESTS), Integer.toString(SOURCES), "60"));
        clients = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(clients.getInputStream(), StandardCharsets.US_ASCII));

        String connectedLine = out.readLine();
        assertNotNull(connectedLine, "the client process ended before connecting");
        Matcher c = Pattern.compile("CONNECTED (\\d+) (\\d+)").matcher(connectedLine);
        assertTrue(c.matches(), connectedLine);
        assertEquals(CLIENTS, Integer.parseInt(c.group(1)), "clients connected");
        // A connection the kernel completed may still wait in the listener's backlog: wait for the accepts.
        long acceptDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        double open;
        while ((open = openConnections()) < CLIENTS && System.nanoTime() < acceptDeadline) {
            Thread.sleep(20);
        }
        assertTrue(open >= CLIENTS, "all open at once at the front-end: " + open);

        try (OutputStream go = clients.getOutputStream()) {
            go.write("GO\n".getBytes(StandardCharsets.US_ASCII));
        }
        String resultLine = out.readLine();
        assertNotNull(resultLine, "the client process ended without a result");
        List<String> bad = new ArrayList<>();
        for (String l; (l = out.readLine()) != null; ) {
            bad.add(l);
        }
        assertTrue(clients.waitFor(30, TimeUnit.SECONDS), "the client process exits");
        Matcher r = Pattern.compile("RESULT ok=(\\d+) bad=(\\d+) unanswered=(\\d+) ms=(\\d+)").matcher(resultLine);
        assertTrue(r.matches(), resultLine);
        System.out.printf("%d clients from %d source addresses: connected in %s ms; %d requests answered in %s ms "
                        + "(%.0f requests/s)%n", CLIENTS, SOURCES, c.group(2), Integer.parseInt(r.group(1)), r.group(4),
                Integer.parseInt(r.group(1)) * 1000.0 / Math.max(1, Long.parseLong(r.group(4))));
        if (!r.group(3).equals("0")) {
            System.out.println("back-end exchanges " + gateway.backEnds.get(0).activeExchanges());
            gateway.backEndMetrics.scrape().lines().filter(l -> !l.startsWith("#") && !l.contains("bucket"))
                    .forEach(System.out::println);
            gateway.frontEndMetrics.scrape().lines().filter(l -> !l.startsWith("#") && !l.contains("bucket"))
                    .forEach(System.out::println);
        }
        assertEquals("0", r.group(2), "failed clients: " + bad);
        assertEquals("0", r.group(3), "clients without all their answers: " + bad);
        assertEquals(CLIENTS * REQUESTS, Integer.parseInt(r.group(1)));
        assertEquals(CLIENTS * REQUESTS, gateway.origin.total(), "every request reached the origin once");
    }
}
