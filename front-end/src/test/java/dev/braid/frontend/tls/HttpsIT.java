package dev.braid.frontend.tls;

import com.sun.net.httpserver.HttpServer;
import dev.braid.frontend.FrontEnd;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.CertificateFiles;
import dev.braid.managers.config.Site;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A browser-grade client (the JDK's HttpClient: ALPN, SNI, host name verification against the
 * site's certificate) reaches two sites through a real front-end, TMP link, back-end and origin,
 * over HTTP/2 and HTTP/1.1; certificates are chosen by SNI and swapped without a restart.
 */
@ExtendWith(PooledMemoryBaseline.class)
class HttpsIT {

    @TempDir
    Path dir;
    private HttpServer origin;
    private HttpsSites sites;
    private SiteCertificateFactory web;
    private FrontEnd frontEnd;

    @BeforeEach
    void start() throws Exception {
        origin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        origin.createContext("/", ex -> {
            byte[] in = ex.getRequestBody().readAllBytes();
            String path = ex.getRequestURI().getPath();
            byte[] body = path.equals("/forwarded") || path.equals("/via")
                    ? String.join(", ", ex.getRequestHeaders().get(path.equals("/via") ? "Via" : "Forwarded"))
                    .getBytes(StandardCharsets.UTF_8)
                    : ("origin saw " + ex.getRequestMethod() + " " + ex.getRequestURI() + " host="
                    + ex.getRequestHeaders().getFirst("Host") + " body=" + in.length
                    + " h2headers=" + ex.getRequestHeaders().keySet().stream().anyMatch(h -> h.toLowerCase().startsWith("x-http2")))
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, "HEAD".equals(ex.getRequestMethod()) ? -1 : body.length);
            if (!"HEAD".equals(ex.getRequestMethod())) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }
            ex.close();
        });
        origin.start();
        String both = "http://127.0.0.1:" + origin.getAddress().getPort();
        sites = HttpsSites.start(dir, both, both);
        web = sites.web();
        frontEnd = sites.frontEnd();
    }

    @AfterEach
    void stop() throws Exception {
        HttpsSites.close(sites, () -> origin.stop(0));
    }

    private HttpClient client(HttpClient.Version version) throws Exception {
        return HttpClient.newBuilder().version(version).sslContext(web.clientContext()).build();
    }

    private URI uri(String host, String path) {
        return URI.create("https://" + host + ":" + frontEnd.https().localAddress().getPort() + path);
    }

    private static X509Certificate presented(HttpResponse<?> response) throws Exception {
        SSLSession session = response.sslSession().orElseThrow();
        return (X509Certificate) session.getPeerCertificates()[0];
    }

    private static List<String> dnsNames(X509Certificate cert) throws Exception {
        return cert.getSubjectAlternativeNames().stream().filter(n -> (Integer) n.get(0) == 2)
                .map(n -> (String) n.get(1)).toList();
    }

    @Test
    void aSiteIsReachedBySniOverHttp2AndHttp11() throws Exception {
        for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
            HttpClient client = client(version);
            HttpResponse<String> shop = client.send(HttpRequest.newBuilder(uri("www.shop.example", "/cart?x=1")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, shop.statusCode(), shop.body());
            assertEquals(version, shop.version());
            assertEquals("origin saw GET /cart?x=1 host=www.shop.example:" + frontEnd.https().localAddress().getPort()
                    + " body=0 h2headers=false", shop.body());
            assertEquals(List.of("www.shop.example", "shop.example"), dnsNames(presented(shop)));
            // The test origin's answer has no freshness information: looked up and fetched, not stored.
            assertEquals("MISS", shop.headers().firstValue("x-cache").orElseThrow());

            HttpResponse<String> blog = client.send(HttpRequest.newBuilder(uri("www.blog.example", "/")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, blog.statusCode(), blog.body());
            assertEquals(List.of("www.blog.example"), dnsNames(presented(blog)));
        }
    }

    @Test
    void theOriginLearnsThatTheClientCameOverHttps() throws Exception {
        for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
            HttpResponse<String> r = client(version).send(HttpRequest.newBuilder(uri("www.shop.example", "/forwarded"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("for=127.0.0.1;proto=https", r.body(), version.toString());
        }
        try (Socket plain = new Socket("127.0.0.1", frontEnd.localAddress().getPort())) {
            plain.getOutputStream().write(("GET /forwarded HTTP/1.1\r\nHost: www.shop.example\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = new String(plain.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
            assertTrue(answer.contains("for=127.0.0.1;proto=http") && !answer.contains("proto=https"), answer);
        }
    }

    @Test
    void viaTellsTheOriginWhichVersionTheClientSpoke() throws Exception {
        for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
            HttpResponse<String> r = client(version).send(HttpRequest.newBuilder(uri("www.shop.example", "/via"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(version, r.version());
            // An HTTP/2 request is converted to HTTP/1.1 inside the front-end; Via must still say 2.
            assertEquals((version == HttpClient.Version.HTTP_2 ? "2" : "1.1") + " fe-1, 1.1 be-1", r.body());
        }
    }

    @Test
    void http2CarriesBodiesAndManyStreamsOnOneConnection() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_2);
        String big = "x".repeat(300_000);
        HttpResponse<String> post = client.send(HttpRequest.newBuilder(uri("shop.example", "/checkout"))
                .POST(HttpRequest.BodyPublishers.ofString(big)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(HttpClient.Version.HTTP_2, post.version());
        assertTrue(post.body().startsWith("origin saw POST /checkout host=shop.example:") && post.body().contains(" body=300000 "),
                post.body());

        HttpResponse<String> head = client.send(HttpRequest.newBuilder(uri("shop.example", "/"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());

        List<CompletableFuture<HttpResponse<String>>> parallel = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            parallel.add(client.sendAsync(HttpRequest.newBuilder(uri("www.shop.example", "/item/" + i)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < parallel.size(); i++) {
            HttpResponse<String> r = parallel.get(i).get();
            assertEquals(200, r.statusCode());
            assertTrue(r.body().startsWith("origin saw GET /item/" + i + " "), r.body());
        }
    }

    @Test
    void aClientWithoutSniGetsTheFrontEndsOwnCertificate() throws Exception {
        SSLContext trustsBraid = web.clientContext(ca(sites.nodes().resolve("trust.pem")));
        try (SSLSocket socket = (SSLSocket) trustsBraid.getSocketFactory().createSocket("127.0.0.1",
                frontEnd.https().localAddress().getPort())) {
            socket.startHandshake();
            X509Certificate cert = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            assertEquals("CN=fe-1,OU=front-end,O=Braid", cert.getSubjectX500Principal().getName());
            assertTrue(socket.getSSLParameters().getServerNames() == null
                    || socket.getSSLParameters().getServerNames().isEmpty(), "no SNI was sent");
        }
        try (SSLSocket socket = (SSLSocket) trustsBraid.getSocketFactory().createSocket("127.0.0.1",
                frontEnd.https().localAddress().getPort())) {
            var params = socket.getSSLParameters();
            params.setServerNames(List.of(new SNIHostName("www.unknown.example")));
            socket.setSSLParameters(params);
            socket.startHandshake();
            X509Certificate cert = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            assertEquals("CN=fe-1,OU=front-end,O=Braid", cert.getSubjectX500Principal().getName(),
                    "a name no site of this front-end serves gets the default too");
        }
    }

    @Test
    void aRenewedCertificateServesNewConnectionsWhileOldOnesGoOn() throws Exception {
        HttpClient first = client(HttpClient.Version.HTTP_2);
        HttpResponse<String> before = first.send(HttpRequest.newBuilder(uri("www.shop.example", "/a")).build(),
                HttpResponse.BodyHandlers.ofString());
        BigInteger oldSerial = presented(before).getSerialNumber();

        web.write(dir.resolve("sites"), "shop", "www.shop.example", "shop.example");
        // The background check runs every second (pki.reloadCheckSeconds: 1); a direct call makes the moment certain.
        frontEnd.https().certificates().reloadIfChanged();
        BigInteger newSerial = frontEnd.https().certificates().certificateFor("www.shop.example").getSerialNumber();
        assertNotEquals(oldSerial, newSerial);

        HttpResponse<String> fresh = client(HttpClient.Version.HTTP_2).send(
                HttpRequest.newBuilder(uri("www.shop.example", "/b")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, fresh.statusCode());
        assertEquals(newSerial, presented(fresh).getSerialNumber(), "a new connection gets the new certificate");

        HttpResponse<String> reused = first.send(HttpRequest.newBuilder(uri("www.shop.example", "/c")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, reused.statusCode());
        assertEquals(oldSerial, presented(reused).getSerialNumber(), "the open connection is left as it was");
    }

    @Test
    void aConfigurationVersionSwapsCertificatesAndOneThatCannotBeLoadedIsRefused() throws Exception {
        CertificateFiles moved = web.write(dir.resolve("moved"), "shop", "www.shop.example", "shop.example");
        frontEnd.update(withShopTls(moved));
        HttpResponse<String> r = client(HttpClient.Version.HTTP_1_1).send(
                HttpRequest.newBuilder(uri("www.shop.example", "/")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(frontEnd.https().certificates().certificateFor("www.shop.example"), presented(r));

        CertificateFiles missing = new CertificateFiles(dir.resolve("missing.crt").toString(), moved.key());
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> frontEnd.update(withShopTls(missing)));
        assertTrue(refused.getMessage().startsWith("sites[shop].tls: "), refused.getMessage());
        assertEquals(200, client(HttpClient.Version.HTTP_2).send(HttpRequest.newBuilder(uri("www.shop.example", "/"))
                .build(), HttpResponse.BodyHandlers.ofString()).statusCode(), "still serving the version before");
    }

    @Test
    void errorsTheGatewayAnswersReachAnHttp2Client() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_2);
        assertEquals(200, client.send(HttpRequest.newBuilder(uri("www.shop.example", "/")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        sites.stopBackEnd();
        HttpResponse<String> r = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            r = client.send(HttpRequest.newBuilder(uri("www.shop.example", "/")).build(), HttpResponse.BodyHandlers.ofString());
            // A request caught on the link as it goes gets the 502 for a lost link; the next one finds no link.
            if (r.statusCode() == 502 && !r.body().contains("link to back-end be-1 lost")) {
                break;
            }
            Thread.sleep(50);
        }
        assertEquals(502, r.statusCode(), r.body());
        assertEquals(HttpClient.Version.HTTP_2, r.version());
        assertTrue(r.body().startsWith("502 Bad Gateway: no TMP link to a back-end of site shop is up"), r.body());
        assertEquals(502, client.send(HttpRequest.newBuilder(uri("www.shop.example", "/")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode(), "the connection serves on after an error");
    }

    private BraidConfig withShopTls(CertificateFiles tls) {
        BraidConfig config = sites.config();
        List<Site> withTls = new ArrayList<>(config.sites());
        Site shop = config.site("shop");
        withTls.set(0, new Site(shop.name(), shop.hostnames(), shop.dnsTtlSeconds(), shop.origins(), tls));
        return new BraidConfig(withTls, config.frontEnds(), config.backEnds(), config.clientClasses(), null, null, null,
                config.pki());
    }

    private static X509Certificate ca(Path trustBundle) throws Exception {
        return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(trustBundle));
    }
}
