package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three managers processes on one etcd: one leads the assignment loop; killed with SIGKILL in the
 * middle of a stream of changes, another takes over within 10 s, and every change any of them
 * acknowledged is in the history the survivors serve, each under the version it was given.
 */
@ExtendWith(PooledMemoryBaseline.class)
class ManagersClusterIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int LEASE_SECONDS = 2;
    private static final long FAILOVER_BOUND_MS = 10_000;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private record Member(Process process, int port) {
    }

    @Test
    void killingTheLeaderMovesTheAssignmentLoopAndLosesNoAcceptedChange(@TempDir Path dir) throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start(dir)) {
            List<Member> members = new ArrayList<>();
            try {
                List<Process> started = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    started.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                            "-cp", System.getProperty("java.class.path"), "-XX:TieredStopAtLevel=1",
                            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                            ManagersClusterChild.class.getName(), etcd.client().toString(), "/cluster-it",
                            Integer.toString(LEASE_SECONDS))
                            .redirectErrorStream(true).start());
                }
                for (Process p : started) {
                    members.add(new Member(p, awaitPort(p)));
                }
                Member leader = awaitLeader(members, null);
                String leaderName = "127.0.0.1:" + leader.port();

                // Changes go to every member in turn while the leader dies.
                Map<Long, Integer> accepted = new ConcurrentHashMap<>();
                AtomicBoolean stop = new AtomicBoolean();
                Thread writer = new Thread(() -> {
                    for (int i = 1; i <= 600 && !stop.get() && accepted.size() < 90; i++) {
                        Member m = members.get(i % members.size());
                        int weight = 1 + i % 900;
                        try {
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                                            URI.create("http://127.0.0.1:" + m.port() + "/api/v1/classes/gold/weight"))
                                    .timeout(Duration.ofSeconds(5))
                                    .PUT(HttpRequest.BodyPublishers.ofString("{\"weight\":" + weight + "}")).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == 200) {
                                JsonNode v = JSON.readTree(r.body());
                                if (v.get("changed").asBoolean()) {
                                    accepted.put(v.get("version").asLong(), weight);
                                }
                            }
                            Thread.sleep(40);
                        } catch (InterruptedException e) {
                            return;
                        } catch (Exception e) {
                            // The killed member refuses connections: that change was never accepted.
                        }
                    }
                }, "cluster-writer");
                writer.start();
                Thread.sleep(1_000);
                long killedAt = System.nanoTime();
                leader.process().destroyForcibly();
                leader.process().waitFor(10, TimeUnit.SECONDS);
                List<Member> survivors = members.stream().filter(m -> m != leader).toList();
                Member next = awaitLeader(survivors, leaderName);
                long failoverMs = (System.nanoTime() - killedAt) / 1_000_000;
                System.out.printf("assignment loop moved from %s to 127.0.0.1:%d %d ms after the kill (lease %d s)%n",
                        leaderName, next.port(), failoverMs, LEASE_SECONDS);
                assertTrue(failoverMs < FAILOVER_BOUND_MS, "failover took " + failoverMs + " ms");
                Thread.sleep(1_000);
                stop.set(true);
                writer.join(10_000);

                // Every accepted change is in the survivors' history, under its version.
                assertTrue(accepted.size() > 10, "changes were accepted: " + accepted.size());
                long newest = accepted.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
                assertTrue(newest < 100, "all within the 100 versions kept");
                for (Member m : survivors) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (get(m, "/api/v1/version").get("version").asLong() < newest && System.nanoTime() < deadline) {
                        Thread.sleep(50);
                    }
                    Map<Long, Integer> weights = historyWeights(m, newest);
                    for (Map.Entry<Long, Integer> e : accepted.entrySet()) {
                        assertEquals(e.getValue(), weights.get(e.getKey()),
                                "version " + e.getKey() + " at 127.0.0.1:" + m.port());
                    }
                }
                JsonNode a = get(survivors.get(0), "/api/v1/version");
                JsonNode b = get(survivors.get(1), "/api/v1/version");
                assertEquals(a.get("sha256"), b.get("sha256"), "the survivors serve the same version");
                System.out.printf("%d changes accepted, newest version %d; survivors at version %d%n",
                        accepted.size(), newest, a.get("version").asLong());
            } finally {
                for (Member m : members) {
                    m.process().destroyForcibly();
                }
            }
        }
    }

    private static int awaitPort(Process p) throws Exception {
        BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        StringBuilder seen = new StringBuilder();
        String line;
        while (System.nanoTime() < deadline && (line = reader.readLine()) != null) {
            if (line.startsWith("LISTENING ")) {
                // Keep draining the child's output so it never blocks on a full pipe.
                Thread drain = new Thread(() -> reader.lines().forEach(l -> { }), "drain");
                drain.setDaemon(true);
                drain.start();
                return Integer.parseInt(line.substring("LISTENING ".length()));
            }
            seen.append(line).append('\n');
        }
        throw new AssertionError("a managers process did not start:\n" + seen);
    }

    /** Waits until exactly one member says it leads (and it is not {@code notThis}). */
    private Member awaitLeader(List<Member> members, String notThis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            List<Member> leaders = new ArrayList<>();
            List<String> named = new ArrayList<>();
            for (Member m : members) {
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + m.port() + "/metrics")).timeout(Duration.ofSeconds(2))
                            .build(), HttpResponse.BodyHandlers.ofString());
                    if (r.body().contains("\nbraid_managers_leader 1\n")) {
                        leaders.add(m);
                    }
                    named.add(get(m, "/api/v1/state").path("leader").asText(null));
                } catch (Exception e) {
                    // Not up yet.
                }
            }
            // Followers learn the new leader's name on their next campaign attempt: wait until all agree.
            if (leaders.size() == 1 && !("127.0.0.1:" + leaders.get(0).port()).equals(notThis)
                    && named.stream().allMatch(n -> ("127.0.0.1:" + leaders.get(0).port()).equals(n))) {
                assertNotEquals(notThis, named.get(0));
                return leaders.get(0);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no single leader among " + members);
    }

    private JsonNode get(Member m, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + m.port() + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    /** Gold's weight in each version the member serves from its history. */
    private Map<Long, Integer> historyWeights(Member m, long newest) throws Exception {
        Map<Long, Integer> out = new HashMap<>();
        for (JsonNode v : get(m, "/api/v1/config/history").get("versions")) {
            long n = v.get("version").asLong();
            if (n <= newest) {
                JsonNode envelope = get(m, "/api/v1/config/versions/" + n);
                for (JsonNode c : envelope.get("config").get("clientClasses")) {
                    if (c.get("name").asText().equals("gold")) {
                        out.put(n, c.get("weight").asInt());
                    }
                }
            }
        }
        return out;
    }
}
