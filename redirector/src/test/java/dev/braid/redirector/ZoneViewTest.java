package dev.braid.redirector;

import dev.braid.managers.config.BraidConfig;
import io.netty.util.NetUtil;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ZoneViewTest {

    private static final Query.Edns EDNS = new Query.Edns(4096, 0, false);
    private final ZoneView view = ZoneView.compile(TestConfigs.shop(), 7, "r1");

    private Answer ask(String name, int type) {
        return view.answer(Query.of(42, name, type, null), 0);
    }

    /** The record's RDATA with every name written in full. */
    static byte[] rdata(ResourceRecord r) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (String n : r.rdataNames()) {
            String key = n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
            for (String label : key.isEmpty() ? new String[0] : key.split("\\.")) {
                out.write(label.length());
                out.writeBytes(label.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            out.write(0);
        }
        out.writeBytes(r.rdataTail());
        return out.toByteArray();
    }

    private static List<String> addresses(List<ResourceRecord> records) {
        List<String> out = new ArrayList<>();
        for (ResourceRecord r : records) {
            if (r.type() == Dns.TYPE_A || r.type() == Dns.TYPE_AAAA) {
                out.add(NetUtil.bytesToIpAddress(rdata(r)));
            }
        }
        return out;
    }

    private static void assertNegative(Answer a, int rcode, String zone) {
        assertEquals(rcode, a.rcode());
        assertTrue(a.authoritative());
        assertTrue(a.answers().isEmpty());
        assertEquals(1, a.authority().size());
        ResourceRecord soa = a.authority().get(0);
        assertEquals(Dns.TYPE_SOA, soa.type());
        assertEquals(zone + ".", soa.name());
        assertEquals(ZoneView.NEGATIVE_TTL_SECONDS, soa.ttl());
        ByteBuffer rdata = ByteBuffer.wrap(rdata(soa));
        assertEquals(ZoneView.NEGATIVE_TTL_SECONDS, rdata.getInt(rdata.limit() - 4), "SOA minimum");
    }

    @Test
    void zonesAreHostNamesMinusTheirFirstLabelFromThreeLabelsOn() {
        assertEquals(Set.of("shop.example", "example.org"), view.zones());
        BraidConfig config = TestConfigs.builder()
                .site("a", 20, "a.b.c.example", "single", "Two.Example.")
                .build();
        assertEquals(Set.of("b.c.example", "single", "two.example"), ZoneView.compile(config, 1, null).zones());
    }

    @Test
    void siteNameGetsEligibleFrontEndsWithTheSiteTtl() {
        Answer a = ask("www.shop.example.", Dns.TYPE_A);
        assertEquals(Dns.RCODE_NOERROR, a.rcode());
        assertTrue(a.authoritative());
        assertFalse(a.truncated());
        // fe4 is assigned but has no link to a back-end of the site; fe5 is not assigned.
        assertEquals(List.of("192.0.2.1", "192.0.2.2"), addresses(a.answers()));
        for (ResourceRecord r : a.answers()) {
            assertEquals(20, r.ttl());
            assertEquals("www.shop.example.", r.name());
        }
        assertTrue(a.authority().isEmpty());
        assertEquals(List.of("192.0.2.2"), addresses(ask("blog.example.org", Dns.TYPE_A).answers()));
        assertEquals(60, ask("blog.example.org", Dns.TYPE_A).answers().get(0).ttl());
    }

    @Test
    void aaaaListsIpv6FrontEndsElseNoData() {
        assertEquals(List.of("2001:db8::3"), addresses(ask("shop.example", Dns.TYPE_AAAA).answers()));
        assertNegative(ask("blog.example.org", Dns.TYPE_AAAA), Dns.RCODE_NOERROR, "example.org");
    }

    @Test
    void otherTypesAreNoData() {
        assertNegative(ask("www.shop.example", 15 /* MX */), Dns.RCODE_NOERROR, "shop.example");
        assertNegative(ask("www.shop.example", 16 /* TXT */), Dns.RCODE_NOERROR, "shop.example");
        assertNegative(ask("www.shop.example", Dns.TYPE_SOA), Dns.RCODE_NOERROR, "shop.example");
    }

    @Test
    void handOffWeightsSpreadTheFirstPlaceOverTheBestRanked() {
        TestConfigs b = TestConfigs.builder().site("s", 20, "www.many.example").backEnd("be", "s")
                .redirector("r", "127.0.0.1:5300", 2);
        for (int i = 1; i <= 5; i++) {
            b.frontEnd("fe" + i, "10.0.0." + i, List.of("s"), List.of("be"));
        }
        ZoneView v = ZoneView.compile(b.build(), 1, "r");
        Map<String, Integer> firsts = new HashMap<>();
        for (int rotation = 0; rotation < 7; rotation++) {
            List<String> got = addresses(v.answer(Query.of(1, "www.many.example", Dns.TYPE_A, null), rotation)
                    .answers());
            assertEquals(2, got.size(), "answerCount limits the list");
            assertNotEquals(got.get(0), got.get(1));
            firsts.merge(got.get(0), 1, Integer::sum);
        }
        // The default weights 4, 2, 1: the best-ranked front-end leads 4 answers in 7, the next 2, the third 1.
        assertEquals(Map.of("10.0.0.1", 4, "10.0.0.2", 2, "10.0.0.3", 1), firsts);
        assertEquals("10.0.0.3", addresses(v.answer(Query.of(1, "www.many.example", Dns.TYPE_A, null), -1)
                .answers()).get(0), "any int is a valid position: -1 is the last of the 7");
    }

    @Test
    void withoutItsNodeNameTheDefaultAnswerCountApplies() {
        TestConfigs b = TestConfigs.builder().site("s", 20, "www.many.example").backEnd("be", "s")
                .redirector("r", "127.0.0.1:5300", 4);
        for (int i = 1; i <= 5; i++) {
            b.frontEnd("fe" + i, "10.0.0." + i, List.of("s"), List.of("be"));
        }
        assertEquals(4, ZoneView.compile(b.build(), 1, "r").answerCount());
        assertEquals(ZoneView.DEFAULT_ANSWER_COUNT, ZoneView.compile(b.build(), 1, "other").answerCount());
        assertEquals(ZoneView.DEFAULT_ANSWER_COUNT, ZoneView.compile(b.build(), 1, null).answerCount());
    }

    @Test
    void sharedPublicAddressesAppearOnce() {
        BraidConfig config = TestConfigs.builder().site("s", 20, "www.s.example").backEnd("be", "s")
                .frontEnd("a", "10.0.0.1", List.of("s"), List.of("be"))
                .frontEnd("b", "10.0.0.1", List.of("s"), List.of("be"))
                .build();
        assertEquals(List.of("10.0.0.1"), addresses(ZoneView.compile(config, 1, null)
                .answer(Query.of(1, "www.s.example", Dns.TYPE_A, null), 0).answers()));
    }

    @Test
    void apexAnswersSoaWithTheVersionAsSerial() {
        Answer a = ask("shop.example", Dns.TYPE_SOA);
        assertEquals(Dns.RCODE_NOERROR, a.rcode());
        assertTrue(a.authoritative());
        assertEquals(1, a.answers().size());
        ResourceRecord soa = a.answers().get(0);
        assertEquals(Dns.TYPE_SOA, soa.type());
        assertEquals(ZoneView.ZONE_TTL_SECONDS, soa.ttl());
        ByteBuffer rdata = ByteBuffer.wrap(rdata(soa));
        assertEquals("ns1.shop.example", readName(rdata));
        assertEquals("hostmaster.shop.example", readName(rdata));
        assertEquals(7, rdata.getInt(), "serial");
        assertEquals(ZoneView.SOA_REFRESH_SECONDS, rdata.getInt());
        assertEquals(ZoneView.SOA_RETRY_SECONDS, rdata.getInt());
        assertEquals(ZoneView.SOA_EXPIRE_SECONDS, rdata.getInt());
        assertEquals(ZoneView.NEGATIVE_TTL_SECONDS, rdata.getInt(), "minimum");
        assertFalse(rdata.hasRemaining());
    }

    @Test
    void apexAnswersOneNsPerRedirectorWithAddressesWhereKnown() {
        Answer a = ask("shop.example", Dns.TYPE_NS);
        List<String> names = new ArrayList<>();
        for (ResourceRecord r : a.answers()) {
            assertEquals(Dns.TYPE_NS, r.type());
            names.add(readName(ByteBuffer.wrap(rdata(r))));
        }
        assertEquals(List.of("ns1.shop.example", "ns2.shop.example"), names);
        // r2 listens on the wildcard address: no address record for it.
        assertEquals(1, a.additional().size());
        assertEquals("ns1.shop.example.", a.additional().get(0).name());
        assertEquals(List.of("198.51.100.53"), addresses(a.additional()));

        assertEquals(List.of("198.51.100.53"), addresses(ask("ns1.shop.example", Dns.TYPE_A).answers()));
        assertNegative(ask("ns2.shop.example", Dns.TYPE_A), Dns.RCODE_NOERROR, "shop.example");
        assertNegative(ask("ns3.shop.example", Dns.TYPE_A), Dns.RCODE_NXDOMAIN, "shop.example");
    }

    @Test
    void anyIsAnsweredWithOneRrset() {
        // RFC 8482 §4.2: the SOA at an apex (even one that is also a site name), else the name's addresses.
        assertEquals(List.of(Dns.TYPE_SOA), ask("shop.example", Dns.TYPE_ANY).answers().stream()
                .map(ResourceRecord::type).toList());
        assertEquals(List.of(Dns.TYPE_A, Dns.TYPE_A), ask("www.shop.example", Dns.TYPE_ANY).answers().stream()
                .map(ResourceRecord::type).toList());
    }

    @Test
    void apexWithoutSiteHasNoAddresses() {
        assertNegative(ask("example.org", Dns.TYPE_A), Dns.RCODE_NOERROR, "example.org");
    }

    @Test
    void unknownNameInZoneIsNxdomain() {
        assertNegative(ask("nope.shop.example", Dns.TYPE_A), Dns.RCODE_NXDOMAIN, "shop.example");
        assertNegative(ask("deep.www.shop.example", Dns.TYPE_A), Dns.RCODE_NXDOMAIN, "shop.example");
    }

    @Test
    void emptyNonTerminalsAreNoData() {
        BraidConfig config = TestConfigs.builder().site("s", 20, "www.s.example", "x.y.z.s.example").build();
        ZoneView v = ZoneView.compile(config, 1, null);
        assertEquals(Set.of("s.example", "y.z.s.example"), v.zones());
        assertNegative(v.answer(Query.of(1, "z.s.example", Dns.TYPE_A, null), 0), Dns.RCODE_NOERROR, "s.example");
        assertNegative(v.answer(Query.of(1, "q.s.example", Dns.TYPE_A, null), 0), Dns.RCODE_NXDOMAIN, "s.example");
        // A name under the nested zone answers from it.
        assertNegative(v.answer(Query.of(1, "q.y.z.s.example", Dns.TYPE_A, null), 0), Dns.RCODE_NXDOMAIN,
                "y.z.s.example");
    }

    @Test
    void namesOutsideEveryZoneAreRefused() {
        for (String name : List.of("example.com", "example", ".", "", "hop.example", "xshop.example")) {
            Answer a = ask(name, Dns.TYPE_A);
            assertEquals(Dns.RCODE_REFUSED, a.rcode(), name);
            assertFalse(a.authoritative(), name);
            assertTrue(a.answers().isEmpty() && a.authority().isEmpty(), name);
            assertEquals(1, a.questions().size(), "the question is echoed");
        }
        assertEquals(Dns.RCODE_REFUSED, ZoneView.empty().answer(Query.of(1, "www.shop.example", 1, null), 0).rcode());
    }

    @Test
    void namesCompareCaseInsensitivelyAndEchoAsSent() {
        Answer a = ask("WwW.ShOp.EXAMPLE.", Dns.TYPE_A);
        assertEquals(List.of("192.0.2.1", "192.0.2.2"), addresses(a.answers()));
        assertEquals("WwW.ShOp.EXAMPLE.", a.questions().get(0).name());
        assertEquals("WwW.ShOp.EXAMPLE.", a.answers().get(0).name());
        assertEquals(Dns.RCODE_NOERROR, ask("SHOP.example", Dns.TYPE_SOA).rcode());
    }

    @Test
    void headerBitsFollowTheQuery() {
        Query q = new Query(4711, 0, false, true, List.of(new Query.Question("www.shop.example", 1, 1)), null, 0);
        Answer a = view.answer(q, 0);
        assertEquals(4711, a.id());
        assertFalse(a.recursionDesired());
        assertTrue(a.checkingDisabled());
        assertTrue(ask("www.shop.example", 1).recursionDesired());
    }

    @Test
    void opcodesOtherThanQueryAreNotImplemented() {
        for (int opcode : new int[] {1, 2, 4, 5, 15}) {
            Query q = new Query(1, opcode, false, false, List.of(new Query.Question("www.shop.example", 1, 1)),
                    null, 0);
            Answer a = view.answer(q, 0);
            assertEquals(Dns.RCODE_NOTIMP, a.rcode());
            assertEquals(opcode, a.opcode());
            assertFalse(a.authoritative());
        }
    }

    @Test
    void zeroOrSeveralQuestionsAreFormatErrors() {
        Query none = new Query(1, 0, true, false, List.of(), null, 0);
        assertEquals(Dns.RCODE_FORMERR, view.answer(none, 0).rcode());
        Query two = new Query(1, 0, true, false, List.of(new Query.Question("www.shop.example", 1, 1),
                new Query.Question("shop.example", 1, 1)), null, 0);
        Answer a = view.answer(two, 0);
        assertEquals(Dns.RCODE_FORMERR, a.rcode());
        assertTrue(a.questions().isEmpty());
        assertFalse(a.authoritative());
    }

    @Test
    void questionClassTypeAndTransferRules() {
        Query chaos = new Query(1, 0, true, false, List.of(new Query.Question("www.shop.example", 1, 3)), null, 0);
        assertEquals(Dns.RCODE_REFUSED, view.answer(chaos, 0).rcode());
        Query anyClass = new Query(1, 0, true, false, List.of(new Query.Question("www.shop.example", 1, 255)),
                null, 0);
        assertEquals(2, view.answer(anyClass, 0).answers().size());
        assertEquals(Dns.RCODE_REFUSED, ask("shop.example", Dns.TYPE_AXFR).rcode());
        assertEquals(Dns.RCODE_REFUSED, ask("shop.example", Dns.TYPE_IXFR).rcode());
        assertEquals(Dns.RCODE_FORMERR, ask("shop.example", Dns.TYPE_OPT).rcode());
    }

    @Test
    void ednsIsEchoedOnlyWhenAsked() {
        assertFalse(ask("www.shop.example", 1).edns());
        Answer a = view.answer(Query.of(1, "www.shop.example", 1, EDNS), 0);
        assertTrue(a.edns());
        assertEquals(Dns.RCODE_NOERROR, a.rcode());
        assertTrue(view.answer(Query.of(1, "nothing.example.com", 1, EDNS), 0).edns(), "errors carry OPT too");
    }

    @Test
    void unknownEdnsVersionIsBadvers() {
        Answer a = view.answer(Query.of(1, "www.shop.example", 1, new Query.Edns(4096, 1, false)), 0);
        assertEquals(Dns.RCODE_BADVERS, a.rcode());
        assertEquals(0, a.headerRcode());
        assertEquals(1, a.extendedRcode());
        assertTrue(a.edns());
        assertTrue(a.answers().isEmpty());
        assertEquals(1, a.questions().size());
    }

    @Test
    void severalOptRecordsAreAFormatError() {
        Query q = new Query(1, 0, true, false, List.of(new Query.Question("www.shop.example", 1, 1)), EDNS, 2);
        assertEquals(Dns.RCODE_FORMERR, view.answer(q, 0).rcode());
    }

    @Test
    void udpLimitFollowsTheClientWithinBounds() {
        assertEquals(512, Query.of(1, "a", 1, null).udpResponseLimit());
        assertEquals(512, Query.of(1, "a", 1, new Query.Edns(100, 0, false)).udpResponseLimit());
        assertEquals(900, Query.of(1, "a", 1, new Query.Edns(900, 0, false)).udpResponseLimit());
        assertEquals(Dns.UDP_PAYLOAD_SIZE, Query.of(1, "a", 1, new Query.Edns(65535, 0, false)).udpResponseLimit());
    }

    @Test
    void compileRejectsWhatItCannotServe() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ZoneView.compile(
                TestConfigs.builder().site("s", 20, "www.s.example", "bad name.example").build(), 1, null));
        assertTrue(e.getMessage().startsWith("sites[s].hostnames[1]: bad name.example (expected: a DNS name"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ZoneView.compile(
                TestConfigs.builder().site("s", 20, "*.s.example").build(), 1, null));
        assertTrue(e.getMessage().startsWith("sites[s].hostnames[0]: *.s.example (expected:"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ZoneView.compile(
                TestConfigs.builder().site("a", 20, "www.x.example").site("b", 20, "WWW.x.example.").build(), 1,
                null));
        assertEquals("sites[b].hostnames[0]: WWW.x.example. (expected: a name no other site has; site a has it)",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ZoneView.compile(
                TestConfigs.builder().site("s", 20, "www.s.example").backEnd("be", "s")
                        .frontEnd("fe", "fe.example.net", List.of("s"), List.of("be")).build(), 1, null));
        assertEquals("frontEnds[fe].publicAddress: fe.example.net (expected: an IPv4 or IPv6 address literal)",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ZoneView.compile(
                TestConfigs.builder().redirector("r", "127.0.0.1:53", 0).build(), 1, "r"));
        assertEquals("redirectors[r].answerCount: 0 (expected: >= 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ZoneView.compile(
                TestConfigs.builder().site("s", -1, "www.s.example").build(), 1, null));
        assertEquals("sites[s].dnsTtlSeconds: -1 (expected: >= 0)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ZoneView.compile(TestConfigs.shop(), -2, null));
        assertEquals("version: -2 (expected: >= 0)", e.getMessage());
    }

    @Test
    void ineligibleFrontEndsAreNotValidated() {
        // A front-end the redirector never hands out may lack a public address.
        BraidConfig config = TestConfigs.builder().site("s", 20, "www.s.example").backEnd("be", "s")
                .frontEnd("idle", null, List.of(), List.of("be")).build();
        assertEquals(Set.of("s.example"), ZoneView.compile(config, 1, null).zones());
    }

    private static String readName(ByteBuffer in) {
        StringBuilder sb = new StringBuilder();
        for (int len = in.get(); len != 0; len = in.get()) {
            if (sb.length() > 0) {
                sb.append('.');
            }
            for (int i = 0; i < len; i++) {
                sb.append((char) in.get());
            }
        }
        return sb.toString();
    }
}
