package dev.braid.redirector;

import dev.braid.managers.config.DnsSettings;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Response rate limiting in virtual time: a reflection flood from one network gets its answers at
 * the configured rate, every slip-th of the rest truncated and the others dropped; other networks,
 * other names and other kinds of answers are unaffected; the limit holds exactly across threads.
 */
class ResponseRateLimiterTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long T0 = 123_456_789_000L;
    private final ZoneView view = ZoneView.compile(TestConfigs.shop(), 1, "r1");
    /** 100 answers a second, every second limited answer slipped. */
    private final ResponseRateLimiter rrl = new ResponseRateLimiter(new DnsSettings.RrlSettings(100, 2, 24, 56));

    private Answer answer(String name, int type) {
        return view.answer(Query.of(1, name, type, null), 0);
    }

    private static byte[] v4(int a, int b, int c, int d) {
        return new byte[] {(byte) a, (byte) b, (byte) c, (byte) d};
    }

    @Test
    void aFloodFromOneNetworkIsLimitedToTheRateWithSlips() {
        Answer www = answer("www.shop.example.", Dns.TYPE_A);
        Map<ResponseRateLimiter.Verdict, Integer> flood = new EnumMap<>(ResponseRateLimiter.Verdict.class);
        Map<ResponseRateLimiter.Verdict, Integer> bystander = new EnumMap<>(ResponseRateLimiter.Verdict.class);
        // 5 s at 1000 answers a second, spoofed from every host of 192.0.2.0/24; meanwhile a real
        // resolver in another network asks 50 times a second.
        for (int i = 0; i < 5000; i++) {
            long now = T0 + i * MS;
            flood.merge(rrl.check(v4(192, 0, 2, i % 256), www, now), 1, Integer::sum);
            if (i % 20 == 0) {
                bystander.merge(rrl.check(v4(198, 51, 100, 7), www, now), 1, Integer::sum);
            }
        }
        int sent = flood.getOrDefault(ResponseRateLimiter.Verdict.SEND, 0);
        // One second of burst, then 100 a second for the rest: 100 + 100 * 4.999.
        assertTrue(sent >= 599 && sent <= 601, "sent " + sent);
        int slipped = flood.getOrDefault(ResponseRateLimiter.Verdict.SLIP, 0);
        int dropped = flood.getOrDefault(ResponseRateLimiter.Verdict.DROP, 0);
        assertEquals(5000 - sent, slipped + dropped);
        assertTrue(Math.abs(slipped - dropped) <= 1, "slip 2: every other limited answer truncated: "
                + slipped + " slipped, " + dropped + " dropped");
        assertEquals(Map.of(ResponseRateLimiter.Verdict.SEND, 250), bystander, "another /24 is not limited");
    }

    @Test
    void groupsAreNetworkAndAnswerKind() {
        long now = T0;
        Answer www = answer("www.shop.example.", Dns.TYPE_A);
        for (int i = 0; i < 100; i++) {
            assertEquals(ResponseRateLimiter.Verdict.SEND, rrl.check(v4(192, 0, 2, 1), www, now));
        }
        assertTrue(rrl.check(v4(192, 0, 2, 200), www, now) != ResponseRateLimiter.Verdict.SEND, "same /24, same answer");
        assertEquals(ResponseRateLimiter.Verdict.SEND, rrl.check(v4(192, 0, 3, 1), www, now), "next /24");
        assertEquals(ResponseRateLimiter.Verdict.SEND, rrl.check(v4(192, 0, 2, 1),
                answer("www.shop.example.", Dns.TYPE_AAAA), now), "another type");
        assertEquals(ResponseRateLimiter.Verdict.SEND, rrl.check(v4(192, 0, 2, 1),
                answer("shop.example.", Dns.TYPE_A), now), "another name");
        assertTrue(rrl.check(v4(192, 0, 2, 1), answer("WWW.Shop.Example", Dns.TYPE_A), now)
                != ResponseRateLimiter.Verdict.SEND, "case and the final dot do not make a new group");
        // NXDOMAIN for random names is one group per zone: random names do not escape the limit.
        int sent = 0;
        for (int i = 0; i < 300; i++) {
            if (rrl.check(v4(192, 0, 2, 1), answer("r" + i + ".shop.example.", Dns.TYPE_A), now)
                    == ResponseRateLimiter.Verdict.SEND) {
                sent++;
            }
        }
        assertEquals(100, sent);
        // IPv6 clients are grouped by /56.
        byte[] a = new byte[16];
        a[0] = 0x20;
        a[1] = 0x01;
        byte[] sameSlash56 = a.clone();
        sameSlash56[7] = 0x55;
        byte[] otherSlash56 = a.clone();
        otherSlash56[6] = 0x01;
        for (int i = 0; i < 100; i++) {
            rrl.check(a, www, now);
        }
        assertTrue(rrl.check(sameSlash56, www, now) != ResponseRateLimiter.Verdict.SEND);
        assertEquals(ResponseRateLimiter.Verdict.SEND, rrl.check(otherSlash56, www, now));
    }

    @Test
    void theAllowanceRefillsAtTheRate() {
        Answer www = answer("www.shop.example.", Dns.TYPE_A);
        byte[] c = v4(203, 0, 113, 9);
        for (int i = 0; i < 100; i++) {
            rrl.check(c, www, T0);
        }
        assertTrue(rrl.check(c, www, T0) != ResponseRateLimiter.Verdict.SEND);
        assertTrue(rrl.check(c, www, T0 + 9 * MS) != ResponseRateLimiter.Verdict.SEND, "not yet 10 ms");
        assertEquals(ResponseRateLimiter.Verdict.SEND, rrl.check(c, www, T0 + 10 * MS), "one answer per 10 ms");
        assertTrue(rrl.check(c, www, T0 + 10 * MS) != ResponseRateLimiter.Verdict.SEND);
        // After a quiet second the whole burst is back.
        int sent = 0;
        for (int i = 0; i < 200; i++) {
            if (rrl.check(c, www, T0 + 2_000 * MS) == ResponseRateLimiter.Verdict.SEND) {
                sent++;
            }
        }
        assertEquals(100, sent);
    }

    @Test
    void slipZeroDropsEveryLimitedAnswerAndZeroRateIsNoLimiter() {
        ResponseRateLimiter noSlip = new ResponseRateLimiter(new DnsSettings.RrlSettings(10, 0, 24, 56));
        Answer www = answer("www.shop.example.", Dns.TYPE_A);
        int slipped = 0;
        for (int i = 0; i < 100; i++) {
            if (noSlip.check(v4(192, 0, 2, 1), www, T0) == ResponseRateLimiter.Verdict.SLIP) {
                slipped++;
            }
        }
        assertEquals(0, slipped);
        assertNull(ResponseRateLimiter.of(DnsSettings.RrlSettings.OFF));
    }

    @Test
    void theLimitHoldsExactlyAcrossThreads() throws Exception {
        Answer www = answer("www.shop.example.", Dns.TYPE_A);
        AtomicInteger sent = new AtomicInteger();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 5_000; i++) {
                    if (rrl.check(v4(192, 0, 2, i & 0xFF), www, T0) == ResponseRateLimiter.Verdict.SEND) {
                        sent.incrementAndGet();
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(100, sent.get(), "one second of burst, shared by every socket's thread");
    }
}
