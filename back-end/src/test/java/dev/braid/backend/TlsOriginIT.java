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
            rig.start(Rig.config(List.of(
                    new Origin("good", good.url(), null, null, null, null, null, null, null, null, roots.toString(), null),
                    new Origin("untrusted", good.url(), "mirror", 1, null, null, null, null, null, null,
                            otherRoots.toString(), null),
                    new Origin("misnamed", misnamed.url(), "mirror", 2, null, null, null, null, null, null,
                            roots.toString(), null)), null));
            TestFrontEnd.Reply ok = rig.frontEnd.call(get("/secure"), 2);
            assertEquals(200, ok.status(), ok.error());
            assertEquals("good", ok.origin());

            good.kill();
            // The request fails to connect to "good", is sent once more (to "untrusted", whose roots do not
            // lead to the origin's certificate), and fails again: nothing is sent without verification.
            TestFrontEnd.Reply refused = rig.frontEnd.call(get("/secure"), 2);
            assertEquals(502, refused.status());
            assertTrue(refused.error().startsWith("cannot connect to origin good at https://127.0.0.1:"), refused.error());
            assertTrue(refused.error().contains("retried, then cannot connect to origin untrusted"), refused.error());
            assertEquals(0, misnamed.arrivals.size());
            // Only the origin whose certificate names another host: the handshake fails, and there is no other origin.
            rig.backEnd.update(Rig.config(List.of(new Origin("misnamed", misnamed.url(), null, null, null, null, null,
                    null, null, null, roots.toString(), null)), null));
            TestFrontEnd.await(() -> rig.backEnd.originStats().size() == 1, java.time.Duration.ofSeconds(5), "the update");
            TestFrontEnd.Reply wrongHost = rig.frontEnd.call(get("/secure"), 2);
            assertEquals(502, wrongHost.status());
            assertTrue(wrongHost.error().startsWith("cannot connect to origin misnamed at https://127.0.0.1:"), wrongHost.error());
            assertTrue(wrongHost.error().contains("no other origin to retry on"), wrongHost.error());
            assertEquals(0, misnamed.arrivals.size());
        }
    }

    private static TestOrigin tlsOrigin(Rig rig, String name, X509Bundle cert) throws Exception {
        SslContext ssl = SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificatePath())
                .sslProvider(SslProvider.JDK).build();
        TestOrigin o = new TestOrigin(name, rig.originLoops, ssl);
        rig.origins.add(o);
        return o;
    }
}
