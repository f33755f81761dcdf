package dev.braid.tmp;

import dev.braid.runtime.Metrics;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The {@code braid_link_*} gauges of a node's TMP links, from both ends' QoS reports:
 * {@code direction="send"} is this node's measurement of what it sends, {@code direction="receive"}
 * the peer's report of what it sends here. Receive-buffer drops of the UDP sockets are exported
 * apart, so that they are never mistaken for path loss.
 */
public final class LinkMetrics {

    private LinkMetrics() {
    }

    /** Registers the gauges; {@code links} is read at every scrape. */
    public static void register(Metrics metrics, Supplier<Collection<TmpLink>> links) {
        qos(metrics, links, "braid_link_loss_ratio", "Share of packets lost on the link, by direction",
                QosReport::lossRate);
        qos(metrics, links, "braid_link_srtt_seconds", "Smoothed round-trip time of the link",
                q -> q.smoothedRttMicros() / 1e6);
        qos(metrics, links, "braid_link_rtt_variance_seconds", "Round-trip time variation of the link",
                q -> q.rttVarianceMicros() / 1e6);
        qos(metrics, links, "braid_link_min_rtt_seconds", "Smallest round-trip time seen on the link",
                q -> q.minRttMicros() / 1e6);
        qos(metrics, links, "braid_link_delivery_rate_bytes", "Bytes per second acknowledged on the link",
                q -> q.deliveryRateBytesPerSecond());
        qos(metrics, links, "braid_link_hosted_streams", "Streams the link counts as hosted (N of the window)",
                QosReport::hostedStreams);
        perLink(metrics, links, "braid_link_cwnd_bytes", "Congestion window of UDP links",
                l -> (double) l.congestionWindow(), l -> l.congestionWindow() >= 0);
        perLink(metrics, links, "braid_link_udp_receive_buffer_bytes",
                "UDP socket receive buffer as granted by the kernel", l -> (double) l.udpReceiveBufferBytes(),
                l -> l.udpReceiveBufferBytes() >= 0);
        metrics.counters("braid_link_udp_receive_drops_total",
                "Datagrams the kernel dropped for a full socket receive buffer (not path loss)",
                () -> collect(links.get(), l -> (double) l.udpReceiveDrops(), l -> l.udpReceiveDrops() >= 0), "peer");
        metrics.counters("braid_link_compression_saved_bytes_total", "Bytes LZ4 saved on DATA frames sent",
                () -> collect(links.get(), l -> (double) l.compressionSavedBytes(), l -> true), "peer");
        metrics.gauges("braid_link_info", "One per link: its carrier and congestion controller", () -> {
            Map<List<String>, Double> m = new HashMap<>();
            for (TmpLink l : links.get()) {
                m.put(List.of(l.peerName(), l.carrier(), l.congestionControl()), 1.0);
            }
            return m;
        }, "peer", "carrier", "congestion_control");
    }

    private static void qos(Metrics metrics, Supplier<Collection<TmpLink>> links, String name, String help,
                            ToDoubleFunction<QosReport> value) {
        metrics.gauges(name, help, () -> {
            Map<List<String>, Double> m = new HashMap<>();
            for (TmpLink l : links.get()) {
                if (l.localQos().isKnown()) {
                    m.put(List.of(l.peerName(), "send"), value.applyAsDouble(l.localQos()));
                }
                if (l.peerQos().isKnown()) {
                    m.put(List.of(l.peerName(), "receive"), value.applyAsDouble(l.peerQos()));
                }
            }
            return m;
        }, "peer", "direction");
    }

    private static void perLink(Metrics metrics, Supplier<Collection<TmpLink>> links, String name, String help,
                                Function<TmpLink, Double> value, java.util.function.Predicate<TmpLink> present) {
        metrics.gauges(name, help, () -> collect(links.get(), value, present), "peer");
    }

    private static Map<List<String>, Double> collect(Collection<TmpLink> links, Function<TmpLink, Double> value,
                                                     java.util.function.Predicate<TmpLink> present) {
        Map<List<String>, Double> m = new HashMap<>();
        for (TmpLink l : links) {
            if (present.test(l)) {
                m.put(List.of(l.peerName()), value.apply(l));
            }
        }
        return m;
    }
}
