package dev.braid.redirector;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Response rate limiting on a real UDP socket: a burst of identical queries from one address gets
 * the allowed answers whole, about every other one of the rest empty with TC (slip 2), and no
 * answer for the others; a resolver in another /24 is answered meanwhile. Short and bounded.
 */
@ExtendWith(PooledMemoryBaseline.class)
class RateLimitIT {

    private static final Logger log = LoggerFactory.getLogger(RateLimitIT.class);
    private static final int RATE = 20;
    private static final int QUERIES = 300;

    private EventLoops loops;
    private Redirector redirector;
    private final Metrics metrics = new Metrics();

    @AfterEach
    void stop() {
        if (redirector != null) {
            redirector.close();
        }
        if (loops != null) {
            loops.close();
        }
    }

    @Test
    void aFloodFromOneAddressIsLimitedOthersAreNot() throws IOException {
        BraidConfig shop = TestConfigs.shop();
        BraidConfig limited = new BraidConfig(shop.sites(), shop.frontEnds(), shop.backEnds(), shop.clientClasses(),
                shop.redirectors(), shop.managers(), shop.tmp(), new DnsSettings(null, null, null, null, null, null,
                new DnsSettings.RrlSettings(RATE, 2, 24, 56)));
        loops = EventLoops.create("rrl-it", null, 1);
        redirector = Redirector.start(Redirector.Options.builder(loops).probes(false).metrics(metrics)
                .listen(new InetSocketAddress("127.0.0.1", 0)).nodeName("r1").config(limited, 1).build());
        byte[] query = Message.newQuery(Record.newRecord(Name.fromString("www.shop.example."), Type.A, DClass.IN))
                .toWire();
        int whole = 0;
        int slipped = 0;
        long start = System.nanoTime();
        try (DatagramSocket flood = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            flood.setReceiveBufferSize(1 << 20);
            for (int i = 0; i < QUERIES; i++) {
                query[0] = (byte) (i >>> 8);
                query[1] = (byte) i;
                flood.send(new DatagramPacket(query, query.length, redirector.localAddress()));
            }
            flood.setSoTimeout(700);
            byte[] buf = new byte[1500];
            try {
                for (int i = 0; i < QUERIES; i++) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    flood.receive(p);
                    Message m = new Message(Arrays.copyOf(buf, p.getLength()));
                    if (m.getHeader().getFlag(Flags.TC)) {
                        assertTrue(m.getSection(Section.ANSWER).isEmpty());
                        slipped++;
                    } else {
                        assertEquals(2, m.getSection(Section.ANSWER).size());
                        whole++;
                    }
                }
            } catch (SocketTimeoutException quiet) {
                // the rest were dropped
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int limitedCount = QUERIES - whole;
        log.info("rrl on a socket: {} queries in {} s: {} whole, {} slipped, {} dropped", QUERIES,
                String.format("%.2f", seconds), whole, slipped, limitedCount - slipped);
        assertTrue(whole >= RATE, "the burst allowance is sent: " + whole);
        assertTrue(whole <= RATE + Math.ceil(seconds * RATE) + 1, whole + " whole answers in " + seconds + " s");
        assertTrue(Math.abs(slipped - limitedCount / 2) <= 2, "slip 2: " + slipped + " of " + limitedCount);
        assertEquals(limitedCount - slipped, metrics.counter("braid_redirector_dropped_total", "", "transport",
                "reason").value("udp", "rate_limit"));

        // Meanwhile another network's resolver is answered in full.
        try (DatagramSocket other = new DatagramSocket(new InetSocketAddress("127.0.1.1", 0))) {
            other.setSoTimeout(2000);
            other.send(new DatagramPacket(query, query.length, redirector.localAddress()));
            byte[] buf = new byte[1500];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            other.receive(p);
            Message m = new Message(Arrays.copyOf(buf, p.getLength()));
            assertFalse(m.getHeader().getFlag(Flags.TC));
            assertEquals(2, m.getSection(Section.ANSWER).size());
        }
    }
}
