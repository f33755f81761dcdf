package dev.braid.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ManagersNode;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ops console in a real browser (headless Chromium, driven over the DevTools protocol): an
 * operator changes a class weight on the page, and the front-end of the running demo applies it —
 * its configuration version and its report to the managers say so, and the page shows it.
 */
@ExtendWith(PooledMemoryBaseline.class)
class ConsoleBrowserIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern VERSION = Pattern.compile("(?m)^braid_node_config_version (\\d+)$");

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static BraidConfig fastReports(BraidConfig c) {
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), c.clientClasses(), c.redirectors(),
                new ManagersNode(c.managers().listen(), 200, null, null), c.tmp(), c.regions());
    }

    @Test
    void aWeightChangedInTheConsoleIsAppliedByTheFrontEnd(@TempDir Path profile) throws Exception {
        Path browser = dev.braid.testing.Chromium.require("the console browser test");
        try (Demo demo = Demo.start(Demo.Ports.EPHEMERAL, Transport.NIO, ConsoleBrowserIT::fastReports)) {
            Process chrome = new ProcessBuilder(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-port=0", "about:blank")
                    .redirectErrorStream(true)
                    .redirectOutput(profile.resolve("chromium.log").toFile())
                    .start();
            try (DevTools page = DevTools.attach(http, profile, chrome)) {
                String console = "http://127.0.0.1:" + demo.managers().getPort() + "/console";
                page.call("Page.navigate", Map.of("url", console));
                page.await("the console lists the classes", "document.getElementById('class-weight-gold') !== null");
                page.await("the front-end shows version 1",
                        "(document.getElementById('node-front-end-fe-1-version') || {}).textContent === '1'");
                assertEquals(true, page.eval("typeof Chart === 'function' && Chart.getChart('chart-throughput') !== undefined"),
                        "the chart library from the WebJar drew the throughput chart");

                page.eval("(() => { const i = document.getElementById('class-weight-gold'); i.value = '12';"
                        + " document.getElementById('class-apply-gold').click(); return true; })()");
                page.await("the console confirms version 2",
                        "document.getElementById('message').textContent.includes('configuration version 2')");

                awaitTrue("the front-end runs version 2", () -> frontEndVersion(demo) == 2);
                page.await("the console shows the front-end on version 2",
                        "(document.getElementById('node-front-end-fe-1-version') || {}).textContent === '2'");
                JsonNode config = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(
                                "http://127.0.0.1:" + demo.managers().getPort() + "/api/v1/config")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
                for (JsonNode c : config.get("config").get("clientClasses")) {
                    if (c.get("name").asText().equals("gold")) {
                        assertEquals(12, c.get("weight").asInt());
                    }
                }
                JsonNode audit = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(
                                "http://127.0.0.1:" + demo.managers().getPort() + "/api/v1/audit")).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).get("entries");
                JsonNode last = audit.get(audit.size() - 1);
                assertEquals("class.weight", last.get("action").asText());
                assertTrue(last.get("who").asText().startsWith("console@"), last.toString());

                // A picture of the page as the operator saw it, for people reading the build's output.
                page.call("Emulation.setDeviceMetricsOverride", Map.of("width", 1400, "height", 1800,
                        "deviceScaleFactor", 1, "mobile", false));
                Thread.sleep(300);
                String png = page.call("Page.captureScreenshot", Map.of("format", "png")).get("data").asText();
                Files.createDirectories(Path.of("target"));
                Files.write(Path.of("target", "console.png"), java.util.Base64.getDecoder().decode(png));
            } finally {
                chrome.destroyForcibly();
                chrome.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private long frontEndVersion(Demo demo) throws Exception {
        String metrics = http.send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + demo.frontEndAdmin().getPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = VERSION.matcher(metrics);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void awaitTrue(String what, Check check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    @FunctionalInterface
    private interface Check {
        boolean ok() throws Exception;
    }

    /** A page driven over the Chrome DevTools protocol, on a java.net.http WebSocket. */
    private static final class DevTools implements AutoCloseable, WebSocket.Listener {
        private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        private final AtomicInteger ids = new AtomicInteger();
        private final StringBuilder partial = new StringBuilder();
        private WebSocket socket;

        static DevTools attach(HttpClient http, Path profile, Process chrome) throws Exception {
            Path portFile = profile.resolve("DevToolsActivePort");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(portFile) || Files.readAllLines(portFile).isEmpty()) {
                if (System.nanoTime() > deadline || !chrome.isAlive()) {
                    throw new AssertionError("chromium did not open its DevTools port:\n"
                            + Files.readString(profile.resolve("chromium.log")));
                }
                Thread.sleep(50);
            }
            int port = Integer.parseInt(Files.readAllLines(portFile).get(0).strip());
            JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body());
            String ws = null;
            for (JsonNode t : targets) {
                if (t.get("type").asText().equals("page")) {
                    ws = t.get("webSocketDebuggerUrl").asText();
                }
            }
            assertTrue(ws != null, "a page target: " + targets);
            DevTools d = new DevTools();
            d.socket = http.newWebSocketBuilder().buildAsync(URI.create(ws), d).get(10, TimeUnit.SECONDS);
            return d;
        }

        JsonNode call(String method, Map<String, Object> params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            pending.put(id, f);
            ObjectNode msg = JSON.createObjectNode();
            msg.put("id", id);
            msg.put("method", method);
            msg.set("params", JSON.valueToTree(params));
            socket.sendText(msg.toString(), true).get(5, TimeUnit.SECONDS);
            JsonNode answer = f.get(10, TimeUnit.SECONDS);
            if (answer.has("error")) {
                throw new AssertionError(method + ": " + answer.get("error"));
            }
            return answer.get("result");
        }

        Object eval(String expression) throws Exception {
            JsonNode r = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true,
                    "awaitPromise", true));
            if (r.has("exceptionDetails")) {
                throw new AssertionError(expression + ": " + r.get("exceptionDetails"));
            }
            return JSON.treeToValue(r.get("result").get("value"), Object.class);
        }

        void await(String what, String condition) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Boolean.TRUE.equals(eval(condition))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("timed out waiting until " + what + "; page: "
                            + eval("document.body ? document.body.innerText.slice(0, 2000) : ''"));
                }
                Thread.sleep(50);
            }
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                try {
                    JsonNode msg = JSON.readTree(partial.toString());
                    if (msg.has("id")) {
                        CompletableFuture<JsonNode> f = pending.remove(msg.get("id").asInt());
                        if (f != null) {
                            f.complete(msg);
                        }
                    }
                } catch (Exception e) {
                    pending.values().forEach(f -> f.completeExceptionally(e));
                }
                partial.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public void close() {
            if (socket != null) {
                socket.abort();
            }
        }
    }
}
