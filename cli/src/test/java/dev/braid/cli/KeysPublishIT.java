package dev.braid.cli;

import dev.braid.managers.ManagersServer;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code braid keys publish}: a revocation reaches the configuration every node watches, as a new version. */
@ExtendWith(PooledMemoryBaseline.class)
class KeysPublishIT {

    @TempDir
    Path dir;

    private String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Braid.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        assertEquals(0, exit, err.toString());
        return new String[] {out.toString(), err.toString()};
    }

    @Test
    void publishedCrlsBecomeANewConfigurationVersion() throws Exception {
        String ca = dir.resolve("ca").toString();
        run("keys", "init", "--ca", ca);
        run("keys", "issue", "--ca", ca, "--role", "front-end", "--name", "fe-1");
        run("keys", "revoke", "--ca", ca, "fe-1");
        Path token = Files.writeString(dir.resolve("token"), "s3cret\n");
        BraidConfig initial = ConfigLoader.parse("managers:\n  listen: 127.0.0.1:0\n");
        try (ManagersServer managers = ManagersServer.start(ManagersServer.Options.builder()
                .config(initial).listen(new InetSocketAddress("127.0.0.1", 0)).token("s3cret").build())) {
            String url = "http://127.0.0.1:" + managers.localAddress().getPort();
            String out = run("keys", "publish", "--ca", ca, "--managers", url, "--token-file", token.toString())[0];
            assertEquals("published 1 CRL(s) as configuration version 2\n", out);
            String again = run("keys", "publish", "--ca", ca, "--managers", url, "--token-file", token.toString())[0];
            assertEquals("the configuration already carries these CRLs (version 2)\n", again);

            HttpResponse<String> got = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(url + "/api/v1/config")).build(), HttpResponse.BodyHandlers.ofString());
            VersionedConfig v = VersionedConfig.parseJson(got.body());
            assertEquals(2, v.version());
            assertEquals(initial.managers(), v.config().managers(), "the rest of the configuration is kept");
            X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(
                    new java.io.ByteArrayInputStream(v.config().pki().crls().get(0).getBytes()));
            X509Certificate fe1 = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(Files.newInputStream(dir.resolve("ca/nodes/fe-1.crt")));
            assertNotNull(crl.getRevokedCertificate(fe1.getSerialNumber()));
            assertTrue(v.config().pki().crls().get(0).startsWith("-----BEGIN X509 CRL-----"));
        }
    }
}
