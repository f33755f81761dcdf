package dev.braid.cli;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClassRule;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.TmpSettings;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two client classes share a saturated link (saturated by the link's send-rate cap) in the ratio
 * the blender policy promises, measured on the back-end's link counters and at the clients.
 */
@ExtendWith(PooledMemoryBaseline.class)
class PriorityIT {

    /** Low enough that a busy two-core machine still fills it; what matters is that the link is the bottleneck. */
    private static final double RATE_MBPS = 16;
    private static final Pattern SENT = Pattern.compile(
            "braid_link_sent_bytes_total\\{peer=\"fe-1\",ring=\"(\\d+)\"} (\\d+)");

    @ParameterizedTest(name = "{0}: 1 gold and {1} standard connections")
    @CsvSource({"per-connection, 3, 0.7273", "per-class, 3, 0.8889"})
    void classesShareASaturatedLinkByTheirWeights(String policy, int standardConnections, double goldShare)
            throws Exception {
        try (Demo demo = Demo.start(Demo.Ports.EPHEMERAL, Transport.NIO, c -> prioritised(c, policy))) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong goldBytes = new AtomicLong();
            AtomicLong standardBytes = new AtomicLong();
            List<Thread> clients = new ArrayList<>();
            clients.add(downloader(demo.frontEnd(), "gold", goldBytes, stop));
            for (int i = 0; i < standardConnections; i++) {
                clients.add(downloader(demo.frontEnd(), null, standardBytes, stop));
            }
            clients.forEach(Thread::start);
            try {
                Thread.sleep(2_000);
                Map<Integer, Long> before = linkBytes(demo);
                long goldBefore = goldBytes.get();
                long standardBefore = standardBytes.get();
                long t0 = System.nanoTime();
                Thread.sleep(3_000);
                Map<Integer, Long> after = linkBytes(demo);
                double seconds = (System.nanoTime() - t0) / 1e9;
                long gold = after.getOrDefault(0, 0L) - before.getOrDefault(0, 0L);
                long standard = after.getOrDefault(2, 0L) - before.getOrDefault(2, 0L);
                long clientGold = goldBytes.get() - goldBefore;
                long clientStandard = standardBytes.get() - standardBefore;
                double linkShare = (double) gold / (gold + standard);
                double clientShare = (double) clientGold / (clientGold + clientStandard);
                double mbps = (gold + standard) * 8 / seconds / 1e6;
                System.out.printf("%s: link gold share %.4f (target %.4f), client gold share %.4f, %.1f Mbit/s%n",
                        policy, linkShare, goldShare, clientShare, mbps);
                assertEquals(goldShare, linkShare, goldShare * 0.05, "gold's share of the link's bytes");
                assertEquals(goldShare, clientShare, goldShare * 0.10, "gold's share of what clients received");
                // Generous on the low side: the machine may be busy; never above the cap.
                assertTrue(mbps > RATE_MBPS * 0.6 && mbps < RATE_MBPS * 1.1,
                        "the link runs at its cap: " + mbps + " Mbit/s");
            } finally {
                stop.set(true);
                for (Thread t : clients) {
                    t.join(10_000);
                }
            }
        }
    }

    private static BraidConfig prioritised(BraidConfig c, String policy) {
        TmpSettings t = c.tmp();
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(),
                List.of(new ClientClass("gold", 0, 8, List.of(new ClassRule(null, null, null, null, "X-Tier: gold", null))),
                        new ClientClass("standard", 2, 1, List.of())),
                c.redirectors(), c.managers(),
                new TmpSettings(t.packetBytes(), t.subPacketBytes(), policy, t.ringWeights(), RATE_MBPS));
    }

    /** Downloads 10 MB objects one after another on one keep-alive connection until told to stop. */
    private static Thread downloader(InetSocketAddress frontEnd, String tier, AtomicLong bytes, AtomicBoolean stop) {
        Thread t = new Thread(() -> {
            try (Socket s = new Socket(frontEnd.getAddress(), frontEnd.getPort())) {
                s.setSoTimeout(20_000);
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[65536];
                long request = 0;
                while (!stop.get()) {
                    // Distinct URLs: the front-end's cache must not collapse the clients onto one fetch.
                    out.write(("GET /objects/10m?c=" + Thread.currentThread().getId() + "-" + request++ + " HTTP/1.1\r\nHost: " + Demo.SITE_HOST + "\r\n"
                            + (tier != null ? "X-Tier: " + tier + "\r\n" : "") + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    long length = readHead(in);
                    long left = length;
                    while (left > 0 && !stop.get()) {
                        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                        if (n < 0) {
                            throw new IOException("connection closed with " + left + " bytes to go");
                        }
                        left -= n;
                        bytes.addAndGet(n);
                    }
                    if (left > 0) {
                        return;
                    }
                }
            } catch (IOException e) {
                if (!stop.get()) {
                    throw new RuntimeException(e);
                }
            }
        }, "downloader-" + (tier == null ? "standard" : tier));
        t.setDaemon(true);
        return t;
    }

    private static long readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed in the response head");
            }
            head.append((char) b);
        }
        Matcher m = Pattern.compile("(?i)content-length: (\\d+)").matcher(head);
        if (!head.toString().startsWith("HTTP/1.1 200") || !m.find()) {
            throw new IOException("unexpected response: " + head);
        }
        return Long.parseLong(m.group(1));
    }

    private static Map<Integer, Long> linkBytes(Demo demo) throws Exception {
        HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + demo.backEndAdmin().getPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        Map<Integer, Long> bytes = new HashMap<>();
        Matcher m = SENT.matcher(metrics.body());
        while (m.find()) {
            bytes.put(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)));
        }
        return bytes;
    }
}
