package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Referral mode on real sockets, both ends: a top-level redirector refers a resolver whose prefix
 * is in a region with a point-of-presence redirector to that redirector (a CNAME into a zone
 * delegated there, with glue), and the point-of-presence redirector answers the referred name from
 * its own measurements: its probes of the front-ends rank them and take the dead out. A resolver of
 * no such region gets the answer directly.
 */
@ExtendWith(PooledMemoryBaseline.class)
class ReferralIT {

    private static final Logger log = LoggerFactory.getLogger(ReferralIT.class);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private Redirector start(BraidConfig config, String name, boolean probes) {
        EventLoops loops = EventLoops.create("referral-it", null, 1);
        toClose.add(loops);
        Redirector r = Redirector.start(Redirector.Options.builder(loops).probes(probes)
                .listen(new InetSocketAddress("127.0.0.1", 0)).nodeName(name).config(config, 1).build());
        toClose.add(r);
        return r;
    }

    private static Message ask(InetSocketAddress server, String from, String name) throws IOException {
        SimpleResolver r = new SimpleResolver(server);
        r.setLocalAddress(new InetSocketAddress(from, 0));
        r.setTimeout(Duration.ofSeconds(2));
        return r.send(Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN)));
    }

    private static List<String> addresses(Message m, int section) {
        List<String> out = new ArrayList<>();
        for (Record r : m.getSection(section)) {
            if (r instanceof ARecord a) {
                out.add(a.getAddress().getHostAddress());
            }
        }
        return out;
    }

    @Test
    void theTopLevelRefersByPrefixAndThePointOfPresenceAnswersFromItsProbes() throws Exception {
        FailoverIT.Listener near = new FailoverIT.Listener("127.0.0.1", 0);
        FailoverIT.Listener far = new FailoverIT.Listener("127.0.0.2", 0);
        toClose.add(far);
        // 127.0.0.1 is a resolver in "eu"; 127.0.0.3 is in no region.
        DnsSettings dns = new DnsSettings(null, List.of(new DnsSettings.ClientNetwork("127.0.0.1/32", "eu")), List.of(1),
                true, 120, new DnsSettings.ProbeSettings(100, 200, 2, 2), DnsSettings.RrlSettings.OFF);
        BraidConfig config = new BraidConfig(
                List.of(new Site("shop", List.of("www.shop.example"), 20, NsdConformanceIT.ORIGINS)),
                List.of(new FrontEndNode("fe-eu", "0.0.0.0:" + near.port(), "127.0.0.1", null, "eu", null,
                                List.of("shop"), List.of("be")),
                        new FrontEndNode("fe-us", "0.0.0.0:" + far.port(), "127.0.0.2", null, "us", null,
                                List.of("shop"), List.of("be"))),
                List.of(new BackEndNode("be", null, null, List.of("shop"))), null,
                List.of(new RedirectorNode("top", "127.0.0.1:5300", "127.0.0.1:5380", 2, null, null, null),
                        new RedirectorNode("pop-eu", "127.0.0.1:5301", "127.0.0.1:5381", 1, "127.0.0.1", "eu", null)),
                null, null, dns);
        Redirector top = start(config, "top", false);
        Redirector pop = start(config, "pop-eu", true);

        // The top level, asked by an eu resolver: a CNAME to the eu zone, delegated to the point of presence.
        Message referral = ask(top.localAddress(), "127.0.0.1", "www.shop.example.");
        assertEquals(Rcode.NOERROR, referral.getRcode());
        CNAMERecord cname = (CNAMERecord) referral.getSection(Section.ANSWER).get(0);
        assertEquals("eu.www.shop.example.", cname.getTarget().toString());
        assertEquals(120, cname.getTTL());
        assertTrue(addresses(referral, Section.ANSWER).isEmpty(), "the addresses come from the point of presence");
        NSRecord ns = (NSRecord) referral.getSection(Section.AUTHORITY).get(0);
        assertEquals("eu.www.shop.example.", ns.getName().toString());
        assertEquals("ns1.eu.www.shop.example.", ns.getTarget().toString());
        assertEquals(List.of("127.0.0.1"), addresses(referral, Section.ADDITIONAL), "glue: the redirector's address");

        // The point of presence answers the referred name itself, authoritatively, from its probes.
        Message answer = ask(pop.localAddress(), "127.0.0.1", cname.getTarget().toString());
        assertEquals(Rcode.NOERROR, answer.getRcode());
        assertTrue(answer.getHeader().getFlag(Flags.AA));
        assertEquals(List.of("127.0.0.1"), addresses(answer, Section.ANSWER), "its region's front-end first");
        // The top level does not answer that zone: it is delegated.
        assertFalse(ask(top.localAddress(), "127.0.0.1", "eu.www.shop.example.").getHeader().getFlag(Flags.AA));

        // Its own probes take a dead front-end out; the top level's answer (a referral) does not change.
        near.close();
        long start = System.nanoTime();
        List<String> now = addresses(answer, Section.ANSWER);
        while (System.nanoTime() - start < 8_000_000_000L) {
            now = addresses(ask(pop.localAddress(), "127.0.0.1", "eu.www.shop.example."), Section.ANSWER);
            if (now.equals(List.of("127.0.0.2"))) {
                break;
            }
            Thread.sleep(20);
        }
        assertEquals(List.of("127.0.0.2"), now, "the point of presence saw fe-eu die");
        log.info("referral: point of presence dropped its dead front-end after {} ms",
                (System.nanoTime() - start) / 1_000_000);
        assertEquals("eu.www.shop.example.", ((CNAMERecord) ask(top.localAddress(), "127.0.0.1", "www.shop.example.")
                .getSection(Section.ANSWER).get(0)).getTarget().toString());

        // A resolver in no region with a point of presence gets the addresses from the top level.
        Message direct = ask(top.localAddress(), "127.0.0.3", "www.shop.example.");
        assertTrue(direct.getHeader().getFlag(Flags.AA));
        assertEquals(2, addresses(direct, Section.ANSWER).size());
        assertTrue(direct.getSection(Section.AUTHORITY).isEmpty());
    }
}
