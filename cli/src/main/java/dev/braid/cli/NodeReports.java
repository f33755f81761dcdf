package dev.braid.cli;

import dev.braid.backend.BackEnd;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigWatcher;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.managers.node.MetricsText;
import dev.braid.managers.state.NodeReport;
import dev.braid.runtime.Metrics;
import dev.braid.tmp.TmpLink;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Builds each role's {@link NodeReport} from what the role exposes: its metrics (read back from
 * its own registry, so the report and {@code /metrics} agree) and, on a back-end, its TMP links.
 * Rates are differences between two consecutive reports, per second.
 *
 * <p>Link quality (RTT, loss, window) and client-network RTTs are taken from these metric
 * families when the role publishes them: {@code braid_link_rtt_seconds{peer}},
 * {@code braid_link_loss_ratio{peer}}, {@code braid_link_window_packets{peer}} and
 * {@code braid_frontend_client_rtt_seconds{prefix}} with {@code braid_frontend_client_rtt_samples{prefix}};
 * without them the report carries nulls (unknown), never a made-up figure.
 */
final class NodeReports {

    private NodeReports() {
    }

    /** Figures every report shares: the version the node runs and the one it refused. */
    interface Versions {
        long running();

        ConfigWatcher.Refusal refused();

        BraidConfig effective();
    }

    /** Per-second rates of counters between two calls. */
    static final class Rates {
        private final Map<String, double[]> last = new HashMap<>();

        /** The rate of {@code key}, whose running total is now {@code total}; 0 on the first call. */
        synchronized double rate(String key, double total, long nowNanos) {
            double[] prev = last.put(key, new double[] {total, nowNanos});
            if (prev == null || nowNanos <= prev[1] || total < prev[0]) {
                return 0;
            }
            return (total - prev[0]) / ((nowNanos - prev[1]) / 1e9);
        }

        /** The change of {@code key} since the last call (0 on the first call or after a reset). */
        synchronized double delta(String key, double total) {
            double[] prev = last.put(key, new double[] {total, 0});
            return prev == null || total < prev[0] ? 0 : total - prev[0];
        }
    }

    static Supplier<NodeReport> frontEnd(String name, Metrics metrics, InetSocketAddress admin, Versions versions) {
        Rates rates = new Rates();
        return () -> {
            long now = System.nanoTime();
            MetricsText m = MetricsText.parse(metrics.scrape());
            BraidConfig config = versions.effective();
            FrontEndNode node = config.frontEnd(name);
            double connections = m.sum("braid_frontend_client_connections");
            double linksUp = m.sum("braid_frontend_links_up");
            Map<String, Double> figures = new HashMap<>();
            figures.put("connections", connections);
            figures.put("linksUp", linksUp);
            figures.put("requestsPerSecond", rates.rate("requests", m.sum("braid_frontend_requests_total"), now));
            figures.put("badRequestsPerSecond", rates.rate("bad", m.sum("braid_frontend_bad_requests_total"), now));
            List<NodeReport.ClassStats> classes = new ArrayList<>();
            Map<String, Double> counts = m.sumBy("braid_frontend_request_duration_seconds_count", "class");
            Map<String, Double> sums = m.sumBy("braid_frontend_request_duration_seconds_sum", "class");
            for (var c : config.clientClasses()) {
                double count = counts.getOrDefault(c.name(), 0.0);
                double rps = rates.rate("class.count." + c.name(), count, now);
                double dCount = rates.delta("class.n." + c.name(), count);
                double dSum = rates.delta("class.sum." + c.name(), sums.getOrDefault(c.name(), 0.0));
                classes.add(new NodeReport.ClassStats(c.name(), rps, dCount > 0 ? 1000 * dSum / dCount : null));
            }
            List<NodeReport.LinkStats> links = new ArrayList<>();
            Map<String, Double> sent = m.sumBy("braid_link_sent_bytes_total", "peer");
            for (String be : node == null ? List.<String>of() : node.backEnds()) {
                boolean up = sent.containsKey(be);
                links.add(new NodeReport.LinkStats(be, up, null, quality(m, "braid_link_rtt_seconds", be, 1000),
                        quality(m, "braid_link_loss_ratio", be, 1), quality(m, "braid_link_window_packets", be, 1),
                        null, up ? rates.rate("sent." + be, sent.get(be), now) : null, null));
            }
            List<NodeReport.ClientRtt> rtts = new ArrayList<>();
            Map<String, Double> samples = m.sumBy("braid_frontend_client_rtt_samples", "prefix");
            m.sumBy("braid_frontend_client_rtt_seconds", "prefix").forEach((prefix, seconds) ->
                    rtts.add(new NodeReport.ClientRtt(prefix, seconds * 1000, samples.getOrDefault(prefix, 0.0).longValue())));
            int capacity = node == null ? FrontEndNode.DEFAULT_CAPACITY : node.capacity();
            boolean serving = node != null && !node.sites().isEmpty();
            String health = serving && linksUp == 0 ? "degraded" : "ok";
            return report(NodeReport.FRONT_END, versions, health, connections / capacity, figures, classes, links,
                    rtts, admin);
        };
    }

