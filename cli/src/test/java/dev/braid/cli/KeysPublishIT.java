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

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code braid keys publish}: a revocation reaches the configuration every node watches, as a new version. */
@ExtendWith(PooledMemoryBaseline.class)
class KeysPublishIT {

    @TempDir
    Path dir;

    private String[] run(String... args) {
        return run(0, args);
    }

    private String[] run(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Braid.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        assertEquals(expectedExit, exit, err.toString());
        return new String[] {out.toString(), err.toString()};
    }

    /**
     * Stands in front of the managers and, before passing on each of the first {@code racing} PUTs,
     * has another operator change the configuration: the PUT then carries a stale version.
     */
    private static final class RacingOperator implements AutoCloseable {
        final HttpServer server;
        final AtomicInteger racesLeft;
        final AtomicInteger racesRun = new AtomicInteger();
        final List<String> ifMatches = new CopyOnWriteArrayList<>();

        RacingOperator(String managers, int racing) throws IOException {
            racesLeft = new AtomicInteger(racing);
            HttpClient http = HttpClient.newHttpClient();
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", ex -> {
                try {
                    byte[] body = ex.getRequestBody().readAllBytes();
                    if (ex.getRequestMethod().equals("PUT")) {
                        ifMatches.add(ex.getRequestHeaders().getFirst("If-Match"));
                        if (racesLeft.getAndDecrement() > 0) {
                            // Someone else changes the report interval meanwhile.
                            int n = racesRun.incrementAndGet();
                            BraidConfig other = ConfigLoader.parse("managers:\n  listen: 127.0.0.1:0\n  reportIntervalMs: "
                                    + (3000 + n) + "\n");
                            http.send(HttpRequest.newBuilder(URI.create(managers + "/api/v1/config"))
                                    .header("Content-Type", "application/json")
                                    .PUT(HttpRequest.BodyPublishers.ofString(ConfigLoader.toJson(other))).build(),
                                    HttpResponse.BodyHandlers.ofString());
                        }
                    }
                    HttpRequest.Builder forward = HttpRequest.newBuilder(URI.create(managers + ex.getRequestURI()))
                            .method(ex.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
                    for (String h : List.of("Content-Type", "If-Match", "Braid-Author")) {
                        String v = ex.getRequestHeaders().getFirst(h);
                        if (v != null) {
                            forward.header(h, v);
                        }
                    }
                    HttpResponse<byte[]> answer = http.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
                    ex.sendResponseHeaders(answer.statusCode(), answer.body().length == 0 ? -1 : answer.body().length);
                    if (answer.body().length > 0) {
                        ex.getResponseBody().write(answer.body());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    ex.sendResponseHeaders(500, -1);
                } finally {
                    ex.close();
                }
            });
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    private static VersionedConfig current(String managers) throws Exception {
        HttpResponse<String> got = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(managers + "/api/v1/config")).build(), HttpResponse.BodyHandlers.ofString());
        return VersionedConfig.parseJson(got.body());
    }

    @Test
    void aChangeMadeWhilePublishingIsKeptAndTheCrlsGoOnTopOfIt() throws Exception {
        String ca = dir.resolve("ca").toString();
        run("keys", "init", "--ca", ca);
        run("keys", "issue", "--ca", ca, "--role", "front-end", "--name", "fe-1");
        run("keys", "revoke", "--ca", ca, "fe-1");
        try (ManagersServer managers = ManagersServer.start(ManagersServer.Options.builder()
                .config(ConfigLoader.parse("managers:\n  listen: 127.0.0.1:0\n"))
                .listen(new InetSocketAddress("127.0.0.1", 0)).build());
             RacingOperator racing = new RacingOperator("http://127.0.0.1:" + managers.localAddress().getPort(), 1)) {
            String[] outErr = run("keys", "publish", "--ca", ca, "--managers", racing.url());
            assertEquals("published 1 CRL(s) as configuration version 3\n", outErr[0]);
            assertTrue(outErr[1].contains("configuration version 1 changed while publishing; reading it again"), outErr[1]);
            assertEquals(List.of("\"1\"", "\"2\""), racing.ifMatches);
            VersionedConfig v = current("http://127.0.0.1:" + managers.localAddress().getPort());
            assertEquals(3, v.version());
            assertEquals(3001, v.config().managers().reportIntervalMs(), "the other change is kept");
            assertEquals(1, v.config().pki().crls().size());
        }
    }

    @Test
    void publishingGivesUpWithAClearMessageWhenOthersKeepChangingTheConfiguration() throws Exception {
        String ca = dir.resolve("ca").toString();
        run("keys", "init", "--ca", ca);
        try (ManagersServer managers = ManagersServer.start(ManagersServer.Options.builder()
                .config(ConfigLoader.parse("managers:\n  listen: 127.0.0.1:0\n"))
                .listen(new InetSocketAddress("127.0.0.1", 0)).build());
             RacingOperator racing = new RacingOperator("http://127.0.0.1:" + managers.localAddress().getPort(), 10)) {
            String err = run(1, "keys", "publish", "--ca", ca, "--managers", racing.url(), "--attempts", "2")[1];
            assertTrue(err.contains("the configuration changed while publishing, 2 time(s) in a row (read versions "
                    + "[1, 2]); nothing was published"), err);
            VersionedConfig v = current("http://127.0.0.1:" + managers.localAddress().getPort());
            assertEquals(3, v.version(), "only the other operator's two changes");
            assertEquals(List.of(), v.config().pki().crls());
        }
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
