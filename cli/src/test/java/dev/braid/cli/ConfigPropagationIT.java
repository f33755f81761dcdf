package dev.braid.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.ManagersNode;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A running system (the real demo: front-end, back-end, redirector and managers, all over HTTP
 * and TMP on loopback) follows the managers: a valid change reaches every node within 2 s, each
 * node reports the version it runs, an invalid change is refused with its reasons and nothing
 * changes anywhere, and a rollback is a new version equal to the old one.
 */
@ExtendWith(PooledMemoryBaseline.class)
class ConfigPropagationIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern VERSION = Pattern.compile("(?m)^braid_node_config_version (\\d+)$");
    private static final long REACH_BOUND_MS = 2_000;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** Reports every 200 ms, so that the managers' view catches up quickly too. */
    private static BraidConfig fastReports(BraidConfig c) {
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), c.clientClasses(), c.redirectors(),
                new ManagersNode(c.managers().listen(), 200, null, null), c.tmp(), c.regions());
    }

    @Test
    void aValidChangeReachesEveryNodeWithinTwoSecondsAndAnInvalidOneNowhere() throws Exception {
        try (Demo demo = Demo.start(Demo.Ports.EPHEMERAL, Transport.NIO, ConfigPropagationIT::fastReports)) {
            List<InetSocketAddress> nodes = List.of(demo.frontEndAdmin(), demo.backEndAdmin(), demo.dnsAdmin());
            awaitVersions(nodes, 1, 10_000);
            awaitReported(demo, 1, 10_000);

            // A valid change: gold's weight.
            String yaml = ConfigLoader.toYaml(demo.config()).replace("weight: 8", "weight: 12");
            long sent = System.nanoTime();
            HttpResponse<String> put = send(demo, "PUT", "/api/v1/config", yaml, "application/yaml");
            assertEquals(200, put.statusCode(), put.body());
            assertEquals(2, JSON.readTree(put.body()).get("version").asLong());
            long reachedMs = awaitVersions(nodes, 2, 10_000);
            long tookMs = (System.nanoTime() - sent) / 1_000_000;
            System.out.printf("version 2 reached all %d nodes %d ms after the PUT was sent (%d ms after it was answered)%n",
                    nodes.size(), tookMs, reachedMs);
            assertTrue(tookMs < REACH_BOUND_MS, "version 2 reached every node after " + tookMs + " ms");
            awaitReported(demo, 2, 5_000);

            // An invalid change: refused whole, with every reason, and no node moves.
            String invalid = yaml.replace("weight: 12", "weight: 0").replace("publicAddress: 127.0.0.1",
                    "publicAddress: localhost");
            HttpResponse<String> refused = send(demo, "PUT", "/api/v1/config", invalid, "application/yaml");
            assertEquals(400, refused.statusCode());
            JsonNode errors = JSON.readTree(refused.body()).get("errors");
            assertEquals(2, errors.size(), refused.body());
            assertTrue(errors.toString().contains("clientClasses[0].weight: 0"), refused.body());
            assertTrue(errors.toString().contains("frontEnds[0].publicAddress: localhost"), refused.body());
            Thread.sleep(500);
            for (InetSocketAddress n : nodes) {
                assertEquals(2, nodeVersion(n), "node at " + n + " after the refused change");
            }
            assertEquals(2, JSON.readTree(send(demo, "GET", "/api/v1/version", null, null).body()).get("version").asLong());

            // Rollback to version 1: a new version 3 with version 1's content, on every node.
            HttpResponse<String> rollback = send(demo, "POST", "/api/v1/config/rollback", "{\"version\":1}",
                    "application/json");
            assertEquals(200, rollback.statusCode(), rollback.body());
            JsonNode v3 = JSON.readTree(rollback.body());
            assertEquals(3, v3.get("version").asLong());
            JsonNode history = JSON.readTree(send(demo, "GET", "/api/v1/config/history", null, null).body());
            assertEquals(history.get("versions").get(0).get("sha256"), v3.get("sha256"), "version 3 equals version 1");
            awaitVersions(nodes, 3, 5_000);
            JsonNode audit = JSON.readTree(send(demo, "GET", "/api/v1/audit", null, null).body()).get("entries");
            assertEquals(List.of("config.initial", "config.put", "config.rollback"),
                    audit.findValues("action").stream().map(JsonNode::asText).toList());
            JsonNode put2 = audit.get(1);
            assertEquals(1, put2.get("fromVersion").asLong());
            assertEquals(2, put2.get("toVersion").asLong());
            assertTrue(put2.get("detail").asText().contains("clientClasses[gold].weight: 8 -> 12"), put2.toString());
        }
    }

    /** Polls every node's {@code braid_node_config_version} until all show {@code version}; returns the time taken. */
    private long awaitVersions(List<InetSocketAddress> nodes, long version, long timeoutMs) throws Exception {
        long start = System.nanoTime();
        long deadline = start + timeoutMs * 1_000_000;
        while (true) {
            boolean all = true;
            for (InetSocketAddress n : nodes) {
                all &= nodeVersion(n) == version;
            }
            if (all) {
                return (System.nanoTime() - start) / 1_000_000;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not every node runs version " + version + " after " + timeoutMs + " ms");
            }
            Thread.sleep(10);
        }
    }

    private long nodeVersion(InetSocketAddress admin) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + admin.getPort() + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher m = VERSION.matcher(r.body());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** Waits until the managers' state shows every node up and reporting {@code version}. */
    private void awaitReported(Demo demo, long version, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        JsonNode state = null;
        while (System.nanoTime() < deadline) {
            state = JSON.readTree(send(demo, "GET", "/api/v1/state", null, null).body());
            boolean all = true;
            for (String group : List.of("frontEnds", "backEnds", "redirectors")) {
                for (JsonNode n : state.get(group)) {
                    all &= "up".equals(n.get("status").asText()) && n.get("configVersion").asLong() == version;
                }
            }
            if (all) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the managers do not see every node up on version " + version + ": " + state);
    }

    private HttpResponse<String> send(Demo demo, String method, String path, String body, String contentType)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + demo.managers().getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
