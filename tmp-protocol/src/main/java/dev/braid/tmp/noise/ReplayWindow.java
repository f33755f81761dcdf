package dev.braid.tmp.noise;

/**
 * A sliding anti-replay window over packet numbers, the bitmap of RFC 6479: a ring of 64-bit
 * words, one bit per packet number, of which {@link #WINDOW} below the highest seen are
 * remembered. Accepting a new highest number clears only the words it slides past, so the cost is
 * constant per packet whatever the jump. Use it on authenticated packets only (after the AEAD
 * check), so that a forged number cannot move the window.
 */
public final class ReplayWindow {

    /** Packet numbers remembered below the highest one seen. */
    public static final int WINDOW = 2048;
    private static final int WORDS = WINDOW / 64 + 1; // one spare word: the window slides by whole words
    private static final int BITS = WORDS * 64;

    private final long[] bitmap = new long[WORDS];
    private long top = -1;

    /** The result of {@link #check}. */
    public enum Verdict { NEW, DUPLICATE, TOO_OLD }

    /** Whether {@code pn} may be accepted; changes nothing. */
    public Verdict check(long pn) {
        if (pn > top) {
            return Verdict.NEW;
        }
        if (top - pn >= WINDOW) {
            return Verdict.TOO_OLD;
        }
        int bit = (int) (pn % BITS);
        return (bitmap[bit >>> 6] & (1L << (bit & 63))) != 0 ? Verdict.DUPLICATE : Verdict.NEW;
    }

    /** Records {@code pn} as seen; call only after {@link #check} said NEW and the packet authenticated. */
    public void mark(long pn) {
        if (pn > top) {
            long fromWord = top < 0 ? 0 : (top / 64) + 1;
            long toWord = pn / 64;
            long clear = Math.min(toWord - fromWord + 1, WORDS);
            for (long w = 0; w < clear; w++) {
                bitmap[(int) ((fromWord + w) % WORDS)] = 0;
            }
            top = pn;
        }
        int bit = (int) (pn % BITS);
        bitmap[bit >>> 6] |= 1L << (bit & 63);
    }

    /** The highest packet number seen, -1 before any. */
    public long highest() {
        return top;
    }
}
