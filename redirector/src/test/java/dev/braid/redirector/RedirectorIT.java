package dev.braid.redirector;

import dev.braid.managers.config.BraidConfig;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The redirector on real sockets (127.0.0.1, a free port), asked by an independent DNS client
 * (dnsjava) over UDP and TCP, on every transport this machine runs.
 */
@ExtendWith(PooledMemoryBaseline.class)
class RedirectorIT {

    private EventLoops loops;
    private Redirector redirector;
    private Metrics metrics;

    @AfterEach
    void stop() {
        if (redirector != null) {
            redirector.close();
        }
        if (loops != null) {
            loops.close();
        }
    }

    private void start(Transport transport, BraidConfig config) {
        assumeTrue(transport.isAvailable(), () -> transport.label() + " is not available here");
        loops = EventLoops.create("redirector-it", transport, 1);
        metrics = new Metrics();
        redirector = Redirector.start(Redirector.Options.builder(loops).probes(false)
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .metrics(metrics)
                .nodeName("r1")
                .config(config, 1)
                .build());
    }

    private SimpleResolver resolver(boolean tcp) {
        SimpleResolver r = new SimpleResolver(redirector.localAddress());
        r.setTCP(tcp);
        r.setTimeout(Duration.ofSeconds(3));
        return r;
    }

    private static Message query(String name, int type) throws IOException {
        return Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
    }

    private static Set<String> addresses(Message m) {
        Set<String> out = new TreeSet<>();
        for (Record r : m.getSection(Section.ANSWER)) {
            if (r instanceof ARecord a) {
                out.add(a.getAddress().getHostAddress());
            }
        }
        return out;
    }

