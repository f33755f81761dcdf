package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.TestConfigs;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(PooledMemoryBaseline.class)
class ManagersServerIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "t0ken-for-tests";

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final List<ManagersServer> servers = new ArrayList<>();

    @AfterEach
    void closeServers() {
        servers.forEach(ManagersServer::close);
    }

    private ManagersServer start(String token) throws IOException {
        ManagersServer server = ManagersServer.start(ManagersServer.Options.builder()
                .config(TestConfigs.example())
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .token(token)
                .build());
        servers.add(server);
        return server;
    }

    private static URI uri(ManagersServer server, String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + server.localAddress().getPort() + pathAndQuery);
    }

    private HttpResponse<String> get(ManagersServer server, String pathAndQuery) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(server, pathAndQuery)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> put(ManagersServer server, String body, String contentType, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(server, "/api/v1/config"))
                .timeout(Duration.ofSeconds(20))
                .PUT(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    private static List<String> errors(HttpResponse<String> r) throws IOException {
        List<String> list = new ArrayList<>();
        json(r).get("errors").forEach(e -> list.add(e.asText()));
        return list;
    }

    @Test
    void getAnswersTheCurrentVersionAndItsConfiguration() throws Exception {
        ManagersServer server = start(null);
        HttpResponse<String> r = get(server, "/api/v1/config");
        assertEquals(200, r.statusCode());
        assertEquals("application/json", r.headers().firstValue("content-type").orElseThrow());
        assertEquals("1", r.headers().firstValue(ManagersServer.VERSION_HEADER).orElseThrow());
        VersionedConfig v = VersionedConfig.parseJson(r.body());
        assertEquals(server.store().current(), v);
        assertEquals(TestConfigs.example(), v.config());
        assertEquals(VersionedConfig.sha256Of(TestConfigs.example()), json(r).get("sha256").asText());

        JsonNode version = json(get(server, "/api/v1/version"));
        assertEquals(1, version.get("version").asLong());
        assertEquals(v.sha256(), version.get("sha256").asText());
        assertFalse(version.has("config"));
    }

    @Test
    void putAppliesJsonAndYamlAndSkipsIdenticalContent() throws Exception {
        ManagersServer server = start(null);
        BraidConfig b = TestConfigs.exampleWithGoldWeight(20);

        HttpResponse<String> r = put(server, ConfigLoader.toJson(b), "application/json", ManagersServer.AUTHOR_HEADER, "alice");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(2, json(r).get("version").asLong());
        assertTrue(json(r).get("changed").asBoolean());
        assertEquals("alice@127.0.0.1", json(r).get("author").asText());
        assertEquals(b, server.store().current().config());

        HttpResponse<String> same = put(server, ConfigLoader.toYaml(b), "application/yaml");
        assertEquals(200, same.statusCode(), same.body());
        assertEquals(2, json(same).get("version").asLong());
        assertFalse(json(same).get("changed").asBoolean());

        // No content type: the notation is read from the content.
        HttpResponse<String> yaml = put(server, TestConfigs.exampleYaml(), null);
        assertEquals(200, yaml.statusCode(), yaml.body());
        assertEquals(3, json(yaml).get("version").asLong());
        assertEquals("api@127.0.0.1", json(yaml).get("author").asText());

        JsonNode history = json(get(server, "/api/v1/config/history")).get("versions");
        assertEquals(3, history.size());
        assertEquals("alice@127.0.0.1", history.get(1).get("author").asText());
        assertEquals(3, history.get(2).get("version").asLong());
    }

    @Test
    void putRefusesAnInvalidConfigurationWithEveryReason() throws Exception {
        ManagersServer server = start(null);
        VersionedConfig before = server.store().current();

        HttpResponse<String> invalid = put(server, TestConfigs.exampleYaml()
                .replace("weight: 8", "weight: 0")
                .replace("ring: 2", "ring: 9"), "application/yaml");
        assertEquals(400, invalid.statusCode());
        assertEquals(List.of("clientClasses[0].weight: 0 (expected: 1..1000)",
                "clientClasses[1].ring: 9 (expected: 0..4, a ring of tmp.ringWeights)"), errors(invalid));

        HttpResponse<String> unknown = put(server, "{\"sites\": [], \"frontends\": []}", "application/json");
        assertEquals(400, unknown.statusCode());
        assertEquals(List.of("frontends: unknown field (expected one of: sites, frontEnds, backEnds, clientClasses, "
                + "redirectors, managers, tmp, dns, regions)"), errors(unknown));

        HttpResponse<String> empty = put(server, "", "application/json");
        assertEquals(400, empty.statusCode());
        assertTrue(errors(empty).get(0).startsWith("(root): empty document"), empty.body());

        assertEquals(before, server.store().current());
        String metrics = get(server, "/metrics").body();
        assertTrue(metrics.contains("braid_managers_config_changes_total{result=\"rejected\"} 3"), metrics);
        assertTrue(metrics.contains("braid_managers_config_changes_total{result=\"accepted\"} 0"), metrics);
        assertTrue(metrics.contains("braid_managers_config_version 1\n"), metrics);
    }

    @Test
    void writesNeedTheBearerTokenWhenOneIsConfigured() throws Exception {
        ManagersServer server = start(TOKEN);
        String body = ConfigLoader.toJson(TestConfigs.exampleWithGoldWeight(30));

        HttpResponse<String> none = put(server, body, "application/json");
        assertEquals(401, none.statusCode());
        assertEquals("Bearer realm=\"braid-managers\"", none.headers().firstValue("www-authenticate").orElseThrow());
        assertEquals(List.of("authorization: missing (expected: Bearer <token>)"), errors(none));

        HttpResponse<String> basic = put(server, body, "application/json", "Authorization", "Basic dXNlcjpwYXNz");
        assertEquals(401, basic.statusCode());

        HttpResponse<String> wrong = put(server, body, "application/json", "Authorization", "Bearer wrong");
        assertEquals(403, wrong.statusCode());
        assertFalse(wrong.body().contains(TOKEN));
        assertEquals(1, server.store().current().version());

        HttpResponse<String> right = put(server, body, "application/json", "Authorization", "Bearer " + TOKEN);
        assertEquals(200, right.statusCode(), right.body());
        assertEquals(2, server.store().current().version());

        assertEquals(200, get(server, "/api/v1/config").statusCode(), "reads need no token");
    }

    @Test
    void aLongPollWakesSoonAfterAChange() throws Exception {
        ManagersServer server = start(null);
        CompletableFuture<HttpResponse<String>> poll = http.sendAsync(
                HttpRequest.newBuilder(uri(server, "/api/v1/config?after=1&timeoutMs=30000")).build(),
                HttpResponse.BodyHandlers.ofString());
        Eventually.await(Duration.ofSeconds(10), "the long poll to wait at the store", () -> server.store().waiting() == 1);
        assertFalse(poll.isDone());
        assertTrue(get(server, "/metrics").body().contains("braid_managers_config_watchers 1\n"));

        long putAt = System.nanoTime();
        HttpResponse<String> put = put(server, ConfigLoader.toJson(TestConfigs.exampleWithGoldWeight(40)), "application/json");
        assertEquals(200, put.statusCode(), put.body());
        HttpResponse<String> woken = poll.get(10, TimeUnit.SECONDS);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - putAt);

        assertEquals(200, woken.statusCode());
        assertEquals(2, VersionedConfig.parseJson(woken.body()).version());
        assertTrue(elapsedMs < 2_000, "long poll answered " + elapsedMs + " ms after the change");
        assertEquals(0, server.store().waiting());
    }

    @Test
    void aLongPollWithoutChangeEndsWith304AfterItsTimeout() throws Exception {
        ManagersServer server = start(null);
        long start = System.nanoTime();
        HttpResponse<String> r = get(server, "/api/v1/config?after=1&timeoutMs=200");
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(304, r.statusCode());
        assertEquals("1", r.headers().firstValue(ManagersServer.VERSION_HEADER).orElseThrow());
        assertTrue(elapsedMs >= 150, "answered after " + elapsedMs + " ms");
        Eventually.await(Duration.ofSeconds(5), "the timed-out waiter to be forgotten", () -> server.store().waiting() == 0);
    }

    @Test
    void aLongPollForAnOtherVersionIsAnsweredAtOnce() throws Exception {
        ManagersServer server = start(null);
        assertEquals(1, VersionedConfig.parseJson(get(server, "/api/v1/config?after=0&timeoutMs=30000").body()).version());
        // A node ahead of the managers (they lost their state) gets the managers' version at once.
        assertEquals(1, VersionedConfig.parseJson(get(server, "/api/v1/config?after=7&timeoutMs=30000").body()).version());
    }

    @Test
    void badPollParametersAreRefused() throws Exception {
        ManagersServer server = start(null);
        assertEquals(List.of("after: abc (expected: a version number >= 0)"), errors(get(server, "/api/v1/config?after=abc")));
        assertEquals(List.of("after: -1 (expected: a version number >= 0)"), errors(get(server, "/api/v1/config?after=-1")));
        assertEquals(List.of("timeoutMs: 60001 (expected: 0..60000)"),
                errors(get(server, "/api/v1/config?after=1&timeoutMs=60001")));
        assertEquals(List.of("timeoutMs: 5 (expected: only with after)"), errors(get(server, "/api/v1/config?timeoutMs=5")));
        assertEquals(405, http.send(HttpRequest.newBuilder(uri(server, "/api/v1/config"))
                .DELETE().build(), HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    @Test
    void closingAnswersWaitingLongPolls() throws Exception {
        ManagersServer server = start(null);
        CompletableFuture<HttpResponse<String>> poll = http.sendAsync(
                HttpRequest.newBuilder(uri(server, "/api/v1/config?after=1&timeoutMs=30000")).build(),
                HttpResponse.BodyHandlers.ofString());
        Eventually.await(Duration.ofSeconds(10), "the long poll to wait", () -> server.store().waiting() == 1);
        server.close();
        HttpResponse<String> r;
        try {
            r = poll.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            // The event loops may close the connection before the 503 is written; either way the poll ends.
            assertTrue(e.getCause() instanceof IOException, e.toString());
            return;
        }
        assertEquals(503, r.statusCode());
    }

    @Test
    void theInitialConfigurationMayComeFromAFileAndMustBeValid(@TempDir Path dir)
            throws Exception {
        Path file = Files.writeString(dir.resolve("braid.yaml"), TestConfigs.exampleYaml());
        ManagersServer server = ManagersServer.start(ManagersServer.Options.builder()
                .configFile(file).listen(new InetSocketAddress("127.0.0.1", 0)).build());
        servers.add(server);
        assertEquals(TestConfigs.example(), server.store().current().config());
        assertEquals(file.toString(), server.store().current().author());

        Path bad = Files.writeString(dir.resolve("bad.yaml"),
                TestConfigs.exampleYaml().replace("weight: 8", "weight: 0"));
        ConfigException e = assertThrows(ConfigException.class, () -> ManagersServer.start(ManagersServer.Options.builder()
                        .configFile(bad).listen(new InetSocketAddress("127.0.0.1", 0)).build()));
        assertEquals(List.of("clientClasses[0].weight: 0 (expected: 1..1000)"), e.errors());
    }

    @Test
    void aFailedBindReleasesTheStateDirectory(@TempDir Path dir) throws Exception {
        ManagersServer taken = start(null);
        assertThrows(IOException.class, () -> ManagersServer.start(ManagersServer.Options.builder()
                .config(TestConfigs.example()).stateDir(dir).listen(taken.localAddress()).build()));
        ConfigStore.open(dir).close();
    }
}
