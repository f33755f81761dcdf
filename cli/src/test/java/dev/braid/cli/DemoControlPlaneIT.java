package dev.braid.cli;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ClientClass;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo's control plane and DNS end to end: the redirector answers for the site over UDP and
 * TCP (read by dnsjava, an independent implementation), every role serves Prometheus metrics on
 * its admin port, the managers serve the versioned configuration, and a change made through the
 * managers' API reaches the front-end, the back-end and the redirector. Changing the site's origin
 * to a {@link RecordingOrigin} also shows exactly which request headers reach an origin.
 *
 * <p>A demo per test, since tests change its configuration; each runs on every transport of
 * {@link DemoSupport#transports()}.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DemoControlPlaneIT {

    private static final Logger log = LoggerFactory.getLogger(DemoControlPlaneIT.class);

    /** A host name of the demo's zone that the demo's configuration does not list. */
    private static final String NEW_HOST = "m.shop.example";

    private Transport transport;
    private Demo demo;
    private RecordingOrigin recording;

    private void start(Transport transport) throws Exception {
        this.transport = transport;
        demo = DemoSupport.startAndAwait(transport);
    }

    @AfterEach
    void stop() throws IOException {
        if (demo != null) {
            demo.close();
        }
        if (recording != null) {
            recording.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    private Message dns(String name, int type, boolean tcp) throws IOException {
        SimpleResolver resolver = new SimpleResolver(demo.dns());
        resolver.setTCP(tcp);
        resolver.setTimeout(Duration.ofSeconds(3));
        return resolver.send(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)));
    }

    private static List<String> addresses(Message m) {
        List<String> out = new ArrayList<>();
        for (Record r : m.getSection(Section.ANSWER)) {
            if (r instanceof ARecord a) {
                out.add(a.getAddress().getHostAddress());
            }
        }
        return out;
    }

    /** The demo's configuration with the site's host names and origin replaced. */
    private BraidConfig withSite(List<String> hostnames, String originUrl) {
        BraidConfig c = demo.config();
        Site shop = c.sites().get(0);
        Origin o = shop.origins().get(0);
        Site changed = new Site(shop.name(), hostnames, shop.dnsTtlSeconds(),
                List.of(new Origin(o.name(), originUrl, o.role(), o.freshnessRank(), o.maxInFlight())));
        return new BraidConfig(List.of(changed), c.frontEnds(), c.backEnds(), c.clientClasses(), c.redirectors(),
                c.managers(), c.tmp());
    }

    private WireClient.Response put(BraidConfig config) throws IOException {
        byte[] body = ConfigLoader.toJson(config).getBytes(StandardCharsets.UTF_8);
        try (WireClient c = new WireClient(demo.managers())) {
            c.write("PUT /api/v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Braid-Author: e2e-test\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n");
            c.write(body);
            return c.read("PUT");
        }
    }

    private WireClient.Response siteGet(String host, String target) throws IOException {
        // no-cache: these tests watch the origin change; a response the front-end cached earlier must
        // be validated with the origin of the moment (RFC 9111 §5.2.1.4).
        return WireClient.fetch(demo.frontEnd(), "GET " + target + " HTTP/1.1\r\nHost: " + host
                + "\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n", "GET");
    }

    /** Polls {@code condition} every 10 ms for up to 10 s; returns the milliseconds until it held, or -1. */
    private static long millisUntil(long startNanos, BooleanSupplier condition) throws InterruptedException {
        long deadline = startNanos + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return (System.nanoTime() - startNanos) / 1_000_000;
            }
            Thread.sleep(10);
        }
        return -1;
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    private static BooleanSupplier quietly(Check check) {
        return () -> {
            try {
                return check.holds();
            } catch (Exception e) {
                return false;
            }
        };
    }

    // ------------------------------------------------------------------ tests

    @TransportTest
    void theRedirectorAnswersTheSiteOverUdpAndTcp(Transport transport) throws Exception {
        start(transport);
        for (boolean tcp : new boolean[] {false, true}) {
            String via = tcp ? "TCP" : "UDP";
            for (String name : List.of(Demo.SITE_HOST + ".", "shop.example.")) {
                Message m = dns(name, Type.A, tcp);
                assertEquals(Rcode.NOERROR, m.getRcode(), via + " " + name);
                assertTrue(m.getHeader().getFlag(Flags.AA), via + " " + name + ": authoritative");
                assertTrue(m.getHeader().getFlag(Flags.QR));
                assertEquals(List.of("127.0.0.1"), addresses(m), via + " " + name);
                assertEquals(20, m.getSection(Section.ANSWER).get(0).getTTL(), via + " TTL");
            }
            Message unknown = dns("nothing-here.shop.example.", Type.A, tcp);
            assertEquals(Rcode.NXDOMAIN, unknown.getRcode(), via + " unknown name in the zone");
            assertTrue(unknown.getHeader().getFlag(Flags.AA));
            Message foreign = dns("www.example.org.", Type.A, tcp);
            assertEquals(Rcode.REFUSED, foreign.getRcode(), via + " a zone the redirector does not serve");
            assertFalse(foreign.getHeader().getFlag(Flags.AA));
            Message noIpv6 = dns(Demo.SITE_HOST + ".", Type.AAAA, tcp);
            assertEquals(Rcode.NOERROR, noIpv6.getRcode(), via + " AAAA: the name exists");
            assertTrue(noIpv6.getSection(Section.ANSWER).isEmpty(), via + " AAAA: no IPv6 front-end");
        }
        String metrics = DemoSupport.scrape(demo.dnsAdmin());
        assertTrue(DemoSupport.sample(metrics, "braid_redirector_queries_total{transport=\"udp\",rcode=\"NOERROR\"}") >= 3,
                metrics);
        assertTrue(DemoSupport.sample(metrics, "braid_redirector_queries_total{transport=\"tcp\",rcode=\"REFUSED\"}") >= 1,
                metrics);
    }

    @TransportTest
    void everyRoleServesMetricsAndTheManagersServeTheVersionedConfiguration(Transport transport) throws Exception {
        start(transport);
        // One request through the link first, so that the request counters have a sample.
        assertEquals(200, siteGet(Demo.SITE_HOST, "/objects/1k").status());
        record Role(String name, InetSocketAddress admin, String family) {
        }
        List<Role> roles = List.of(
                new Role("front-end", demo.frontEndAdmin(), "braid_frontend_requests_total"),
                new Role("back-end", demo.backEndAdmin(), "braid_backend_streams_total"),
                new Role("redirector", demo.dnsAdmin(), "braid_redirector_config_version"),
                new Role("managers", demo.managers(), "braid_managers_config_version"));
        for (Role role : roles) {
            WireClient.Response r = WireClient.get(role.admin(), "/metrics");
            assertEquals(200, r.status(), role.name());
            assertTrue(r.header("Content-Type").startsWith("text/plain"), role.name() + ": " + r.header("Content-Type"));
            List<String> families = DemoSupport.families(r.text());
            assertTrue(families.contains(role.family()), role.name() + " exposes " + role.family() + ": " + families);
            assertTrue(families.stream().allMatch(f -> f.startsWith("braid_") || f.startsWith("jvm_")
                    || f.startsWith("process_")), role.name() + ": " + families);
            WireClient.Response health = WireClient.get(role.admin(), "/health");
            assertEquals(200, health.status(), role.name() + " /health");
        }
        String fe = DemoSupport.scrape(demo.frontEndAdmin());
        assertEquals(1.0, DemoSupport.sample(fe, "braid_frontend_links_up"), fe);
        String be = DemoSupport.scrape(demo.backEndAdmin());
        assertEquals(1.0, DemoSupport.sample(be, "braid_backend_links"), be);
        assertEquals(1.0, DemoSupport.sample(DemoSupport.scrape(demo.dnsAdmin()), "braid_redirector_config_version"));

        WireClient.Response config = WireClient.get(demo.managers(), "/api/v1/config");
        assertEquals(200, config.status());
        assertTrue(config.header("Content-Type").startsWith("application/json"), config.header("Content-Type"));
        assertEquals("1", config.header("Braid-Config-Version"));
        String json = config.text();
        assertTrue(json.matches("(?s)\\{\\s*\"version\"\\s*:\\s*1\\s*,.*"), json);
        assertTrue(json.contains("\"" + Demo.SITE_HOST + "\""), json);
        assertTrue(json.contains("\"sha256\""), json);
    }

    @TransportTest
    void aChangeThroughTheManagersReachesEveryRoleWithinTwoSeconds(Transport transport) throws Exception {
        start(transport);
        recording = new RecordingOrigin();
        assertEquals(421, siteGet(NEW_HOST, "/").status(), "before the change the front-end does not serve " + NEW_HOST);
        assertEquals(Rcode.NXDOMAIN, dns(NEW_HOST + ".", Type.A, false).getRcode());

        // A new host name, a new origin, and a new weight for the gold class (the blenders of both link ends).
        BraidConfig sited = withSite(List.of(Demo.SITE_HOST, "shop.example", NEW_HOST), recording.url());
        List<ClientClass> classes = new ArrayList<>();
        for (ClientClass c : sited.clientClasses()) {
            classes.add(c.name().equals("gold") ? new ClientClass(c.name(), c.ring(), c.weight() * 2, c.rules()) : c);
        }
        BraidConfig changed = new BraidConfig(sited.sites(), sited.frontEnds(), sited.backEnds(), classes,
                sited.redirectors(), sited.managers(), sited.tmp());
        long begin = System.nanoTime();
        WireClient.Response put = put(changed);
        long putMillis = (System.nanoTime() - begin) / 1_000_000;
        assertEquals(200, put.status(), put::toString);
        assertTrue(put.text().matches("(?s)\\{\\s*\"version\"\\s*:\\s*2\\s*,.*"), put.text());
        assertTrue(put.text().contains("\"changed\":true") || put.text().contains("\"changed\" : true"), put.text());

        // The redirector: answers the new name, and says which version it runs.
        long dnsMillis = millisUntil(begin, quietly(() -> {
            Message m = dns(NEW_HOST + ".", Type.A, false);
            return m.getRcode() == Rcode.NOERROR && addresses(m).equals(List.of("127.0.0.1"));
        }));
        long metricMillis = millisUntil(begin, quietly(() -> DemoSupport.sample(DemoSupport.scrape(demo.dnsAdmin()),
                "braid_redirector_config_version") == 2.0));
        // The front-end serves the new name; the answer coming from the new origin shows the back-end has it too.
        long gatewayMillis = millisUntil(begin, quietly(() -> {
            WireClient.Response r = siteGet(NEW_HOST, "/from-new-origin");
            return r.status() == 200 && RecordingOrigin.BODY.equals(r.text());
        }));
        log.info("{}: configuration version 2 accepted in {} ms; DNS answered the new name after {} ms, the "
                        + "redirector reported version 2 after {} ms, front-end and back-end served it after {} ms",
                transport.label(), putMillis, dnsMillis, metricMillis, gatewayMillis);
        assertTrue(dnsMillis >= 0 && dnsMillis <= 2000, "redirector answered the new name after " + dnsMillis + " ms");
        assertTrue(metricMillis >= 0 && metricMillis <= 2000, "redirector version 2 after " + metricMillis + " ms");
        assertTrue(gatewayMillis >= 0 && gatewayMillis <= 2000, "front-end and back-end after " + gatewayMillis + " ms");

        // The old names go to the new origin as well, in both classes, and the managers serve the new version.
        WireClient.Response old = siteGet(Demo.SITE_HOST, "/");
        assertEquals(RecordingOrigin.BODY, old.text());
        WireClient.Response gold = siteGet(Demo.SITE_HOST, "/checkout");
        assertEquals(RecordingOrigin.BODY, gold.text());
        String fe = DemoSupport.scrape(demo.frontEndAdmin());
        assertTrue(fe.contains("class=\"gold\""), "the gold class carried a request: " + fe);
        WireClient.Response config = WireClient.get(demo.managers(), "/api/v1/config");
        assertEquals("2", config.header("Braid-Config-Version"));
        assertTrue(config.text().contains(NEW_HOST), config.text());

        // Removing a name takes it away again.
        BraidConfig shrunk = withSite(List.of(Demo.SITE_HOST), recording.url());
        long again = System.nanoTime();
        assertEquals(200, put(shrunk).status());
        // shop.example stays the zone's apex (SOA, NS), so DNS answers it with no address rather than NXDOMAIN.
        long goneMillis = millisUntil(again, quietly(() -> {
            Message m = dns("shop.example.", Type.A, true);
            return m.getRcode() == Rcode.NOERROR && addresses(m).isEmpty()
                    && siteGet("shop.example", "/").status() == 421;
        }));
        log.info("{}: a removed host name was refused by DNS and the front-end after {} ms", transport.label(), goneMillis);
        assertTrue(goneMillis >= 0 && goneMillis <= 2000, "removed name still served after " + goneMillis + " ms");
    }

    @TransportTest
    void anInvalidChangeIsRefusedWholeAndNothingMoves(Transport transport) throws Exception {
        start(transport);
        BraidConfig invalid = withSite(List.of(Demo.SITE_HOST), "ftp://127.0.0.1:21");
        WireClient.Response r = put(invalid);
        assertEquals(400, r.status(), r::toString);
        assertTrue(r.text().contains("errors"), r.text());
        assertEquals("1", WireClient.get(demo.managers(), "/api/v1/config").header("Braid-Config-Version"));
        Thread.sleep(200);
        assertEquals(1.0, DemoSupport.sample(DemoSupport.scrape(demo.dnsAdmin()), "braid_redirector_config_version"));
        assertEquals(200, siteGet("shop.example", "/objects/1k").status(), "the running configuration still serves");
    }

    /** Makes a {@link RecordingOrigin} the site's origin and waits until requests reach it. */
    private void useRecordingOrigin() throws Exception {
        recording = new RecordingOrigin();
        assertEquals(200, put(withSite(List.of(Demo.SITE_HOST, "shop.example"), recording.url())).status());
        long switched = millisUntil(System.nanoTime(), quietly(() ->
                RecordingOrigin.BODY.equals(siteGet(Demo.SITE_HOST, "/probe").text())));
        assertTrue(switched >= 0, "the back-end never used the new origin");
        while (recording.next(0) != null) {
            // drop the probes
        }
    }

    @TransportTest
    void theOriginSeesForwardingHeadersAndNoHopByHopOrLinkFields(Transport transport) throws Exception {
        start(transport);
        useRecordingOrigin();

        WireClient.Response r;
        try (WireClient c = new WireClient(demo.frontEnd())) {
            r = c.exchange("GET /path?q=1 HTTP/1.1\r\n"
                    + "Host: " + Demo.SITE_HOST + "\r\n"
                    + "User-Agent: e2e\r\n"
                    + "Via: 1.0 corporate-proxy\r\n"
                    + "X-Forwarded-For: 203.0.113.7\r\n"
                    + "Braid-Site: not-a-site\r\n"
                    + "Connection: keep-alive, X-Client-Hop\r\n"
                    + "X-Client-Hop: must not pass\r\n"
                    + "Keep-Alive: timeout=5\r\n"
                    + "TE: trailers\r\n"
                    + "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                    + "\r\n", "GET");
        }
        RecordingOrigin.Recorded seen = recording.next(5);
        assertNotNull(seen, "the request reached the origin");
        assertEquals("GET /path?q=1 HTTP/1.1", seen.head().startLine());
        assertEquals(Demo.SITE_HOST, seen.header("Host"), "Host passes unchanged");
        assertEquals("e2e", seen.header("User-Agent"));
        assertEquals("1.0 corporate-proxy, 1.1 fe-1, 1.1 be-1", seen.header("Via"), "each hop appends itself to Via");
        assertEquals(List.of("203.0.113.7", "127.0.0.1"), splitList(seen.all("X-Forwarded-For")),
                "the front-end appends the client's address to X-Forwarded-For");
        assertEquals("for=127.0.0.1;proto=http", seen.header("Forwarded"));
        for (String hop : List.of("Braid-Site", "X-Client-Hop", "Keep-Alive", "TE", "Proxy-Authorization",
                "Transfer-Encoding")) {
            assertNull(seen.header(hop), hop + " reached the origin: " + seen.head().fields());
        }
        assertFalse(seen.head().lists("Connection", "X-Client-Hop"), seen.head().fields().toString());

        // And back: the origin's hop-by-hop fields stay at the back-end; its own fields pass.
        assertEquals(200, r.status());
        assertEquals(RecordingOrigin.BODY, r.text());
        assertEquals("recording", r.header("X-Origin"));
        assertEquals("no-cache", r.header("Cache-Control"));
        assertEquals("1.1 be-1, 1.1 fe-1", r.header("Via"));
        assertNull(r.header("X-Origin-Hop"), r.toString());
        assertNull(r.header("Keep-Alive"), r.toString());

        // The origin's chunked body goes to an HTTP/1.0 client delimited by the connection's end.
        try (WireClient c = new WireClient(demo.frontEnd())) {
            WireClient.Response old = c.exchange("GET /old HTTP/1.0\r\nHost: " + Demo.SITE_HOST + "\r\n\r\n", "GET");
            assertEquals(200, old.status());
            assertFalse(HttpWire.chunked(old.head()), old.toString());
            assertEquals(RecordingOrigin.BODY, old.text());
            assertEquals(HttpWire.Framing.CLOSE, old.framing(), old.toString());
        }
        RecordingOrigin.Recorded fromOld = recording.next(5);
        assertNotNull(fromOld);
        assertEquals("1.0 fe-1, 1.1 be-1", fromOld.header("Via"), "Via names the protocol each hop received");
    }

    @TransportTest
    void aTransferCodingTheGatewayDoesNotForwardIsRefused(Transport transport) throws Exception {
        start(transport);
        useRecordingOrigin();
        WireClient.Response r;
        try (WireClient c = new WireClient(demo.frontEnd())) {
            r = c.exchange("POST /upload HTTP/1.1\r\nHost: " + Demo.SITE_HOST + "\r\n"
                    + "Transfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", "POST");
        }
        RecordingOrigin.Recorded seen = recording.next(2);
        boolean codingKept = seen != null && seen.head().lists("Transfer-Encoding", "gzip");
        assertTrue(r.status() == 501 || codingKept, "the gzip coding was dropped: the client got " + r
                + ", the origin saw " + (seen == null ? "nothing" : seen.head().fields()));
    }

    @TransportTest
    void anOriginThatIsDownIsAnswered502WithTheReason(Transport transport) throws Exception {
        start(transport);
        int closedPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        assertEquals(200, put(withSite(List.of(Demo.SITE_HOST), "http://127.0.0.1:" + closedPort)).status());
        long begin = System.nanoTime();
        long millis = millisUntil(begin, quietly(() -> siteGet(Demo.SITE_HOST, "/").status() == 502));
        assertTrue(millis >= 0 && millis <= 2000, "502 after " + millis + " ms");
        WireClient.Response r = siteGet(Demo.SITE_HOST, "/objects/1k");
        assertEquals(502, r.status(), r::toString);
        assertEquals("1.1 be-1, 1.1 fe-1", r.header("Via"), "the back-end answered, over the link");
        assertTrue(r.header("X-Braid-Error").contains("origin-1"), r.toString());
        assertTrue(r.text().contains(String.valueOf(closedPort)), r.text());
        String be = DemoSupport.scrape(demo.backEndAdmin());
        assertTrue(be.contains("braid_backend_origin_errors_total{site=\"shop\",origin=\"origin-1\""), be);

        // The way back: the demo's origin again, and the site serves.
        assertEquals(200, put(withSite(List.of(Demo.SITE_HOST), "http://127.0.0.1:" + demo.origin().getPort()))
                .status());
        long back = millisUntil(System.nanoTime(), quietly(() -> siteGet(Demo.SITE_HOST, "/").status() == 200));
        assertTrue(back >= 0 && back <= 2000, "served again after " + back + " ms");
    }

    private static List<String> splitList(List<String> values) {
        List<String> out = new ArrayList<>();
        for (String v : values) {
            for (String part : v.split(",")) {
                out.add(part.trim());
            }
        }
        return out;
    }
}
