package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.braid.backend.TestFrontEnd.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** https origins: verified against the configured roots and the origin's address. */
@ExtendWith(PooledMemoryBaseline.class)
class TlsOriginIT {

    @Test
    void anOriginIsReachedOverTlsOnlyWithATrustedCertificateForItsAddress(@TempDir Path dir) throws Exception {
        X509Bundle root = new CertificateBuilder().subject("CN=Braid test root").setIsCertificateAuthority(true)
                .ecp256().buildSelfSigned();
        X509Bundle leaf = new CertificateBuilder().subject("CN=origin").addSanIpAddress("127.0.0.1").ecp256()
                .buildIssuedBy(root);
        X509Bundle otherRoot = new CertificateBuilder().subject("CN=Someone else").setIsCertificateAuthority(true)
                .ecp256().buildSelfSigned();
        X509Bundle wrongName = new CertificateBuilder().subject("CN=origin").addSanDnsName("other.example").ecp256()
                .buildIssuedBy(root);
        Path roots = Files.writeString(dir.resolve("roots.pem"), root.getCertificatePEM());
        Path otherRoots = Files.writeString(dir.resolve("other.pem"), otherRoot.getCertificatePEM());
        try (Rig rig = new Rig()) {
            TestOrigin good = tlsOrigin(rig, "good", leaf);
            TestOrigin misnamed = tlsOrigin(rig, "misnamed", wrongName);
            rig.start(Rig.config(List.of(origin("good", good, roots)), null));
            TestFrontEnd.Reply ok = rig.frontEnd.call(get("/secure"), 2);
            assertEquals(200, ok.status(), ok.error());
            assertEquals("good", ok.origin());
            assertEquals(1, good.arrivals.size());

            // The same server, but verified against roots its chain does not lead to.
            only(rig, origin("untrusted", good, otherRoots));
            TestFrontEnd.Reply untrusted = rig.frontEnd.call(get("/secure"), 2);
            assertEquals(502, untrusted.status());
            assertTrue(untrusted.error().startsWith("cannot connect to origin untrusted at https://127.0.0.1:"), untrusted.error());
            assertTrue(untrusted.error().contains("no other origin to retry on"), untrusted.error());
            assertEquals(1, good.arrivals.size(), "nothing is sent to an origin that was not verified");

            // A certificate from the trusted root, but for another name than the origin's address.
            only(rig, origin("misnamed", misnamed, roots));
            TestFrontEnd.Reply wrongHost = rig.frontEnd.call(get("/secure"), 2);
            assertEquals(502, wrongHost.status());
            assertTrue(wrongHost.error().startsWith("cannot connect to origin misnamed at https://127.0.0.1:"), wrongHost.error());
            assertEquals(0, misnamed.arrivals.size());
        }
    }

    private static Origin origin(String name, TestOrigin o, Path roots) {
        return new Origin(name, o.url(), null, null, null, null, null, null, null, null, roots.toString(), null);
    }

    private static void only(Rig rig, Origin origin) throws InterruptedException {
        rig.backEnd.update(Rig.config(List.of(origin), null));
        TestFrontEnd.await(() -> rig.backEnd.originStats().size() == 1
                && rig.backEnd.originStats().get(0).origin().equals(origin.name()), java.time.Duration.ofSeconds(5), "the update");
    }

    private static TestOrigin tlsOrigin(Rig rig, String name, X509Bundle cert) throws Exception {
        SslContext ssl = SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificatePath())
                .sslProvider(SslProvider.JDK).build();
        TestOrigin o = new TestOrigin(name, rig.originLoops, ssl);
        rig.origins.add(o);
        return o;
    }
}
