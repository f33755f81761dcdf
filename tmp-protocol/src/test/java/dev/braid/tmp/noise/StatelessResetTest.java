package dev.braid.tmp.noise;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stateless reset tokens and the responder's rules: length, shape, rate. */
class StatelessResetTest {

    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

    @Test
    void aRestartedNodeComputesTheSameTokensAndNoOtherKeyDoes() {
        X25519Keys key = X25519Keys.generate(new SecureRandom());
        byte[] privateKey = key.privateKeyForDerivation();
        StatelessReset before = StatelessReset.fromStaticKey(key);
        StatelessReset afterRestart = StatelessReset.fromStaticKey(X25519Keys.fromPrivate(privateKey));
        StatelessReset other = StatelessReset.fromStaticKey(X25519Keys.generate(new SecureRandom()));
        long cid = 0x1234_5678_9abc_def0L;
        assertEquals(StatelessReset.TOKEN_BYTES, before.token(cid).length);
        assertArrayEquals(before.token(cid), afterRestart.token(cid), "same static key, same token");
        assertFalse(Arrays.equals(before.token(cid), other.token(cid)), "another node's key, another token");
        assertFalse(Arrays.equals(before.token(cid), before.token(cid + 1)), "another id, another token");
        assertFalse(Arrays.equals(before.token(cid), StatelessReset.PLAIN_TEXT.token(cid)),
                "the plain-text key is not any node's");
    }

    @Test
    void aResetLooksLikeAShortHeaderPacketIsShorterThanItsTriggerAndEndsInTheToken() {
        StatelessReset tokens = StatelessReset.fromStaticKey(X25519Keys.generate(new SecureRandom()));
        StatelessReset.Responder r = new StatelessReset.Responder(tokens, new Random(1));
        for (int trigger : new int[] {StatelessReset.MIN_RESET_BYTES + 1, 40, 60, 1429}) {
            ByteBuf reset = r.answer(42, trigger, 0, ALLOC);
            assertNotNull(reset, "a " + trigger + "-byte packet is answered");
            try {
                assertTrue(reset.readableBytes() < trigger, reset.readableBytes() + " bytes answer " + trigger);
                assertTrue(reset.readableBytes() >= StatelessReset.MIN_RESET_BYTES);
                int flags = reset.getUnsignedByte(0);
                assertEquals(0x40, flags & 0xc0, "fixed bit set, long-header bit clear");
                assertTrue(StatelessReset.endsWith(reset, tokens.token(42)));
                assertFalse(StatelessReset.endsWith(reset, tokens.token(43)));
            } finally {
                reset.release();
            }
        }
    }

    @Test
    void packetsNoLongerThanTheShortestResetGetNone() {
        StatelessReset.Responder r = new StatelessReset.Responder(StatelessReset.PLAIN_TEXT, new Random(2));
        assertNull(r.answer(7, StatelessReset.MIN_RESET_BYTES, 0, ALLOC));
        assertNull(r.answer(7, 22, 0, ALLOC), "a plain-text PING alone is too short to answer");
        assertEquals(2, r.refused());
        assertEquals(0, r.sent());
    }

    @Test
    void resetsAreRateLimited() {
        StatelessReset.Responder r = new StatelessReset.Responder(StatelessReset.PLAIN_TEXT, new Random(3));
        int sent = 0;
        for (int i = 0; i < 1000; i++) {
            ByteBuf b = r.answer(i, 1200, 1_000_000_000L, ALLOC); // a flood within one instant
            if (b != null) {
                sent++;
                b.release();
            }
        }
        assertEquals(StatelessReset.RESET_BURST, sent, "one burst, then nothing");
        long later = 1_000_000_000L + 1_000_000_000L / StatelessReset.RESETS_PER_SECOND;
        ByteBuf one = r.answer(1, 1200, later, ALLOC);
        assertNotNull(one, "the budget refills with time");
        one.release();
        assertNull(r.answer(2, 1200, later, ALLOC));
        // Over a second of a steady flood, about RESETS_PER_SECOND go.
        int steady = 0;
        for (int ms = 1; ms <= 1000; ms++) {
            for (int i = 0; i < 10; i++) {
                ByteBuf b = r.answer(i, 1200, later + ms * 1_000_000L, ALLOC);
                if (b != null) {
                    steady++;
                    b.release();
                }
            }
        }
        assertTrue(steady <= StatelessReset.RESETS_PER_SECOND + StatelessReset.RESET_BURST, steady + " resets in 1 s");
        assertTrue(steady >= StatelessReset.RESETS_PER_SECOND - 1, steady + " resets in 1 s");
    }
}
