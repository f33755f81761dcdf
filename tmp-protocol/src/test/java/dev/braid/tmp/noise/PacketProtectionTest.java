package dev.braid.tmp.noise;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Packet sealing with key phases, the replay window and retry tokens, each on its own. */
class PacketProtectionTest {

    private static final int HEADER = 13;

    private static NoiseIK.TransportKeys[] keys() {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        new Random(1).nextBytes(a);
        new Random(2).nextBytes(b);
        return new NoiseIK.TransportKeys[] {new NoiseIK.TransportKeys(a, b, new byte[32]),
                new NoiseIK.TransportKeys(b, a, new byte[32])};
    }

    private static ByteBuf packet(PacketProtection p, long now, long pn, long acked, int payload) {
        ByteBuf d = ByteBufAllocator.DEFAULT.directBuffer(HEADER + payload + 16);
        boolean phase = p.sendKeyPhase(now, pn, acked);
        d.writeByte(0x40 | (phase ? 0x04 : 0));
        d.writeLong(0x1122334455667788L);
        d.writeInt((int) pn);
        for (int i = 0; i < payload; i++) {
            d.writeByte((int) (pn + i));
        }
        p.seal(d, 0, HEADER, pn);
        return d;
    }

    private static boolean open(PacketProtection p, ByteBuf d, long pn, long now) {
        return p.open(d, 0, HEADER, pn, (d.getByte(0) & 0x04) != 0, now);
    }

    @Test
    void sealedPacketsOpenOnceAndAnyChangeFails() {
        NoiseIK.TransportKeys[] k = keys();
        PacketProtection a = new PacketProtection(k[0], 1 << 20, 120_000_000_000L, 1500, 0);
        PacketProtection b = new PacketProtection(k[1], 1 << 20, 120_000_000_000L, 1500, 0);
        ByteBuf d = packet(a, 0, 0, -1, 100);
        try {
            assertEquals(HEADER + 100 + 16, d.readableBytes());
            ByteBuf tampered = d.copy();
            ByteBuf header = d.copy();
            try {
                tampered.setByte(HEADER + 3, tampered.getByte(HEADER + 3) ^ 1);
                header.setByte(2, header.getByte(2) ^ 1);
                assertFalse(open(b, tampered, 0, 0), "payload changed");
                assertFalse(open(b, header, 0, 0), "header (associated data) changed");
            } finally {
                tampered.release();
                header.release();
            }
            assertTrue(open(b, d, 0, 0));
            assertEquals(HEADER + 100, d.readableBytes());
            for (int i = 0; i < 100; i++) {
                assertEquals((byte) i, d.getByte(HEADER + i));
            }
        } finally {
            d.release();
        }
    }

    @Test
    void keysUpdateByCountOnlyAfterTheirPhaseIsAcknowledgedAndReorderedPacketsStillOpen() {
        NoiseIK.TransportKeys[] k = keys();
        PacketProtection a = new PacketProtection(k[0], 16, 120_000_000_000L, 1500, 0);
        PacketProtection b = new PacketProtection(k[1], 16, 120_000_000_000L, 1500, 0);
        java.util.List<ByteBuf> late = new java.util.ArrayList<>();
        try {
            long acked = -1;
            for (long pn = 0; pn < 200; pn++) {
                ByteBuf d = packet(a, pn, pn, acked, 40);
                if (pn % 10 == 9) {
                    late.add(d); // delivered after the next key update
                    continue;
                }
                try {
                    assertTrue(open(b, d, pn, pn), "packet " + pn);
                } finally {
                    d.release();
                }
                if (pn % 4 == 0) {
                    acked = pn;
                }
                if (pn % 40 == 39) {
                    for (ByteBuf l : late) {
                        long lpn = l.getUnsignedInt(9);
                        try {
                            assertTrue(open(b, l, lpn, pn), "reordered packet " + lpn);
                        } finally {
                            l.release();
                        }
                    }
                    late.clear();
                }
            }
            assertTrue(a.sendPhase() >= 8, "updates: " + a.sendPhase());
            assertEquals(a.sendPhase(), b.receivePhase());
        } finally {
            late.forEach(ByteBuf::release);
        }
    }

