package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.config.TestConfigs;
import dev.braid.runtime.AdminServer;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The admin API beyond the configuration itself: reports, state, class weights, rollback, audit, purge, console. */
@ExtendWith(PooledMemoryBaseline.class)
class ManagersApiIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "s3cret";

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private ManagersServer server;

    @BeforeEach
    void start() throws Exception {
        server = ManagersServer.start(ManagersServer.Options.builder()
                .config(TestConfigs.example())
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .token(TOKEN)
                .build());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> call(String method, String path, String body, boolean auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.localAddress().getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json")
                .header("Braid-Author", "tester");
        if (auth) {
            b.header("Authorization", "Bearer " + TOKEN);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String report(String role, long version, double load) {
        return "{\"role\":\"" + role + "\",\"configVersion\":" + version + ",\"health\":\"ok\",\"load\":" + load
                + ",\"metrics\":{\"connections\":12},\"classes\":[{\"name\":\"gold\",\"requestsPerSecond\":4,"
                + "\"latencyMs\":10},{\"name\":\"standard\",\"requestsPerSecond\":6,\"latencyMs\":20}],"
                + "\"links\":[{\"peer\":\"be-1\",\"up\":true,\"carrier\":\"udp\",\"rttMs\":12.5,\"lossRate\":0.01,"
                + "\"windowPackets\":40,\"streams\":3,\"sentBytesPerSecond\":1000,\"receivedBytesPerSecond\":null}],"
                + "\"clientRtts\":[{\"prefix\":\"203.0.113.0/24\",\"rttMs\":23.5,\"samples\":7}]}";
    }

    @Test
    void aReportIsAuthorizedCheckedAndShownInTheState() throws Exception {
        assertEquals(401, call("POST", "/api/v1/nodes/fe-1/report", report("front-end", 1, 0.2), false).statusCode());
        HttpResponse<String> bad = call("POST", "/api/v1/nodes/fe-1/report",
                "{\"role\":\"gateway\",\"configVersion\":-1,\"load\":\"high\",\"extra\":1}", true);
        assertEquals(400, bad.statusCode());
        assertEquals(List.of("extra: unknown field (expected one of: admin, classes, clientRtts, configVersion, health, "
                        + "links, load, metrics, refused, role)",
                "role: \"gateway\" (expected: front-end, back-end, redirector)",
                "configVersion: -1 (expected: an integer >= 0)",
                "load: \"high\" (expected: a number 0.0..1000000.0)"),
                JSON.convertValue(JSON.readTree(bad.body()).get("errors"), List.class));
        assertEquals(404, call("POST", "/api/v1/nodes/fe-9/report", report("front-end", 1, 0.2), true).statusCode());

        HttpResponse<String> ok = call("POST", "/api/v1/nodes/fe-1/report", report("front-end", 1, 0.2), true);
        assertEquals(200, ok.statusCode(), ok.body());
        JsonNode answer = JSON.readTree(ok.body());
        assertEquals("[]", answer.get("assignments").toString());
        assertEquals(2000, answer.get("reportIntervalMs").asInt());

        JsonNode state = JSON.readTree(call("GET", "/api/v1/state", null, false).body());
        JsonNode fe = state.get("frontEnds").get(0);
        assertEquals("up", fe.get("status").asText());
        assertEquals(1, fe.get("configVersion").asLong());
        assertEquals(12.5, fe.get("links").get(0).get("rttMs").asDouble());
        assertEquals("203.0.113.0/24", fe.get("clientRtts").get(0).get("prefix").asText());
        assertEquals("unknown", state.get("backEnds").get(0).get("status").asText());
        JsonNode gold = state.get("classes").get(0);
        assertEquals(4, gold.get("requestsPerSecond").asDouble());
        assertEquals(10, gold.get("latencyMs").asDouble());
        assertEquals(0.2, state.get("sites").get(0).get("load").get("frontEnds").asDouble());

        JsonNode links = JSON.readTree(call("GET", "/api/v1/links", null, false).body()).get("links");
        assertEquals("fe-1", links.get(0).get("node").asText());
        assertEquals("be-1", links.get(0).get("peer").asText());
        JsonNode nodes = JSON.readTree(call("GET", "/api/v1/nodes", null, false).body()).get("nodes");
        assertEquals(3, nodes.size());
    }

    @Test
    void aStateLongPollAnswersOnTheNextChange() throws Exception {
        HttpResponse<String> first = call("GET", "/api/v1/state", null, false);
        long version = Long.parseLong(first.headers().firstValue(ManagersServer.STATE_VERSION_HEADER).orElseThrow());
        assertEquals(304, call("GET", "/api/v1/state?after=" + version + "&timeoutMs=100", null, false).statusCode());
        CompletableFuture<HttpResponse<String>> poll = http.sendAsync(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + server.localAddress().getPort() + "/api/v1/state?after=" + version
                                + "&timeoutMs=20000")).build(), HttpResponse.BodyHandlers.ofString());
        Thread.sleep(200);
        assertFalse(poll.isDone());
        call("POST", "/api/v1/nodes/rd-1/report", "{\"role\":\"redirector\",\"configVersion\":1,\"load\":0}", true);
        HttpResponse<String> answered = poll.get(5, TimeUnit.SECONDS);
        assertEquals(200, answered.statusCode());
        assertTrue(JSON.readTree(answered.body()).get("stateVersion").asLong() > version);
        assertEquals(400, call("GET", "/api/v1/state?timeoutMs=5", null, false).statusCode());
    }

    @Test
    void aClassWeightIsANewVersionAndAudited() throws Exception {
        assertEquals(401, call("PUT", "/api/v1/classes/gold/weight", "{\"weight\":12}", false).statusCode());
        HttpResponse<String> missing = call("PUT", "/api/v1/classes/platinum/weight", "{\"weight\":12}", true);
        assertEquals(404, missing.statusCode());
        assertTrue(missing.body().contains("class: platinum (expected: one of [gold, standard])"), missing.body());
        HttpResponse<String> tooHeavy = call("PUT", "/api/v1/classes/gold/weight", "{\"weight\":1001}", true);
        assertEquals(400, tooHeavy.statusCode());
        assertTrue(tooHeavy.body().contains("weight: 1001 (expected: an integer 1..1000)"), tooHeavy.body());

        HttpResponse<String> ok = call("PUT", "/api/v1/classes/gold/weight", "{\"weight\":12}", true);
        assertEquals(200, ok.statusCode(), ok.body());
        JsonNode v = JSON.readTree(ok.body());
        assertEquals(2, v.get("version").asLong());
        assertTrue(v.get("changed").asBoolean());
        assertEquals(12, server.store().current().config().clientClass("gold").weight());
        assertEquals(1, server.store().current().config().clientClass("standard").weight(), "other rings untouched");

        JsonNode entries = JSON.readTree(call("GET", "/api/v1/audit?limit=10", null, false).body()).get("entries");
        JsonNode last = entries.get(entries.size() - 1);
        assertEquals("class.weight", last.get("action").asText());
        assertTrue(last.get("who").asText().startsWith("tester@127.0.0.1"), last.toString());
        assertEquals(1, last.get("fromVersion").asLong());
        assertEquals(2, last.get("toVersion").asLong());
        assertEquals("clientClasses[gold].weight: 8 -> 12", last.get("detail").asText());
        assertEquals(400, call("GET", "/api/v1/audit?limit=0", null, false).statusCode());
    }

    @Test
    void rollbackNeedsAKeptVersion() throws Exception {
        call("PUT", "/api/v1/classes/gold/weight", "{\"weight\":3}", true);
        HttpResponse<String> unknown = call("POST", "/api/v1/config/rollback", "{\"version\":9}", true);
        assertEquals(404, unknown.statusCode());
        assertTrue(unknown.body().contains("version: 9 (expected: a kept version, 1..2)"), unknown.body());
        assertEquals(400, call("POST", "/api/v1/config/rollback", "{\"version\":\"1\"}", true).statusCode());
        assertEquals(400, call("POST", "/api/v1/config/rollback", "[1]", true).statusCode());
        HttpResponse<String> ok = call("POST", "/api/v1/config/rollback", "{\"version\":1}", true);
        assertEquals(200, ok.statusCode());
        assertEquals(3, JSON.readTree(ok.body()).get("version").asLong());
        assertEquals(server.store().version(1).sha256(), server.store().current().sha256());
        HttpResponse<String> again = call("POST", "/api/v1/config/rollback", "{\"version\":1}", true);
        assertFalse(JSON.readTree(again.body()).get("changed").asBoolean(), "already equal to version 1");
    }

    @Test
    void aCachePurgeIsForwardedToTheFrontEndsAndAudited() throws Exception {
        List<String> received = new CopyOnWriteArrayList<>();
        try (EventLoops loops = EventLoops.create("fake-fe", null, 1)) {
            AdminServer fake = AdminServer.builder(new Metrics())
                    .route("POST", ManagersServer.PURGE_PATH, req -> {
                        received.add(req.bodyText() + " " + req.headers().get("Authorization"));
                        return CompletableFuture.completedFuture(AdminServer.Response.json(200, "{\"purged\":3}"));
                    })
                    .bind(loops, new InetSocketAddress("127.0.0.1", 0));
            try {
                // The front-end tells the managers where its admin endpoint really is.
                String rep = report("front-end", 1, 0.1).replace("{\"role\"",
                        "{\"admin\":\"127.0.0.1:" + fake.localAddress().getPort() + "\",\"role\"");
                assertEquals(200, call("POST", "/api/v1/nodes/fe-1/report", rep, true).statusCode());
                HttpResponse<String> r = call("POST", "/api/v1/cache/purge", "{\"prefix\":\"/img/\"}", true);
                assertEquals(200, r.statusCode(), r.body());
                JsonNode fe = JSON.readTree(r.body()).get("frontEnds").get(0);
                assertEquals("fe-1", fe.get("name").asText());
                assertEquals(200, fe.get("status").asInt());
                assertEquals(3, fe.get("body").get("purged").asInt());
                assertEquals(List.of("{\"prefix\":\"/img/\"} Bearer " + TOKEN), received);
                assertEquals(404, call("POST", "/api/v1/cache/purge?frontEnd=fe-7", "{}", true).statusCode());
                JsonNode entries = JSON.readTree(call("GET", "/api/v1/audit", null, false).body()).get("entries");
                assertEquals("cache.purge", entries.get(entries.size() - 1).get("action").asText());
            } finally {
                fake.close();
            }
        }
    }

    @Test
    void theConsoleAndItsChartLibraryAreServedFromTheClassPath() throws Exception {
        HttpResponse<String> page = call("GET", "/console", null, false);
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("/console/lib/chart.umd.js"));
        HttpResponse<String> chart = call("GET", "/console/lib/chart.umd.js", null, false);
        assertEquals(200, chart.statusCode());
        assertTrue(chart.body().contains("Chart.js"), "the Chart.js bundle");
        assertEquals(200, call("GET", "/console/console.js", null, false).statusCode());
        assertEquals(404, call("GET", "/console/../pom.xml", null, false).statusCode());
    }
}