    static Supplier<NodeReport> backEnd(String name, BackEnd backEnd, Metrics metrics, InetSocketAddress admin,
                                        Versions versions) {
        Rates rates = new Rates();
        return () -> {
            long now = System.nanoTime();
            MetricsText m = MetricsText.parse(metrics.scrape());
            BraidConfig config = versions.effective();
            BackEndNode node = config.backEnd(name);
            int inFlight = 0;
            List<NodeReport.LinkStats> links = new ArrayList<>();
            for (TmpLink l : backEnd.links()) {
                int streams = l.activeStreams();
                inFlight += streams;
                String peer = l.peerName();
                links.add(new NodeReport.LinkStats(peer, l.isActive(), l.carrier(),
                        quality(m, "braid_link_rtt_seconds", peer, 1000), quality(m, "braid_link_loss_ratio", peer, 1),
                        quality(m, "braid_link_window_packets", peer, 1), streams,
                        rates.rate("sent." + peer, l.bytesSent(), now), rates.rate("received." + peer, l.bytesReceived(), now)));
            }
            // Capacity: the high water marks of the origins it serves, the most it can usefully have in flight.
            long capacity = 0;
            for (String siteName : node == null ? List.<String>of() : node.sites()) {
                Site site = config.site(siteName);
                if (site != null) {
                    capacity += site.origins().stream().mapToLong(Origin::maxInFlight).sum();
                }
            }
            Map<String, Double> figures = new HashMap<>();
            figures.put("inFlight", (double) inFlight);
            figures.put("links", (double) links.size());
            figures.put("capacity", (double) capacity);
            figures.put("streamsPerSecond", rates.rate("streams", m.sum("braid_backend_streams_total"), now));
            figures.put("originErrorsPerSecond", rates.rate("errors", m.sum("braid_backend_origin_errors_total"), now));
            return report(NodeReport.BACK_END, versions, "ok", capacity == 0 ? 0 : (double) inFlight / capacity,
                    figures, List.of(), links, List.of(), admin);
        };
    }

    static Supplier<NodeReport> redirector(Metrics metrics, InetSocketAddress admin, Versions versions) {
        Rates rates = new Rates();
        return () -> {
            long now = System.nanoTime();
            MetricsText m = MetricsText.parse(metrics.scrape());
            Map<String, Double> figures = new HashMap<>();
            figures.put("queriesPerSecond", rates.rate("queries", m.sum("braid_redirector_queries_total"), now));
            figures.put("droppedPerSecond", rates.rate("dropped", m.sum("braid_redirector_dropped_total"), now));
            return report(NodeReport.REDIRECTOR, versions, "ok", 0, figures, List.of(), List.of(), List.of(), admin);
        };
    }

    private static Double quality(MetricsText m, String family, String peer, double scale) {
        Map<String, Double> byPeer = m.sumBy(family, "peer");
        Double v = byPeer.get(peer);
        return v == null || !Double.isFinite(v) ? null : v * scale;
    }

    private static NodeReport report(String role, Versions versions, String health, double load,
                                     Map<String, Double> figures, List<NodeReport.ClassStats> classes,
                                     List<NodeReport.LinkStats> links, List<NodeReport.ClientRtt> rtts,
                                     InetSocketAddress admin) {
        ConfigWatcher.Refusal r = versions.refused();
        String adminText = admin.getAddress().getHostAddress();
        adminText = (adminText.contains(":") ? "[" + adminText + "]" : adminText) + ":" + admin.getPort();
        String reason = r == null ? null : r.reason().length() > 1900 ? r.reason().substring(0, 1897) + "..." : r.reason();
        return new NodeReport(role, versions.running(), r == null ? null : new NodeReport.Refusal(r.version(), reason),
                health, Math.max(0, load), figures, classes, links, rtts, adminText);
    }
}
