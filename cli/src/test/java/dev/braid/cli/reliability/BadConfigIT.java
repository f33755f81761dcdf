package dev.braid.cli.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.cli.reliability.MixedLoad.Kind;
import dev.braid.cli.reliability.MixedLoad.Outcome;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.ConfigWatcher;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad configurations meet a system under load (docs/testing.md, "Reliability"). The managers
 * refuse an invalid version whole, with every reason, and a document that does not parse, with
 * its line; no node moves. A version the managers accept but a running front-end cannot apply (it
 * no longer lists that front-end) is refused by the front-end alone, which keeps serving on the
 * version it runs and says why, while the back-end and the redirector move on; the next good
 * version is applied everywhere. Through all of it every client request is answered 200.
 *
 * <p>The other half of configuration safety, a crash in the middle of a write, is
 * {@code managers}' {@code StoreCrashIT}: a managers process killed at each step of a durable
 * write loses no acknowledged version and leaves no half one.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadConfigIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path state;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void badVersionsAreRefusedWithTheirReasonsAndTheRunningOneKeepsServing() throws Exception {
        try (ChaosSystem system = new ChaosSystem(Transport.NIO, "udp", state)) {
            await(() -> system.frontEndVersion.get() == 1 && system.backEndVersion.get() == 1
                    && system.redirectorVersion.get() == 1, "every node on version 1");
            MixedLoad load = new MixedLoad(system.frontEnd(), 4, Duration.ofSeconds(10), 20_000, "bad");
            List<Outcome> outcomes;
            try {
                String good = ConfigLoader.toYaml(system.config());

                // Invalid: refused whole by the managers, every reason named; nothing moves.
                HttpResponse<String> invalid = put(system, good.replace("weight: 8", "weight: 0")
                        .replace("publicAddress: 127.0.0.1", "publicAddress: localhost"));
                assertEquals(400, invalid.statusCode(), invalid.body());
                JsonNode errors = JSON.readTree(invalid.body()).get("errors");
                assertEquals(2, errors.size(), invalid.body());
                assertTrue(errors.toString().contains("clientClasses[0].weight: 0"), invalid.body());
                assertTrue(errors.toString().contains("frontEnds[0].publicAddress: localhost"), invalid.body());

                // Not even YAML (a write cut short): refused with the line.
                HttpResponse<String> cut = put(system, good.substring(0, good.indexOf("backEnds:")) + "backEnds:\n  - name: [");
                assertEquals(400, cut.statusCode(), cut.body());
                assertTrue(cut.body().contains("line"), cut.body());
                Thread.sleep(500);
                assertEquals(List.of(1L, 1L, 1L), versions(system), "front-end, back-end, redirector after two refusals");

                // Valid for the managers, impossible for the front-end: only the front-end keeps its version.
                String withoutFrontEnd = ConfigLoader.toYaml(new dev.braid.managers.config.BraidConfig(
                        system.config().sites(), List.of(), system.config().backEnds(), system.config().clientClasses(),
                        system.config().redirectors(), system.config().managers(), system.config().tmp(),
                        system.config().regions()));
                HttpResponse<String> accepted = put(system, withoutFrontEnd);
                assertEquals(200, accepted.statusCode(), accepted.body());
                await(() -> system.backEndVersion.get() == 2 && system.redirectorVersion.get() == 2
                        && system.frontEndRefusal() != null, "back-end and redirector on 2, the front-end's refusal");
                ConfigWatcher.Refusal refusal = system.frontEndRefusal();
                assertNotNull(refusal);
                assertEquals(2, refusal.version());
                assertTrue(refusal.reason().contains("fe-1"), refusal.reason());
                assertEquals(1, system.frontEndVersion.get(), "the front-end runs version 1 still");
                Thread.sleep(500);

                // The next good version reaches everyone.
                HttpResponse<String> fixed = put(system, good.replace("weight: 8", "weight: 9"));
                assertEquals(200, fixed.statusCode(), fixed.body());
                await(() -> versions(system).equals(List.of(3L, 3L, 3L)), "every node on version 3");
                Thread.sleep(500);
            } finally {
                outcomes = load.stop();
            }
            long ok = outcomes.stream().filter(o -> o.kind() == Kind.OK).count();
            List<Outcome> notOk = outcomes.stream().filter(o -> o.kind() != Kind.OK).toList();
            System.out.printf("bad configs under load: %d requests, %d answered 200, others: %s; front-end refusal: %s%n",
                    outcomes.size(), ok, notOk.stream().limit(5).toList(), system.frontEndRefusal());
            assertTrue(ok > 0, "requests ran");
            assertTrue(notOk.isEmpty(), () -> notOk.size() + " requests not answered 200: " + notOk.subList(0,
                    Math.min(5, notOk.size())));
            for (var e : system.origin.orders().entrySet()) {
                assertEquals(1, e.getValue().get(), "order " + e.getKey());
            }
        }
    }

    private static List<Long> versions(ChaosSystem system) {
        return List.of(system.frontEndVersion.get(), system.backEndVersion.get(), system.redirectorVersion.get());
    }

    private HttpResponse<String> put(ChaosSystem system, String yaml) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + system.managers().getPort()
                        + "/api/v1/config")).header("Content-Type", "application/yaml").timeout(Duration.ofSeconds(5))
                .PUT(HttpRequest.BodyPublishers.ofString(yaml)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(20);
        }
    }
}
