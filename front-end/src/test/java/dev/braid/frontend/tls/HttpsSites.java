package dev.braid.frontend.tls;

import dev.braid.backend.BackEnd;
import dev.braid.frontend.FrontEnd;
import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.CertificateFiles;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.HttpsSettings;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.PkiSettings;
import dev.braid.managers.config.Site;
import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two sites behind one front-end with client-facing TLS, for the integration tests of HTTPS:
 * site {@code shop} ({@code www.shop.example}, {@code shop.example}) and site {@code blog}
 * ({@code www.blog.example}), each with its own certificate from a {@link SiteCertificateFactory}
 * root, front-end {@code fe-1} (HTTP and HTTPS on 127.0.0.1 ephemeral ports) linked to back-end
 * {@code be-1}, both with identities from a Braid CA (so the TMP link runs TLS over TCP).
 * Certificate files are checked for changes every second.
 */
final class HttpsSites implements AutoCloseable {

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final SiteCertificateFactory web;
    private final Path nodes;
    private final Metrics frontEndMetrics = new Metrics();
    private CertificateFiles shopTls;
    private CertificateFiles blogTls;
    private BraidConfig config;
    private BackEnd backEnd;
    private FrontEnd frontEnd;

    private HttpsSites(Path dir) throws Exception {
        web = new SiteCertificateFactory();
        nodes = dir.resolve("pki");
    }

    /**
     * Starts the back-end and the front-end, and waits up to 5 s for their link.
     *
     * @param dir         where certificates, keys and the CA go
     * @param shopOrigin  the origin of site {@code shop}, e.g. {@code http://127.0.0.1:8000}
     * @param blogOrigin  the origin of site {@code blog}
     */
    static HttpsSites start(Path dir, String shopOrigin, String blogOrigin) throws Exception {
        HttpsSites s = new HttpsSites(dir);
        try {
            s.startNodes(dir, shopOrigin, blogOrigin);
        } catch (Exception | AssertionError e) {
            try {
                s.close();
            } catch (Exception closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        return s;
    }

    private void startNodes(Path dir, String shopOrigin, String blogOrigin) throws Exception {
        shopTls = web.write(dir.resolve("sites"), "shop", "www.shop.example", "shop.example");
        blogTls = web.write(dir.resolve("sites"), "blog", "www.blog.example");
        try (CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), null, Duration.ofDays(365),
                Clock.systemUTC())) {
            ca.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(30), nodes);
            ca.issue(NodeRole.BACK_END, "be-1", Duration.ofDays(30), nodes);
        }

        EventLoops loops = EventLoops.create("https-sites", Transport.NIO, 2);
        resources.add(loops);
        List<Site> sites = List.of(
                new Site("shop", List.of("www.shop.example", "shop.example"), null,
                        List.of(new Origin("o1", shopOrigin, null, null, null)), shopTls),
                new Site("blog", List.of("www.blog.example"), null,
                        List.of(new Origin("o1", blogOrigin, null, null, null)), blogTls));
        PkiSettings pki = new PkiSettings(nodes + "/trust.pem", nodes + "/{name}.crt", nodes + "/{name}.key", null, 1);
        BraidConfig backEndConfig = new BraidConfig(sites, List.of(),
                List.of(new BackEndNode("be-1", "127.0.0.1:0", null, List.of("shop", "blog"))),
                List.of(new ClientClass("standard", 2, 1, List.of())), null, null, null, pki);
        backEnd = BackEnd.start(new BackEnd.Options("be-1", new InetSocketAddress("127.0.0.1", 0), loops,
                new Metrics(), backEndConfig));
        resources.add(backEnd);
        config = new BraidConfig(sites,
                List.of(new FrontEndNode("fe-1", "127.0.0.1:0", "127.0.0.1", "127.0.0.1:0", null, null,
                        List.of("shop", "blog"), List.of("be-1"), HttpsSettings.on("127.0.0.1:0"))),
                List.of(new BackEndNode("be-1", "127.0.0.1:" + backEnd.localAddress().getPort(), null,
                        List.of("shop", "blog"))),
                backEndConfig.clientClasses(), null, null, null, pki);
        assertEquals(List.of(), ConfigValidator.validate(config));
        frontEnd = FrontEnd.start(new FrontEnd.Options("fe-1", new InetSocketAddress("127.0.0.1", 0), loops,
                frontEndMetrics, config));
        resources.add(frontEnd);
        assertTrue(frontEnd.awaitLinks(Duration.ofSeconds(5)), "link fe-1 -> be-1 within 5 s");
    }

    /** The root the sites' certificates chain to, and the factory that writes new ones. */
    SiteCertificateFactory web() {
        return web;
    }

    /** Where the Braid CA put the nodes' identities and {@code trust.pem}. */
    Path nodes() {
        return nodes;
    }

    CertificateFiles shopTls() {
        return shopTls;
    }

    CertificateFiles blogTls() {
        return blogTls;
    }

    /** The configuration the front-end started with. */
    BraidConfig config() {
        return config;
    }

    FrontEnd frontEnd() {
        return frontEnd;
    }

    Metrics frontEndMetrics() {
        return frontEndMetrics;
    }

    int httpsPort() {
        return frontEnd.https().localAddress().getPort();
    }

    /** Stops the back-end now (the front-end loses its only link). */
    void stopBackEnd() throws Exception {
        resources.remove(backEnd);
        backEnd.close();
    }

    @Override
    public void close() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        resources.clear();
    }

    /** Closes {@code sites} (null when it never started), then each of {@code origins}, whichever of them fails. */
    static void close(HttpsSites sites, AutoCloseable... origins) throws Exception {
        try {
            if (sites != null) {
                sites.close();
            }
        } finally {
            for (AutoCloseable o : origins) {
                if (o != null) {
                    o.close();
                }
            }
        }
    }
}