    @Test
    void withoutAnAcknowledgementTheSenderKeepsItsKey() {
        PacketProtection a = new PacketProtection(keys()[0], 16, 1_000_000L, 1500, 0);
        for (long pn = 0; pn < 100; pn++) {
            assertFalse(a.sendKeyPhase(pn * 1_000_000L, pn, -1));
        }
        assertEquals(0, a.sendPhase());
        assertTrue(a.sendKeyPhase(200_000_000L, 100, 0));
    }

    @Test
    void theReplayWindowAcceptsEachNumberOnceAndForgetsOnlyBeyondItsSize() {
        ReplayWindow w = new ReplayWindow();
        Random r = new Random(3);
        java.util.Set<Long> seen = new java.util.HashSet<>();
        long top = -1;
        for (int i = 0; i < 50_000; i++) {
            long pn = Math.max(0, top + r.nextInt(3000) - 2500);
            ReplayWindow.Verdict v = w.check(pn);
            if (top >= 0 && pn <= top - ReplayWindow.WINDOW) {
                assertEquals(ReplayWindow.Verdict.TOO_OLD, v, "pn " + pn + " top " + top);
            } else if (seen.contains(pn)) {
                assertEquals(ReplayWindow.Verdict.DUPLICATE, v, "pn " + pn);
            } else {
                assertEquals(ReplayWindow.Verdict.NEW, v, "pn " + pn + " top " + top);
                w.mark(pn);
                seen.add(pn);
                top = Math.max(top, pn);
            }
        }
        assertEquals(ReplayWindow.Verdict.NEW, w.check(top + 100_000));
        w.mark(top + 100_000);
        assertEquals(ReplayWindow.Verdict.TOO_OLD, w.check(top));
    }

    @Test
    void retryTokensAreBoundToTheAddressAndExpire() {
        RetryTokens t = new RetryTokens(new SecureRandom());
        InetSocketAddress a = new InetSocketAddress("192.0.2.1", 4000);
        byte[] token = t.mint(a, 1_000_000);
        assertTrue(t.check(token, 0, token.length, a, 1_000_000));
        assertTrue(t.check(token, 0, token.length, a, 1_000_000 + RetryTokens.BUCKET_MILLIS));
        assertFalse(t.check(token, 0, token.length, a, 1_000_000 + 2 * RetryTokens.BUCKET_MILLIS), "expired");
        assertFalse(t.check(token, 0, token.length, new InetSocketAddress("192.0.2.1", 4001), 1_000_000), "port");
        assertFalse(t.check(token, 0, token.length, new InetSocketAddress("192.0.2.2", 4000), 1_000_000), "address");
        token[10] ^= 1;
        assertFalse(t.check(token, 0, token.length, a, 1_000_000), "forged");
        assertFalse(new RetryTokens(new SecureRandom()).check(t.mint(a, 5), 0, RetryTokens.TOKEN_BYTES, a, 5),
                "another secret");
    }

    /**
     * Seals and opens 1200-byte packets and reports the rate (not asserted: tests assert behaviour).
     * At 100 Mbit/s a link moves 12.5 MB/s each way.
     */
    @Test
    void sealAndOpenRate() {
        NoiseIK.TransportKeys[] k = keys();
        PacketProtection a = new PacketProtection(k[0], 1L << 40, Long.MAX_VALUE / 2, 1500, 0);
        PacketProtection b = new PacketProtection(k[1], 1L << 40, Long.MAX_VALUE / 2, 1500, 0);
        int payload = 1200;
        // Not leak-tracked: paranoid detection records every access, which would be what is measured.
        ByteBuf d = io.netty.buffer.Unpooled.buffer(1500);
        try {
            long bytes = 0;
            long start = 0;
            int packets = 30_000;
            for (int pn = 0; pn < packets; pn++) {
                if (pn == 5_000) {
                    start = System.nanoTime(); // after warm-up
                    bytes = 0;
                }
                d.clear();
                d.writeByte(a.sendKeyPhase(0, pn, -1) ? 0x44 : 0x40);
                d.writeLong(7);
                d.writeInt(pn);
                d.writerIndex(HEADER + payload);
                a.seal(d, 0, HEADER, pn);
                assertTrue(open(b, d, pn, 0));
                bytes += payload;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("PacketProtection: seal+open of %d-byte packets: %.1f MB/s%n", payload, bytes / seconds / 1e6);
        } finally {
            d.release();
        }
    }
}
