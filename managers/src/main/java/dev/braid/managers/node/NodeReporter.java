package dev.braid.managers.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.state.Assignment;
import dev.braid.managers.state.NodeReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A node's heartbeat: every report interval it builds a {@link NodeReport} and posts it to the
 * managers ({@code POST /api/v1/nodes/{name}/report}). The answer carries the assignment layer
 * and the report interval the managers want; a changed layer is handed to the node. While the
 * managers are unreachable the node keeps reporting at the same pace (each report is whole, so
 * nothing queues up) and keeps the last assignments it had.
 *
 * <p>Runs on its own daemon thread; the supplier and the listener are called on it.
 */
public final class NodeReporter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodeReporter.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI endpoint;
    private final String name;
    private final String token;
    private final Supplier<NodeReport> report;
    private final Consumer<List<Assignment>> onAssignments;
    private final HttpClient http;
    private final Thread thread;
    private volatile long intervalMillis;
    private volatile boolean closed;
    private volatile long sent;
    private List<Assignment> assignments;

    private NodeReporter(URI managers, String name, String token, Duration interval, Supplier<NodeReport> report,
                         Consumer<List<Assignment>> onAssignments) {
        String base = managers.toString().replaceAll("/+$", "");
        this.endpoint = URI.create(base + "/api/v1/nodes/" + URLEncoder.encode(name, StandardCharsets.UTF_8) + "/report");
        this.name = name;
        this.token = token;
        this.report = Objects.requireNonNull(report, "report");
        this.onAssignments = Objects.requireNonNull(onAssignments, "onAssignments");
        this.intervalMillis = interval.toMillis();
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        this.thread = new Thread(this::run, "braid-node-reporter");
        thread.setDaemon(true);
    }

    /**
     * Starts reporting at once, then every {@code interval} (or what the managers answer).
     *
     * @param token the managers' bearer token, or null when they have none
     */
    public static NodeReporter start(URI managers, String name, String token, Duration interval,
                                     Supplier<NodeReport> report, Consumer<List<Assignment>> onAssignments) {
        if (interval.toMillis() < 10) {
            throw new IllegalArgumentException("interval: " + interval + " (expected: >= 10 ms)");
        }
        NodeReporter r = new NodeReporter(managers, name, token, interval, report, onAssignments);
        r.thread.start();
        return r;
    }

    /** Reports accepted by the managers so far. */
    public long sent() {
        return sent;
    }

    private void run() {
        int failures = 0;
        while (!closed) {
            long started = System.nanoTime();
            try {
                send();
                if (failures > 0) {
                    log.info("{}: managers accept reports again", name);
                }
                failures = 0;
            } catch (InterruptedException e) {
                break;
            } catch (IOException | RuntimeException e) {
                if (closed) {
                    break;
                }
                if (failures++ == 0) {
                    log.warn("{}: cannot report to the managers at {}: {}", name, endpoint, e.toString());
                } else {
                    log.debug("{}: cannot report to the managers: {}", name, e.toString());
                }
            }
            long elapsed = (System.nanoTime() - started) / 1_000_000;
            try {
                Thread.sleep(Math.max(1, intervalMillis - elapsed));
            } catch (InterruptedException e) {
                break;
            }
        }
    }

    private void send() throws IOException, InterruptedException {
        byte[] body = JSON.writeValueAsBytes(report.get().toJsonTree());
        HttpRequest.Builder b = HttpRequest.newBuilder(endpoint)
                .timeout(Duration.ofMillis(Math.max(1000, intervalMillis * 2)))
                .header("Content-Type", "application/json")
                .header("User-Agent", "braid-node " + name)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IOException("HTTP " + resp.statusCode() + ": " + resp.body().replaceAll("\\s+", " ").strip());
        }
        sent++;
        JsonNode answer = JSON.readTree(resp.body());
        long interval = answer.path("reportIntervalMs").asLong(0);
        if (interval >= 10 && interval != intervalMillis) {
            log.info("{}: reporting every {} ms", name, interval);
            intervalMillis = interval;
        }
        List<Assignment> received = new ArrayList<>();
        for (JsonNode a : answer.path("assignments")) {
            received.add(new Assignment(a.path("role").asText(), a.path("node").asText(), a.path("site").asText(),
                    Instant.parse(a.path("since").asText()).toEpochMilli()));
        }
        if (!received.equals(assignments)) {
            assignments = List.copyOf(received);
            onAssignments.accept(assignments);
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
