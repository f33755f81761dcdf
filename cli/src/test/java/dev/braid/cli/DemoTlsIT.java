package dev.braid.cli;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.TmpSettings;
import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo with TMP on the TCP carrier: the link runs TLS with the certificates the demo's own CA
 * issued at start, requests travel it, and a revocation published to the managers reaches the
 * back-end with the next configuration version and closes the revoked front-end's link.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DemoTlsIT {

    private static BraidConfig tcpOnly(BraidConfig c) {
        TmpSettings t = c.tmp();
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), c.clientClasses(), c.redirectors(), c.managers(),
                new TmpSettings(t.packetBytes(), t.subPacketBytes(), t.blenderPolicy(), t.ringWeights(), t.rateLimitMbps(),
                        "tcp", t.congestionControl()), c.dns(), c.regions(), c.pki());
    }

    private static WireClient.Response get(Demo demo, String path) throws Exception {
        return WireClient.fetch(demo.frontEnd(), "GET " + path + " HTTP/1.1\r\nHost: " + Demo.SITE_HOST
                + "\r\nConnection: close\r\n\r\n", "GET");
    }

    private static double eventually(java.net.InetSocketAddress admin, String series, double atLeast) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        double v = Double.NaN;
        while (System.nanoTime() < deadline) {
            v = DemoSupport.sample(DemoSupport.scrape(admin), series);
            if (v >= atLeast) {
                return v;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(series + " = " + v + " after 20 s (expected: >= " + atLeast + ")");
    }

    @Test
    void theTcpLinkRunsTlsAndARevocationFromTheManagersClosesIt() throws Exception {
        Path pkiDir;
        try (Demo demo = Demo.start(Demo.Ports.EPHEMERAL, Transport.NIO, DemoTlsIT::tcpOnly)) {
            pkiDir = demo.pki().nodesDirectory();
            assertTrue(Files.isRegularFile(pkiDir.resolve("fe-1.crt")));
            assertTrue(Files.isRegularFile(pkiDir.resolve("be-1.key")));
            eventually(demo.frontEndAdmin(), "braid_link_info{peer=\"be-1\",carrier=\"tcp\",congestion_control=\"kernel\"}", 1);
            assertEquals(1, DemoSupport.sample(DemoSupport.scrape(demo.frontEndAdmin()), "braid_link_tcp_tls"));
            assertEquals(1, DemoSupport.sample(DemoSupport.scrape(demo.backEndAdmin()), "braid_link_tcp_tls"));
            WireClient.Response page = get(demo, "/");
            assertEquals(200, page.status(), page.toString());

            // Revoke the front-end and publish, as an operator would.
            try (CertificateAuthority ca = CertificateAuthority.open(demo.pki().caDirectory(), Clock.systemUTC())) {
                ca.revoke("fe-1", "keyCompromise");
            }
            String managers = "http://127.0.0.1:" + demo.managers().getPort();
            StringPrintWriter out = new StringPrintWriter();
            int exit = Braid.commandLine().setOut(out.writer()).setErr(out.writer())
                    .execute("keys", "publish", "--ca", demo.pki().caDirectory().toString(), "--managers", managers);
            assertEquals(0, exit, out.text());
            eventually(demo.backEndAdmin(),
                    "braid_link_peer_refused_total{carrier=\"tcp\",stage=\"recheck\",reason=\"revoked\"}", 1);
            // The front-end keeps trying; the back-end refuses every new handshake of the revoked certificate.
            eventually(demo.backEndAdmin(),
                    "braid_link_peer_refused_total{carrier=\"tcp\",stage=\"handshake\",reason=\"revoked\"}", 1);
            assertEquals(0, DemoSupport.sample(DemoSupport.scrape(demo.backEndAdmin()), "braid_backend_links"));
            HttpResponse<String> crl = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(managers + "/api/v1/pki/crl")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, crl.statusCode());
            assertTrue(crl.body().startsWith("-----BEGIN X509 CRL-----"), crl.body());
        }
        assertFalse(Files.exists(pkiDir), "the demo's keys are deleted when it stops");
    }

    /** Collects what a command prints. */
    private static final class StringPrintWriter {
        private final java.io.StringWriter text = new java.io.StringWriter();
        private final java.io.PrintWriter writer = new java.io.PrintWriter(text, true);

        java.io.PrintWriter writer() {
            return writer;
        }

        String text() {
            return text.toString();
        }
    }
}
