package dev.braid.cli;

import dev.braid.runtime.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the demo integration tests share: the transports they run on, starting a demo and waiting
 * until it serves through the TMP link, and reading Prometheus metrics.
 */
final class DemoSupport {

    private static final Logger log = LoggerFactory.getLogger(DemoSupport.class);

    /** Comma-separated transports to run on instead of the default pair, e.g. {@code nio,epoll,io_uring}. */
    static final String TRANSPORTS_PROPERTY = "braid.it.transports";

    private DemoSupport() {
    }

    /**
     * NIO and the best native transport this machine has (io_uring, else epoll), or the transports
     * named by the system property {@value #TRANSPORTS_PROPERTY}. Running every transport would
     * add little: the native ones share Netty's native socket code paths.
     */
    static Stream<Transport> transports() {
        String wanted = System.getProperty(TRANSPORTS_PROPERTY, "").trim();
        if (!wanted.isEmpty()) {
            return Arrays.stream(wanted.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Transport::parse);
        }
        Transport best = Transport.best();
        return best == Transport.NIO ? Stream.of(Transport.NIO) : Stream.of(Transport.NIO, best);
    }

    /**
     * Starts the demo on ephemeral loopback ports and returns once the front-end serves the site's
     * page through the TMP link (the link comes up asynchronously after the start returns).
     */
    static Demo startAndAwait(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), () -> transport.label() + " is not available here: "
                + transport.unavailabilityCause());
        long begin = System.nanoTime();
        Demo demo = Demo.start(Demo.Ports.EPHEMERAL, transport);
        try {
            long deadline = System.nanoTime() + 15_000_000_000L;
            String last = "no answer";
            while (System.nanoTime() < deadline) {
                try {
                    WireClient.Response r = WireClient.fetch(demo.frontEnd(), "GET / HTTP/1.1\r\nHost: "
                            + Demo.SITE_HOST + "\r\nConnection: close\r\n\r\n", "GET");
                    if (r.status() == 200) {
                        log.info("demo on {} serving through the link after {} ms", transport.label(),
                                (System.nanoTime() - begin) / 1_000_000);
                        return demo;
                    }
                    last = r.toString();
                } catch (IOException e) {
                    last = e.toString();
                }
                Thread.sleep(20);
            }
            throw new AssertionError("the demo's front-end did not serve / within 15 s; last: " + last);
        } catch (Exception | Error e) {
            demo.close();
            throw e;
        }
    }

    /** The Prometheus text an admin endpoint serves at {@code /metrics}. */
    static String scrape(InetSocketAddress admin) throws IOException {
        WireClient.Response r = WireClient.get(admin, "/metrics");
        if (r.status() != 200) {
            throw new IOException("GET /metrics on " + admin + ": " + r);
        }
        return r.text();
    }

    /**
     * The value of the sample {@code series} (a metric name with its labels exactly as exposed, e.g.
     * {@code braid_redirector_config_version}) in a scrape, or NaN when absent.
     */
    static double sample(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
            }
        }
        return Double.NaN;
    }

    /** Names of the metric families a scrape declares ({@code # TYPE name type}). */
    static List<String> families(String scrape) {
        List<String> names = new ArrayList<>();
        for (String line : scrape.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                names.add(line.split(" ")[2]);
            }
        }
        return names;
    }
}
