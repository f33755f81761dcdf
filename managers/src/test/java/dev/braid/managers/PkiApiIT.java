package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.TestConfigs;
import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The managers' PKI-facing API: {@code GET /api/v1/pki/crl} serves the current configuration's
 * CRLs, and a configuration PUT with {@code If-Match} applies only to the version it names.
 */
@ExtendWith(PooledMemoryBaseline.class)
class PkiApiIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private ManagersServer server;

    @BeforeEach
    void start() throws Exception {
        server = ManagersServer.start(ManagersServer.Options.builder()
                .config(TestConfigs.example())
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .build());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> call(String method, String path, String body, String ifMatch) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.localAddress().getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (ifMatch != null) {
            b.header("If-Match", ifMatch);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static List<String> errors(HttpResponse<String> r) throws Exception {
        return JSON.convertValue(JSON.readTree(r.body()).get("errors"), List.class);
    }

    @Test
    void theCrlEndpointServesTheCurrentCrlsWithTheirVersion() throws Exception {
        HttpResponse<String> none = call("GET", ManagersServer.CRL_PATH, null, null);
        assertEquals(404, none.statusCode());
        assertEquals("1", none.headers().firstValue(ManagersServer.VERSION_HEADER).orElseThrow());
        assertEquals(List.of("pki.crls: [] in configuration version 1 (expected: at least one CRL; publish them with "
                + "braid keys publish)"), errors(none));

        List<String> crls;
        try (CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), null, Duration.ofDays(365),
                Clock.systemUTC())) {
            ca.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(30), dir.resolve("nodes"));
            ca.revoke("fe-1", "keyCompromise");
            crls = ca.crls();
        }
        BraidConfig withCrls = TestConfigs.example().withPki(TestConfigs.example().pki().withCrls(crls));
        assertEquals(200, call("PUT", "/api/v1/config", ConfigLoader.toJson(withCrls), null).statusCode());

        HttpResponse<String> got = call("GET", ManagersServer.CRL_PATH, null, null);
        assertEquals(200, got.statusCode(), got.body());
        assertEquals("2", got.headers().firstValue(ManagersServer.VERSION_HEADER).orElseThrow());
        assertEquals("application/x-pem-file", got.headers().firstValue("Content-Type").orElseThrow());
        X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(
                new ByteArrayInputStream(got.body().getBytes(StandardCharsets.US_ASCII)));
        assertEquals(1, crl.getRevokedCertificates().size());
        assertNotNull(crl.getIssuerX500Principal());
    }

    @Test
    void aConditionalPutAppliesOnlyToTheVersionItRead() throws Exception {
        HttpResponse<String> read = call("GET", "/api/v1/config", null, null);
        String etag = read.headers().firstValue("ETag").orElseThrow();
        assertEquals("\"1\"", etag);
        BraidConfig gold3 = TestConfigs.exampleWithGoldWeight(3);
        BraidConfig gold4 = TestConfigs.exampleWithGoldWeight(4);

        HttpResponse<String> first = call("PUT", "/api/v1/config", ConfigLoader.toJson(gold3), etag);
        assertEquals(200, first.statusCode(), first.body());
        assertEquals(2, JSON.readTree(first.body()).get("version").asLong());

        // A second writer that read version 1 too: refused, with what to do.
        HttpResponse<String> stale = call("PUT", "/api/v1/config", ConfigLoader.toJson(gold4), etag);
        assertEquals(ManagersServer.VERSION_CONFLICT, stale.statusCode());
        assertEquals("2", stale.headers().firstValue(ManagersServer.VERSION_HEADER).orElseThrow());
        assertEquals(List.of("If-Match: \"1\" (expected: the current version \"2\"; the configuration changed since "
                + "it was read: read it again, re-apply the change and retry)"), errors(stale));
        JsonNode current = JSON.readTree(call("GET", "/api/v1/config", null, null).body());
        assertEquals(2, current.get("version").asLong());

        HttpResponse<String> retried = call("PUT", "/api/v1/config", ConfigLoader.toJson(gold4), "\"2\"");
        assertEquals(200, retried.statusCode(), retried.body());
        assertEquals(3, JSON.readTree(retried.body()).get("version").asLong());
        assertTrue(server.metrics().scrape().contains("braid_managers_config_changes_total{result=\"conflict\"} 1"),
                server.metrics().scrape());

        HttpResponse<String> bad = call("PUT", "/api/v1/config", ConfigLoader.toJson(gold4), "\"abc\"");
        assertEquals(400, bad.statusCode());
        assertEquals(List.of("If-Match: \"abc\" (expected: one configuration version in quotes, such as \"7\", as the "
                + "ETag of GET /api/v1/config gives it)"), errors(bad));
    }
}
