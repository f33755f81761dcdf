package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.Site;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.NetUtil;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Message;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scope of EDNS Client Subnet answers (RFC 7871 §7.2.1), case by case: an answer that depended
 * on where the client is carries exactly the prefix length it depended on, which may be longer
 * than the matched network when a more specific one sits inside it, or longer than the source
 * prefix; an answer that did not depend on location carries 0. Checked in the answer and on the wire.
 *
 * <p>The prefix table: 10.0.0.0/8 is eu, 10.1.0.0/16 us (inside it), 2001:db8::/32 eu. The site
 * {@code www.geo.example} has a front-end in eu and one in us; {@code one.geo.example} only the eu
 * one; {@code static.geo.example} is a static record.
 */
class EcsScopeTest {

    private static final List<dev.braid.managers.config.Origin> ORIGINS = NsdConformanceIT.ORIGINS;

    private static BraidConfig config() {
        DnsSettings dns = new DnsSettings(
                List.of(new DnsSettings.DnsZone("geo.example", List.of(
                        new DnsSettings.DnsRecord("static", "A", 300, "192.0.2.80")))),
                List.of(new DnsSettings.ClientNetwork("10.0.0.0/8", "eu"),
                        new DnsSettings.ClientNetwork("10.1.0.0/16", "us"),
                        new DnsSettings.ClientNetwork("2001:db8::/32", "eu")),
                List.of(1), null, null, null, DnsSettings.RrlSettings.OFF);
        return new BraidConfig(
                List.of(new Site("geo", List.of("www.geo.example"), 20, ORIGINS),
                        new Site("one", List.of("one.geo.example"), 20, ORIGINS)),
                List.of(new FrontEndNode("fe-eu", null, "192.0.2.1", null, "eu", null, List.of("geo", "one"),
                                List.of("be")),
                        new FrontEndNode("fe-us", null, "192.0.2.2", null, "us", null, List.of("geo"), List.of("be"))),
                List.of(new BackEndNode("be", null, null, List.of("geo", "one"))), null, null, null, null, dns);
    }

    private static final ZoneView VIEW = ZoneView.compile(config(), 1, null);
    /** fe-eu measured 15 ms to 10.2.0.0/16 and reported it: answers there depend on that /16 too. */
    private static final ZoneView MEASURED = VIEW.withLiveState(new NodeState(Map.of("fe-eu",
            new NodeState.FrontEnd(true, 0, 0, List.of(new NodeState.Rtt("10.2.0.0/16", 15))))), Map.of());

    @ParameterizedTest(name = "{0} {1} from {2}/{3}: scope {4}, first {5}")
    @CsvSource(delimiter = '|', textBlock = """
            www.geo.example.    | A    | 10.2.3.0      | 24 | 15 | 192.0.2.1 | plain | in 10/8; 10.2.0.0/15 holds no other network
            www.geo.example.    | A    | 10.1.2.0      | 24 | 16 | 192.0.2.2 | plain | in 10.1/16
            www.geo.example.    | A    | 10.0.0.0      |  8 | 16 | 192.0.2.1 | plain | 10.0/16 borders 10.1/16: longer than the source
            www.geo.example.    | A    | 192.0.2.0     | 24 |  1 | 192.0.2.1 | plain | in no network; 10/8 differs at bit 1
            www.geo.example.    | A    | 0.0.0.0       |  0 |  0 | 192.0.2.1 | plain | source 0: no location given
            www.geo.example.    | A    | 2001:db8:1::  | 48 | 32 | 192.0.2.1 | plain | IPv6 client, eu
            www.geo.example.    | AAAA | 10.2.3.0      | 24 |  0 |           | plain | no IPv6 front-end: NODATA
            one.geo.example.    | A    | 10.1.2.0      | 24 |  0 | 192.0.2.1 | plain | one region only: location did not matter
            static.geo.example. | A    | 10.1.2.0      | 24 |  0 | 192.0.2.80| plain | a static record
            nope.geo.example.   | A    | 10.1.2.0      | 24 |  0 |           | plain | NXDOMAIN
            geo.example.        | SOA  | 10.1.2.0      | 24 |  0 |           | plain | the apex
            www.geo.example.    | A    | 10.2.3.0      | 24 | 16 | 192.0.2.1 | rtt   | inside the measured 10.2.0.0/16
            www.geo.example.    | A    | 10.3.0.0      | 16 | 16 | 192.0.2.1 | rtt   | beside the measured /16
            """)
    void scopeIsWhatTheAnswerDependedOn(String name, String type, String address, int source, int scope,
                                        String first, String state, String why) throws Exception {
        byte[] full = NetUtil.createByteArrayFromIpAddressString(address);
        byte[] sent = Arrays.copyOf(full, (source + 7) / 8);
        ClientSubnet ecs = new ClientSubnet(full.length == 4 ? ClientSubnet.FAMILY_IPV4 : ClientSubnet.FAMILY_IPV6,
                source, 0, sent);
        int qtype = org.xbill.DNS.Type.value(type);
        Query q = Query.of(7, name, qtype, new Query.Edns(1232, 0, false, ecs));
        ZoneView view = state.equals("rtt") ? MEASURED : VIEW;
        // The resolver's own address is elsewhere: with ECS present, only the subnet counts.
        Answer a = view.answer(q, new byte[] {127, 0, 0, 1}, 0);
        assertEquals(scope, a.clientSubnet().scopePrefix(), why);
        assertEquals(source, a.clientSubnet().sourcePrefix());
        if (first != null) {
            assertEquals(first, NetUtil.bytesToIpAddress(a.answers().get(0).sharedTail()), why);
        }

        // On the wire, as a resolver reads it.
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            new MessageWriter().write(a, out, 1232);
            byte[] wire = new byte[out.readableBytes()];
            out.readBytes(wire);
            Message m = new Message(wire);
            List<EDNSOption> options = m.getOPT().getOptions(EDNSOption.Code.CLIENT_SUBNET);
            assertEquals(1, options.size());
            ClientSubnetOption o = (ClientSubnetOption) options.get(0);
            assertEquals(scope, o.getScopePrefixLength(), why);
            assertEquals(source, o.getSourcePrefixLength());
        } finally {
            out.release();
        }
        assertTrue(scope <= (full.length * 8));
    }
}
