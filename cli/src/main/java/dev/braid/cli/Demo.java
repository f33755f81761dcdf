package dev.braid.cli;

import dev.braid.cli.demo.SampleOrigin;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClassRule;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.ManagersNode;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.runtime.Transport;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Everything in one JVM on loopback: a sample origin, a back-end, a front-end linked to it over
 * TMP, the redirector and the managers. Every node takes its configuration from the managers
 * over HTTP, exactly as separate processes would. A Braid CA made at start ({@link DemoPki})
 * gives the front-end and back-end their certificates, so TMP over TCP runs TLS as in production;
 * the CA and keys are deleted when the demo stops.
 */
public final class Demo implements AutoCloseable {

    /** Where the demo listens; {@link #EPHEMERAL} binds every port to 0 (for tests). */
    public record Ports(int origin, int backEnd, int backEndAdmin, int frontEnd, int frontEndAdmin, int dns,
                        int dnsAdmin, int managers) {
        public static final Ports DEFAULT = new Ports(8000, 7070, 7071, 8080, 8081, 5300, 5380, 9180);
        public static final Ports EPHEMERAL = new Ports(0, 0, 0, 0, 0, 0, 0, 0);
    }

    public static final String SITE_HOST = "www.shop.example";

    private final NodeRuntime runtime;
    private final DemoPki pki;
    private final InetSocketAddress origin;
    private final Nodes.Started backEnd;
    private final Nodes.Started managers;
    private final Nodes.Started frontEnd;
    private final Nodes.Started redirector;
    private final BraidConfig config;

    private Demo(Ports ports, Transport transport, UnaryOperator<BraidConfig> customize) throws Exception {
        runtime = new NodeRuntime("demo", transport);
        try {
            SampleOrigin sample = runtime.add(SampleOrigin.start(runtime.loops(), loopback(ports.origin())));
            origin = sample.localAddress();
            // Closed after every node (parts close last registered first): the keys outlive their users.
            pki = runtime.add(DemoPki.create(config(origin.getPort(), ports.backEnd(), ports)));
            // The back-end binds first so that the configuration can name its real port.
            BraidConfig bootstrap = customize.apply(pki.applyTo(config(origin.getPort(), ports.backEnd(), ports)));
            backEnd = Nodes.backEnd(runtime, bootstrap, "be-1", loopback(ports.backEnd()), loopback(ports.backEndAdmin()),
                    null);
            config = customize.apply(pki.applyTo(config(origin.getPort(), backEnd.traffic().getPort(), ports)));
            managers = Nodes.managers(runtime, config, loopback(ports.managers()), null, null);
            URI managersUri = URI.create("http://127.0.0.1:" + managers.admin().getPort());
            // The back-end started before the managers; from here on it follows them too.
            Nodes.watch(runtime, managersUri, backEnd);
            frontEnd = Nodes.frontEnd(runtime, config, "fe-1", loopback(ports.frontEnd()),
                    loopback(ports.frontEndAdmin()), managersUri);
            redirector = Nodes.redirector(runtime, new VersionedConfig(1, config, java.time.Instant.now(),
                            VersionedConfig.sha256Of(config)), "rd-1", loopback(ports.dns()), loopback(ports.dnsAdmin()),
                    managersUri);
        } catch (Exception | Error e) {
            runtime.close();
            throw e;
        }
    }

    public static Demo start(Ports ports, Transport transport) throws Exception {
        return new Demo(ports, transport, UnaryOperator.identity());
    }

    /** Starts the demo with its configuration changed by {@code customize} (for tests and experiments). */
    public static Demo start(Ports ports, Transport transport, UnaryOperator<BraidConfig> customize) throws Exception {
        return new Demo(ports, transport, customize);
    }

    /** The demo's configuration: one site, one front-end, one back-end, two client classes. */
    static BraidConfig config(int originPort, int backEndPort, Ports ports) {
        return new BraidConfig(
                List.of(new Site("shop", List.of(SITE_HOST, "shop.example"), 20,
                        List.of(new Origin("origin-1", "http://127.0.0.1:" + originPort, "primary", 0, 256)))),
                List.of(new FrontEndNode("fe-1", "127.0.0.1:" + ports.frontEnd(), "127.0.0.1",
                        "127.0.0.1:" + ports.frontEndAdmin(), "local", 10_000, List.of("shop"), List.of("be-1"))),
                List.of(new BackEndNode("be-1", "127.0.0.1:" + backEndPort, "127.0.0.1:" + ports.backEndAdmin(),
                        List.of("shop"))),
                List.of(new ClientClass("gold", 0, 8, List.of(new ClassRule(null, null, "/checkout", null, null, null))),
                        new ClientClass("standard", 2, 1, List.of())),
                List.of(new RedirectorNode("rd-1", "127.0.0.1:" + ports.dns(), "127.0.0.1:" + ports.dnsAdmin(), 2)),
                new ManagersNode("127.0.0.1:" + ports.managers()),
                null);
    }

    private static InetSocketAddress loopback(int port) {
        return new InetSocketAddress("127.0.0.1", port);
    }

    public InetSocketAddress origin() {
        return origin;
    }

    public InetSocketAddress frontEnd() {
        return frontEnd.traffic();
    }

    public InetSocketAddress frontEndAdmin() {
        return frontEnd.admin();
    }

    public InetSocketAddress backEnd() {
        return backEnd.traffic();
    }

    public InetSocketAddress backEndAdmin() {
        return backEnd.admin();
    }

    public InetSocketAddress dns() {
        return redirector.traffic();
    }

    public InetSocketAddress dnsAdmin() {
        return redirector.admin();
    }

    public InetSocketAddress managers() {
        return managers.admin();
    }

    public BraidConfig config() {
        return config;
    }

    /** The demo's CA and node certificates. */
    public DemoPki pki() {
        return pki;
    }

    /** What runs where, for the console. */
    public String describe() {
        return String.join("\n",
                "Braid demo is running (all on loopback):",
                "  sample origin   http://" + hostPort(origin),
                "  back-end        TMP " + hostPort(backEnd.traffic()) + " (udp with Noise IK, tcp with TLS) admin http://" + hostPort(backEnd.admin()) + "/metrics",
                "  front-end       http://" + hostPort(frontEnd.traffic()) + "        admin http://" + hostPort(frontEnd.admin()) + "/metrics",
                "  redirector      DNS " + hostPort(redirector.traffic()) + " (udp+tcp) admin http://" + hostPort(redirector.admin()) + "/metrics",
                "  managers        http://" + hostPort(managers.admin()) + "/api/v1/config",
                "  demo PKI        " + pki.nodesDirectory() + " (TMP over TCP runs TLS 1.3 with these certificates;",
                "                  braid keys list --ca " + pki.caDirectory() + "; deleted on exit)",
                "Try:",
                "  curl -si http://" + hostPort(frontEnd.traffic()) + "/",
                "  curl -si -H 'Host: " + SITE_HOST + "' http://" + hostPort(frontEnd.traffic()) + "/objects/1m -o /dev/null -D -",
                "  dig @127.0.0.1 -p " + redirector.traffic().getPort() + " " + SITE_HOST,
                "Ctrl-C stops everything.");
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** Blocks until Ctrl-C or SIGTERM, then shuts everything down. */
    void runUntilStopped() throws InterruptedException {
        runtime.runUntilStopped();
    }

    @Override
    public void close() {
        runtime.close();
    }
}