    private static BraidConfig manyFrontEnds(int count) {
        TestConfigs b = TestConfigs.builder().site("s", 20, "www.many.example").backEnd("be", "s")
                .redirector("r1", "127.0.0.1:5300", count);
        for (int i = 1; i <= count; i++) {
            b.frontEnd("fe" + i, "10.0.3." + i, List.of("s"), List.of("be"));
        }
        return b.build();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void answersSiteNamesOverUdpAndTcp(Transport transport) throws IOException {
        start(transport, TestConfigs.shop());
        for (boolean tcp : new boolean[] {false, true}) {
            Message m = resolver(tcp).send(query("WWW.shop.example.", Type.A));
            assertEquals(Rcode.NOERROR, m.getRcode());
            assertTrue(m.getHeader().getFlag(Flags.AA));
            assertTrue(m.getHeader().getFlag(Flags.QR));
            assertFalse(m.getHeader().getFlag(Flags.RA));
            assertEquals(Set.of("192.0.2.1", "192.0.2.2"), addresses(m));
            assertEquals(20, m.getSection(Section.ANSWER).get(0).getTTL());
            assertEquals("WWW.shop.example.", m.getQuestion().getName().toString(), "the question is echoed as sent");
        }
        assertEquals(1, metrics.counter("braid_redirector_queries_total", "", "transport", "rcode")
                .value("udp", "NOERROR"));
        assertEquals(1, metrics.counter("braid_redirector_queries_total", "", "transport", "rcode")
                .value("tcp", "NOERROR"));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void roundRobinSpreadsTheFrontEnds(Transport transport) throws IOException {
        start(transport, manyFrontEnds(4));
        redirector.update(TestConfigs.builder().site("s", 20, "www.many.example").backEnd("be", "s")
                .redirector("r1", "127.0.0.1:5300", 1)
                .frontEnd("a", "10.0.4.1", List.of("s"), List.of("be"))
                .frontEnd("b", "10.0.4.2", List.of("s"), List.of("be"))
                .frontEnd("c", "10.0.4.3", List.of("s"), List.of("be")).build(), 2);
        // Ordered hand-off weights 4, 2, 1 (seed 001): over seven queries the ranked front-ends come
        // first four, two and one times.
        java.util.Map<String, Integer> first = new java.util.TreeMap<>();
        SimpleResolver r = resolver(false);
        for (int i = 0; i < 7; i++) {
            Set<String> got = addresses(r.send(query("www.many.example.", Type.A)));
            assertEquals(1, got.size());
            first.merge(got.iterator().next(), 1, Integer::sum);
        }
        assertEquals(java.util.Map.of("10.0.4.1", 4, "10.0.4.2", 2, "10.0.4.3", 1), first,
                "seven queries spread by the hand-off weights");
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aLiveConfigurationChangeChangesTheAnswers(Transport transport) throws IOException {
        start(transport, TestConfigs.shop());
        SimpleResolver udp = resolver(false);
        assertEquals(Set.of("192.0.2.1", "192.0.2.2"), addresses(udp.send(query("www.shop.example.", Type.A))));
        assertTrue(metrics.scrape().contains("braid_redirector_config_version 1\n"));

        BraidConfig moved = TestConfigs.builder().site("shop", 5, "www.shop.example").backEnd("be", "shop")
                .frontEnd("new", "203.0.113.7", List.of("shop"), List.of("be"))
                .redirector("r1", "127.0.0.1:5300", 2).build();
        redirector.update(moved, 2);
        Message m = udp.send(query("www.shop.example.", Type.A));
        assertEquals(Set.of("203.0.113.7"), addresses(m));
        assertEquals(5, m.getSection(Section.ANSWER).get(0).getTTL());
        Message soa = resolver(true).send(query("shop.example.", Type.SOA));
        assertEquals(2, ((SOARecord) soa.getSection(Section.ANSWER).get(0)).getSerial());
        assertTrue(metrics.scrape().contains("braid_redirector_config_version 2\n"));

        // An older version, or one the redirector cannot serve, changes nothing.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> redirector.update(TestConfigs.shop(), 1));
        assertEquals("version: 1 (expected: >= 2, the version in use)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> redirector.update(
                TestConfigs.builder().site("shop", 5, "www shop").build(), 3));
        assertEquals(Set.of("203.0.113.7"), addresses(udp.send(query("www.shop.example.", Type.A))));
        assertEquals(2, redirector.view().version());
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void truncatedOverUdpThenWholeOverTcp(Transport transport) throws IOException {
        // With name compression an A record costs 16 octets: 100 of them exceed the 1232-octet UDP limit.
        start(transport, manyFrontEnds(100));
        SimpleResolver udp = resolver(false);
        udp.setIgnoreTruncation(true);
        udp.setEDNS(-1, 0, 0, List.of());
        Message cut = udp.send(query("www.many.example.", Type.A));
        assertTrue(cut.getHeader().getFlag(Flags.TC));
        assertTrue(cut.getSection(Section.ANSWER).isEmpty());

        udp.setEDNS(0, 4096, 0, List.of());
        Message cutEdns = udp.send(query("www.many.example.", Type.A));
        assertTrue(cutEdns.getHeader().getFlag(Flags.TC), "100 addresses exceed our 1232-octet UDP limit");
        assertEquals(Dns.UDP_PAYLOAD_SIZE, cutEdns.getOPT().getPayloadSize());

        Message whole = resolver(true).send(query("www.many.example.", Type.A));
        assertFalse(whole.getHeader().getFlag(Flags.TC));
        assertEquals(100, addresses(whole).size());

        // A client that honours TC retries over TCP by itself.
        Message retried = resolver(false).send(query("www.many.example.", Type.A));
        assertFalse(retried.getHeader().getFlag(Flags.TC));
        assertEquals(100, addresses(retried).size());
        assertTrue(metrics.counter("braid_redirector_truncated_total", "", "transport").value("udp") >= 3);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void negativeAnswersAndErrors(Transport transport) throws IOException {
        start(transport, TestConfigs.shop());
        for (boolean tcp : new boolean[] {false, true}) {
            SimpleResolver r = resolver(tcp);
            Message refused = r.send(query("www.example.com.", Type.A));
            assertEquals(Rcode.REFUSED, refused.getRcode());
            assertFalse(refused.getHeader().getFlag(Flags.AA));

            Message nx = r.send(query("nope.shop.example.", Type.A));
            assertEquals(Rcode.NXDOMAIN, nx.getRcode());
            assertTrue(nx.getHeader().getFlag(Flags.AA));
            SOARecord soa = (SOARecord) nx.getSection(Section.AUTHORITY).get(0);
            assertEquals(30, soa.getMinimum());
            assertEquals(30, soa.getTTL());
            assertEquals("ns1.shop.example.", soa.getHost().toString());
            assertEquals("hostmaster.shop.example.", soa.getAdmin().toString());

            Message noData = r.send(query("www.shop.example.", Type.MX));
            assertEquals(Rcode.NOERROR, noData.getRcode());
            assertTrue(noData.getSection(Section.ANSWER).isEmpty());
            assertEquals(Type.SOA, noData.getSection(Section.AUTHORITY).get(0).getType());

            Message ns = r.send(query("shop.example.", Type.NS));
            assertEquals(2, ns.getSection(Section.ANSWER).size());
            assertEquals("198.51.100.53", ((ARecord) ns.getSection(Section.ADDITIONAL).get(0))
                    .getAddress().getHostAddress());

            r.setEDNS(new OPTRecord(1232, 0, 1, 0));
            Message badvers = r.send(query("www.shop.example.", Type.A));
            assertEquals(Rcode.BADVERS, badvers.getRcode());
            assertEquals(0, badvers.getOPT().getVersion());
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void garbageDatagramsDoNotHurtTheServer(Transport transport) throws IOException {
        start(transport, TestConfigs.shop());
        byte[] valid = query("www.shop.example.", Type.A).toWire();
        Random random = new Random(7);
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            socket.connect(redirector.localAddress());
            for (int i = 0; i < 300; i++) {
                byte[] junk = new byte[3 + random.nextInt(300)];
                random.nextBytes(junk);
                junk[2] &= 0x7F; // mostly "queries", so most reach the decoder
                socket.send(new DatagramPacket(junk, junk.length));
            }
            socket.send(new DatagramPacket(new byte[3], 3));
            drain(socket);
            // A readable header and nothing decodable after it is answered FORMERR with its ID.
            byte[] headerOnly = Arrays.copyOf(valid, 14);
            headerOnly[0] = 0x5A;
            headerOnly[1] = 0x5A;
            socket.send(new DatagramPacket(headerOnly, headerOnly.length));
            socket.setSoTimeout(3000);
            byte[] buf = new byte[2048];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            socket.receive(p);
            Message m = new Message(Arrays.copyOf(p.getData(), p.getLength()));
            assertEquals(0x5A5A, m.getHeader().getID());
            assertEquals(Rcode.FORMERR, m.getRcode());
            assertTrue(m.getHeader().getFlag(Flags.QR));
        }
        Message after = resolver(false).send(query("www.shop.example.", Type.A));
        assertEquals(2, addresses(after).size());
        assertTrue(metrics.counter("braid_redirector_dropped_total", "", "transport", "reason")
                .value("udp", "short") >= 1);
    }

    /** Reads answers until none has come for half a second; every one must be a response. */
    private static void drain(DatagramSocket socket) throws IOException {
        socket.setSoTimeout(500);
        byte[] buf = new byte[2048];
        try {
            for (int i = 0; i < 1000; i++) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                assertTrue(p.getLength() >= 12 && (buf[2] & 0x80) != 0, "only responses are sent");
            }
        } catch (SocketTimeoutException quiet) {
            // nothing more is coming
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aBrokenTcpMessageGetsFormErrAndTheConnectionCloses(Transport transport) throws IOException {
        start(transport, TestConfigs.shop());
        byte[] broken = Arrays.copyOf(query("www.shop.example.", Type.A).toWire(), 14);
        broken[0] = 0x12;
        broken[1] = 0x34;
        try (Socket s = new Socket()) {
            s.connect(redirector.localAddress(), 3000);
            s.setSoTimeout(3000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(broken.length);
            out.write(broken);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] answer = new byte[in.readUnsignedShort()];
            in.readFully(answer);
            Message m = new Message(answer);
            assertEquals(0x1234, m.getHeader().getID());
            assertEquals(Rcode.FORMERR, m.getRcode());
            assertEquals(-1, in.read(), "the connection is closed");
        }
        assertEquals(2, addresses(resolver(true).send(query("www.shop.example.", Type.A))).size());
    }
}
