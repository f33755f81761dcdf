package dev.braid.frontend;

import dev.braid.backend.BackEnd;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The smallest whole request path for integration tests: site {@code shop}
 * ({@code www.shop.example}) in front of one origin, back-end {@code be-1} and front-end
 * {@code fe-1} linked to it, all on 127.0.0.1 ephemeral ports. {@link GatewayFixture} is the
 * larger one (several back-ends, a {@link TestOrigin}, limits).
 */
final class LinkedNodes {

    private LinkedNodes() {
    }

    /** The configuration of the one site, its origin on {@code originPort}, with these classes. */
    static BraidConfig oneSite(int originPort, List<ClientClass> classes) {
        return new BraidConfig(
                List.of(new Site("shop", List.of("www.shop.example"), null,
                        List.of(new Origin("o1", "http://127.0.0.1:" + originPort, null, null, null)))),
                List.of(new FrontEndNode("fe-1", "127.0.0.1:0", "127.0.0.1", null, null, null, List.of("shop"),
                        List.of("be-1"))),
                List.of(new BackEndNode("be-1", "127.0.0.1:0", null, List.of("shop"))),
                classes, null, null, null);
    }

    /**
     * Starts {@code be-1}, then {@code fe-1} with the back-end's bound port in its configuration,
     * adds both to {@code resources} (closed by the caller, last first), and waits up to 5 s for
     * the link.
     */
    static FrontEnd start(EventLoops loops, BraidConfig config, Metrics frontEndMetrics, List<AutoCloseable> resources) {
        BackEnd be = BackEnd.start(new BackEnd.Options("be-1", new InetSocketAddress("127.0.0.1", 0), loops,
                new Metrics(), config));
        resources.add(be);
        BraidConfig withPort = new BraidConfig(config.sites(), config.frontEnds(),
                List.of(new BackEndNode("be-1", "127.0.0.1:" + be.localAddress().getPort(), null, List.of("shop"))),
                config.clientClasses(), null, null, null);
        FrontEnd fe = FrontEnd.start(new FrontEnd.Options("fe-1", new InetSocketAddress("127.0.0.1", 0), loops,
                frontEndMetrics, withPort));
        resources.add(fe);
        assertTrue(fe.awaitLinks(Duration.ofSeconds(5)), "link fe-1 -> be-1 within 5 s");
        return fe;
    }

    /**
     * Closes what a test started, newest first, then stops its origin server and the origin's
     * threads (each may be null: the test may have failed before starting them).
     */
    static void closeAll(List<AutoCloseable> resources, com.sun.net.httpserver.HttpServer origin,
                         java.util.concurrent.ExecutorService originThreads) throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        if (origin != null) {
            origin.stop(0);
        }
        if (originThreads != null) {
            originThreads.shutdownNow();
        }
    }
}
