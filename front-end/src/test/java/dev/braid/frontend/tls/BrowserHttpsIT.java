package dev.braid.frontend.tls;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.braid.managers.config.CertificateFiles;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real browser (headless Chromium, with its own TLS and HTTP/2 stacks) reaches two sites on one
 * front-end address by name. The browser resolves every {@code *.shop.example} and
 * {@code *.blog.example} name to 127.0.0.1 itself, so it sends the site's name in SNI and Host,
 * and it trusts exactly one key: that of the certificate of the site it asks for. A page loads
 * only if the front-end chose that site's certificate by SNI, and a browser that trusts only the
 * other site's key is shown to fail.
 *
 * <p>Each site's page pulls two scripts and an image from the same site; the page records what it
 * got in its own DOM, which the browser prints ({@code --dump-dom}) once the page has loaded. The
 * protocol is proven on the server side, per connection and per request: every TLS connection
 * the front-end accepted during a load negotiated the protocol under test by ALPN
 * ({@code braid_frontend_tls_handshakes_total}), and each site's origin received exactly the page
 * and its subresources, each with the site's Host, {@code proto=https} and a {@code Via} naming
 * the version the browser spoke to the front-end.
 *
 * <p>Needs a {@code chromium} on the PATH ({@code scripts/install-deps.sh} installs it). Without
 * one the test is skipped, saying so, except under {@code CI=true}, where that fails it. Every
 * browser run is bounded ({@link #BROWSER_RUN}) and killed with its child processes after.
 */
@ExtendWith(PooledMemoryBaseline.class)
class BrowserHttpsIT {

    /** The most one browser run may take, from its start to its DOM on stdout. */
    private static final Duration BROWSER_RUN = Duration.ofSeconds(30);
    private static final String HANDSHAKES = "braid_frontend_tls_handshakes_total";
    private static final String REQUESTS = "braid_frontend_requests_total";
    /** What a page load fetches: the page, then its two scripts and one image, all from its own site. */
    private static final List<String> PAGE_AND_SUBRESOURCES = List.of("/dot.png", "/one.js", "/page.html", "/two.js");
    private static final Pattern PARAGRAPH = Pattern.compile("<p id=\"(\\w+)\">([^<]*)</p>");

    @TempDir
    Path dir;
    private Path browser;
    private PageOrigin shopOrigin;
    private PageOrigin blogOrigin;
    private HttpsSites sites;

    @BeforeEach
    void start() throws Exception {
        browser = dev.braid.testing.Chromium.require("the browser test of client-facing TLS");
        shopOrigin = PageOrigin.start("shop-origin");
        blogOrigin = PageOrigin.start("blog-origin");
        sites = HttpsSites.start(dir, shopOrigin.url(), blogOrigin.url());
    }

    @AfterEach
    void stop() throws Exception {
        HttpsSites.close(sites, shopOrigin, blogOrigin);
    }

    @Test
    void twoSitesLoadByNameOverHttp2() throws Exception {
        bothSitesLoadOver("h2");
    }

    @Test
    void twoSitesLoadByNameOverHttp11() throws Exception {
        bothSitesLoadOver("http/1.1");
    }

    @Test
    void aPageUnderOneNameFailsWhenTheBrowserTrustsOnlyTheOtherSitesKey() throws Exception {
        // The control for the tests above: a browser that would accept any certificate proves nothing.
        long failedBefore = counter(HANDSHAKES, "result", "failed");
        Load load = load("www.blog.example", spki(sites.shopTls()), "h2");
        assertFalse(load.dom().contains("blog-origin"), load.describe());
        assertTrue(load.log().contains("ERR_CERT_"), "the browser refused the certificate: " + load.describe());
        assertEquals(List.of(), blogOrigin.takeSeen(), "nothing reached the blog's origin");
        assertEquals(List.of(), shopOrigin.takeSeen(), "nothing reached the shop's origin");
        assertTrue(counter(HANDSHAKES, "result", "failed") > failedBefore,
                "the front-end saw the browser refuse its certificate: " + load.describe());
    }

    /**
     * Loads each site's page in a browser of its own that trusts only that site's key, over
     * {@code protocol} (ALPN {@code h2}, or {@code http/1.1} with HTTP/2 switched off in the browser).
     */
    private void bothSitesLoadOver(String protocol) throws Exception {
        record Case(String host, CertificateFiles tls, PageOrigin origin, PageOrigin other) {
        }
        String other = protocol.equals("h2") ? "http/1.1" : "h2";
        for (Case c : List.of(new Case("www.shop.example", sites.shopTls(), shopOrigin, blogOrigin),
                new Case("www.blog.example", sites.blogTls(), blogOrigin, shopOrigin))) {
            String spki = spki(c.tls());
            assertEquals(spki, spki(sites.frontEnd().https().certificates().certificateFor(c.host())),
                    "the key the browser will trust is the one the front-end holds for " + c.host());
            long negotiated = counter(HANDSHAKES, "result", "ok", "protocol", protocol);
            long otherNegotiated = counter(HANDSHAKES, "result", "ok", "protocol", other);
            long failed = counter(HANDSHAKES, "result", "failed");
            long answered = counter(REQUESTS);

            Load load = load(c.host(), spki, protocol);

            String authority = c.host() + ":" + sites.httpsPort();
            Map<String, String> page = paragraphs(load.dom());
            assertEquals(c.origin().name(), page.get("origin"), load.describe());
            assertEquals("one.js from " + c.origin().name() + " for " + authority, page.get("one"), load.describe());
            assertEquals("two.js from " + c.origin().name() + " for " + authority, page.get("two"), load.describe());
            assertEquals("2x3", page.get("image"), "the image arrived whole and decoded: " + load.describe());
            // The browser's own view, from the Resource Timing API: the same protocol for every fetch.
            String browserSaw = PAGE_AND_SUBRESOURCES.stream().map(p -> p + "=" + protocol)
                    .reduce((a, b) -> a + " " + b).orElseThrow();
            assertEquals(browserSaw, page.get("protocols"), load.describe());

            List<Seen> seen = c.origin().takeSeen();
            assertEquals(PAGE_AND_SUBRESOURCES, seen.stream().map(Seen::path).sorted().toList(),
                    "the site's origin got the page and each subresource once: " + seen);
            // Each request says how it arrived: Via names the protocol each hop received (RFC 9110 §7.6.3).
            String via = (protocol.equals("h2") ? "2" : "1.1") + " fe-1, 1.1 be-1";
            for (Seen s : seen) {
                assertEquals(authority, s.host(), s.toString());
                assertEquals("for=127.0.0.1;proto=https", s.forwarded(), s.toString());
                assertEquals(via, s.via(), s.toString());
            }
            assertEquals(List.of(), c.other().takeSeen(), "the other site's origin got nothing");
            assertEquals(answered + PAGE_AND_SUBRESOURCES.size(), counter(REQUESTS),
                    "the front-end answered these requests and no others");
            // Every request above arrived on a TLS connection of the front-end's HTTPS listener, and
            // every connection it accepted during the load negotiated `protocol` (over h2 Chromium
            // sends all four on one connection and opens a spare one ahead of need: two handshakes).
            assertTrue(counter(HANDSHAKES, "result", "ok", "protocol", protocol) > negotiated,
                    "a connection negotiated " + protocol + ": " + load.describe());
            assertEquals(otherNegotiated, counter(HANDSHAKES, "result", "ok", "protocol", other),
                    "no connection negotiated " + other + ": " + load.describe());
            assertEquals(failed, counter(HANDSHAKES, "result", "failed"), "no handshake failed: " + load.describe());
            System.out.printf("BrowserHttpsIT: %s over %s: %d connection(s), page and %d subresources loaded %s ms "
                            + "after navigation start, %d ms with the browser's start and exit%n", c.host(), protocol,
                    counter(HANDSHAKES, "result", "ok", "protocol", protocol) - negotiated,
                    PAGE_AND_SUBRESOURCES.size() - 1, page.get("loaded"), load.millis());
        }
    }

    /** What one browser run printed: the page's DOM after its load event, and its own log. */
    private record Load(String url, String dom, String log, int exitCode, long millis) {
        String describe() {
            return url + " (exit " + exitCode + ", " + millis + " ms)\nDOM: " + dom + "\nchromium:" + notes(log);
        }
    }

    /** Chromium's log without its dbus complaints (one a line on a machine without a system bus). */
    private static String notes(String log) {
        return log.lines().filter(l -> !l.contains("dbus")).reduce("", (a, b) -> a + "\n" + b);
    }

    /**
     * Runs a fresh browser (its own profile) on {@code https://<host>:<https port>/page.html}
     * until it prints the DOM, trusting only the key whose SHA-256 is {@code spki}.
     */
    private Load load(String host, String spki, String protocol) throws Exception {
        Path profile = Files.createTempDirectory(dir, "chromium-profile-");
        Path dom = profile.resolve("dom.html");
        Path log = profile.resolve("chromium.log");
        String url = "https://" + host + ":" + sites.httpsPort() + "/page.html";
        List<String> command = new ArrayList<>(List.of(browser.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
                "--user-data-dir=" + profile,
                // The browser resolves the names itself: SNI and Host carry the site's name, not an address.
                // Every other name fails, so the browser's own background requests stay on this machine.
                "--host-resolver-rules=MAP *.shop.example 127.0.0.1, MAP *.blog.example 127.0.0.1, MAP * ~NOTFOUND",
                "--ignore-certificate-errors-spki-list=" + spki));
        if (protocol.equals("http/1.1")) {
            command.add("--disable-http2");
        }
        command.add("--dump-dom");
        command.add(url);
        long start = System.nanoTime();
        Process chrome = new ProcessBuilder(command).redirectOutput(dom.toFile()).redirectError(log.toFile()).start();
        try {
            if (!chrome.waitFor(BROWSER_RUN.toMillis(), TimeUnit.MILLISECONDS)) {
                fail("chromium did not print the DOM of " + url + " within " + BROWSER_RUN + ":"
                        + notes(Files.readString(log)));
            }
        } finally {
            chrome.descendants().forEach(ProcessHandle::destroyForcibly);
            chrome.destroyForcibly();
            chrome.waitFor(10, TimeUnit.SECONDS);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        return new Load(url, Files.readString(dom), Files.readString(log), chrome.exitValue(), millis);
    }

    private static Map<String, String> paragraphs(String dom) {
        Map<String, String> out = new HashMap<>();
        Matcher m = PARAGRAPH.matcher(dom);
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }

    /** The base64 SHA-256 of the leaf certificate's SubjectPublicKeyInfo, as Chromium's SPKI list wants it. */
    private static String spki(CertificateFiles tls) throws Exception {
        try (InputStream in = Files.newInputStream(Path.of(tls.certificate()))) {
            return spki((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificates(in)
                    .iterator().next());
        }
    }

    private static String spki(X509Certificate certificate) throws Exception {
        return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest(certificate.getPublicKey().getEncoded()));
    }

    /** The sum of the front-end's {@code metric} samples whose labels include every given name/value pair. */
    private long counter(String metric, String... labels) {
        long sum = 0;
        for (String line : sites.frontEndMetrics().scrape().lines().toList()) {
            if (!line.startsWith(metric + "{") && !line.startsWith(metric + " ")) {
                continue;
            }
            boolean match = true;
            for (int i = 0; i < labels.length; i += 2) {
                match &= line.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
            }
            if (match) {
                sum += Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** One request as an origin received it. */
    private record Seen(String path, String host, String forwarded, String via) {
    }

    /**
     * A site's origin: a page with two scripts and an image, each answer naming this origin and
     * the Host it was asked under, none of them storable; it records every request.
     */
    private static final class PageOrigin implements AutoCloseable {
        private static final byte[] IMAGE = png(2, 3);

        private final String name;
        private final HttpServer server;
        private final ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();

        private PageOrigin(String name) throws IOException {
            this.name = name;
            this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", this::answer);
            server.start();
        }

        static PageOrigin start(String name) throws IOException {
            return new PageOrigin(name);
        }

        String name() {
            return name;
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        /** What was received since the last call. */
        List<Seen> takeSeen() {
            List<Seen> out = new ArrayList<>();
            for (Seen s; (s = seen.poll()) != null; ) {
                out.add(s);
            }
            return out;
        }

        private void answer(HttpExchange ex) throws IOException {
            String path = ex.getRequestURI().getPath();
            String host = ex.getRequestHeaders().getFirst("Host");
            seen.add(new Seen(path, host, ex.getRequestHeaders().getFirst("Forwarded"),
                    String.join(", ", ex.getRequestHeaders().getOrDefault("Via", List.of()))));
            ex.getRequestBody().readAllBytes();
            int status = 200;
            byte[] body;
            String type;
            switch (path) {
                case "/page.html" -> {
                    type = "text/html; charset=utf-8";
                    body = page().getBytes(StandardCharsets.UTF_8);
                }
                case "/one.js", "/two.js" -> {
                    type = "text/javascript";
                    String script = path.substring(1);
                    body = ("document.getElementById('" + script.substring(0, 3) + "').textContent = '" + script
                            + " from " + name + " for " + host + "';\n").getBytes(StandardCharsets.UTF_8);
                }
                case "/dot.png" -> {
                    type = "image/png";
                    body = IMAGE;
                }
                default -> {
                    status = 404;
                    type = "text/plain";
                    body = ("no " + path + " here\n").getBytes(StandardCharsets.UTF_8);
                }
            }
            ex.getResponseHeaders().set("Content-Type", type);
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.sendResponseHeaders(status, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }

        private String page() {
            return """
                    <!DOCTYPE html>
                    <html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>%1$s</title></head>
                    <body>
                    <p id="origin">%1$s</p>
                    <p id="one">one.js did not run</p>
                    <p id="two">two.js did not run</p>
                    <p id="image">the image did not load</p>
                    <p id="protocols">the load event did not fire</p>
                    <p id="loaded">-</p>
                    <img src="/dot.png" alt=""
                         onload="document.getElementById('image').textContent = this.naturalWidth + 'x' + this.naturalHeight"
                         onerror="document.getElementById('image').textContent = 'the image failed'">
                    <script src="/one.js"></script>
                    <script src="/two.js"></script>
                    <script>
                      addEventListener('load', () => {
                        const fetched = performance.getEntriesByType('navigation')
                            .concat(performance.getEntriesByType('resource'))
                            .map(e => new URL(e.name).pathname + '=' + e.nextHopProtocol).sort();
                        document.getElementById('protocols').textContent = fetched.join(' ');
                        document.getElementById('loaded').textContent = Math.round(performance.now());
                      });
                    </script>
                    </body></html>
                    """.formatted(name);
        }

        private static byte[] png(int width, int height) {
            BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                ImageIO.write(image, "png", out);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return out.toByteArray();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
