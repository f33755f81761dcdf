package dev.braid.redirector;

import dev.braid.runtime.Metrics;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The redirector's metrics, registered once per {@link Metrics}:
 * <ul>
 *   <li>{@code braid_redirector_queries_total{transport,rcode}}: answers sent, by response code;</li>
 *   <li>{@code braid_redirector_truncated_total{transport}}: answers sent with TC set;</li>
 *   <li>{@code braid_redirector_dropped_total{transport,reason}}: messages dropped unanswered
 *       ({@code short}: no whole header; {@code response}: QR set; {@code malformed}: undecodable
 *       and no readable header; {@code backpressure}: UDP socket not writable; {@code write_failed};
 *       {@code connection_limit}: TCP connections over the limit; {@code rate_limit}: UDP answers
 *       over the response rate limit);</li>
 *   <li>{@code braid_redirector_rate_limit_slipped_total}: answers over the rate limit sent empty with TC;</li>
 *   <li>{@code braid_redirector_answer_seconds{transport}}: time from a decoded query to its queued answer;</li>
 *   <li>{@code braid_redirector_config_version}: the configuration version answered from (-1: none yet);</li>
 *   <li>{@code braid_redirector_tcp_connections}: TCP connections open now.</li>
 * </ul>
 */
final class RedirectorMetrics {

    static final int UDP = 0;
    static final int TCP = 1;
    private static final String[] TRANSPORTS = {"udp", "tcp"};
    private static final int[] RCODES = {Dns.RCODE_NOERROR, Dns.RCODE_FORMERR, Dns.RCODE_SERVFAIL,
            Dns.RCODE_NXDOMAIN, Dns.RCODE_NOTIMP, Dns.RCODE_REFUSED, Dns.RCODE_BADVERS};

    private final Metrics.Counter queries;
    private final Metrics.Counter dropped;
    private final Metrics.Histogram.Child[] latency = new Metrics.Histogram.Child[2];
    private final LongAdder[] truncated = new LongAdder[2];
    private final LongAdder slipped;
    /** Pre-resolved children for the codes this server sends, so the data path allocates nothing. */
    private final LongAdder[][] byRcode = new LongAdder[2][Dns.RCODE_BADVERS + 1];

    RedirectorMetrics(Metrics metrics, LongSupplier configVersion, LongSupplier tcpConnections) {
        queries = metrics.counter("braid_redirector_queries_total",
                "DNS answers sent, by transport and response code.", "transport", "rcode");
        dropped = metrics.counter("braid_redirector_dropped_total",
                "DNS messages dropped without an answer, by transport and reason.", "transport", "reason");
        Metrics.Counter truncatedCounter = metrics.counter("braid_redirector_truncated_total",
                "DNS answers sent truncated (TC set), by transport.", "transport");
        Metrics.Histogram histogram = metrics.histogram("braid_redirector_answer_seconds",
                "Time from a decoded DNS query to its queued answer, in seconds.",
                new double[] {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1},
                "transport");
        slipped = metrics.counter("braid_redirector_rate_limit_slipped_total",
                "UDP answers over the rate limit sent empty with TC set (the RRL slip).").labels();
        for (int t = 0; t < 2; t++) {
            latency[t] = histogram.labels(TRANSPORTS[t]);
            truncated[t] = truncatedCounter.labels(TRANSPORTS[t]);
            for (int rcode : RCODES) {
                byRcode[t][rcode] = queries.labels(TRANSPORTS[t], Dns.rcodeName(rcode));
            }
        }
        metrics.gauge("braid_redirector_config_version",
                "Version of the configuration the redirector answers from (-1 before the first).",
                () -> configVersion.getAsLong());
        metrics.gauge("braid_redirector_tcp_connections", "DNS-over-TCP connections open.",
                () -> tcpConnections.getAsLong());
    }

    static String transport(int transport) {
        return TRANSPORTS[transport];
    }

    void answered(int transport, int rcode, boolean truncatedAnswer, long startNanos) {
        LongAdder counter = rcode < byRcode[transport].length ? byRcode[transport][rcode] : null;
        if (counter != null) {
            counter.increment();
        } else {
            queries.inc(TRANSPORTS[transport], Dns.rcodeName(rcode));
        }
        if (truncatedAnswer) {
            truncated[transport].increment();
        }
        latency[transport].observe((System.nanoTime() - startNanos) / 1e9);
    }

    void rateLimitSlipped() {
        slipped.increment();
    }

    void dropped(int transport, String reason) {
        dropped.inc(TRANSPORTS[transport], reason);
    }
}
