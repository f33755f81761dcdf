package dev.braid.frontend;

import dev.braid.backend.BackEnd;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.GatewayLimits;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.QueueSettings;
import dev.braid.managers.config.Site;
import dev.braid.managers.config.TmpSettings;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One front-end with links to {@code n} back-ends of the site {@code www.shop.example}, in front of
 * a {@link TestOrigin}, all on 127.0.0.1 ephemeral ports: for integration tests of the whole
 * request path. Closing it closes everything it started, event loops included.
 */
final class GatewayFixture implements AutoCloseable {

    static final String HOST = "www.shop.example";

    final EventLoops loops;
    final TestOrigin origin;
    final List<BackEnd> backEnds = new ArrayList<>();
    final Metrics frontEndMetrics = new Metrics();
    final Metrics backEndMetrics = new Metrics();
    final FrontEnd frontEnd;

    GatewayFixture(Transport transport, int threads, int backEndCount, int capacity) {
        this(transport, threads, backEndCount, capacity, null);
    }

    /** @param carrier the TMP carrier ({@code tcp} or {@code udp}), null for the default */
    GatewayFixture(Transport transport, int threads, int backEndCount, int capacity, String carrier) {
        loops = EventLoops.create("it", transport, threads);
        try {
            origin = new TestOrigin(loops);
            // The back-end may queue a request for every client connection the front-end takes.
            List<Site> sites = List.of(new Site("shop", List.of(HOST), null,
                    List.of(new Origin("o1", "http://127.0.0.1:" + origin.port(), null, null, 256)), null,
                    new QueueSettings(2 * capacity, 30_000, null)));
            List<ClientClass> classes = List.of(new ClientClass("standard", 0, 1, List.of()));
            List<String> names = new ArrayList<>();
            List<BackEndNode> nodes = new ArrayList<>();
            for (int i = 1; i <= backEndCount; i++) {
                names.add("be-" + i);
                nodes.add(new BackEndNode("be-" + i, "127.0.0.1:0", null, List.of("shop")));
            }
            // The class bound stays above the connection capacity: every connection may have a request in flight.
            GatewayLimits limits = new GatewayLimits(null, null, null, null, null, null, null,
                    Math.max(GatewayLimits.DEFAULT_MAX_CLASS_REQUESTS, 2 * capacity));
            FrontEndNode fe = new FrontEndNode("fe-1", "127.0.0.1:0", "127.0.0.1", null, null, capacity,
                    List.of("shop"), names, null, limits, null, null, null);
            TmpSettings tmp = carrier == null ? null
                    : new TmpSettings(null, null, null, null, null, carrier, null);
            BraidConfig draft = new BraidConfig(sites, List.of(fe), nodes, classes, null, null, tmp);
            List<BackEndNode> bound = new ArrayList<>();
            for (BackEndNode n : nodes) {
                BackEnd be = BackEnd.start(new BackEnd.Options(n.name(), new InetSocketAddress("127.0.0.1", 0), loops,
                        backEndMetrics, draft));
                backEnds.add(be);
                bound.add(new BackEndNode(n.name(), "127.0.0.1:" + be.localAddress().getPort(), null, n.sites()));
            }
            BraidConfig config = new BraidConfig(sites, List.of(fe), bound, classes, null, null, tmp);
            frontEnd = FrontEnd.start(new FrontEnd.Options("fe-1", new InetSocketAddress("127.0.0.1", 0), loops,
                    frontEndMetrics, config));
            if (!frontEnd.awaitLinks(Duration.ofSeconds(5))) {
                throw new IllegalStateException("links to the back-ends did not come up within 5 s");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    int port() {
        return frontEnd.localAddress().getPort();
    }

    @Override
    public void close() {
        if (frontEnd != null) {
            frontEnd.close();
        }
        for (BackEnd be : backEnds) {
            be.close();
        }
        if (origin != null) {
            origin.close();
        }
        loops.close();
    }
}
