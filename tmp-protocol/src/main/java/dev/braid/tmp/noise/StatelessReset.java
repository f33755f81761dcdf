package dev.braid.tmp.noise;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;

/**
 * Stateless reset of the UDP carrier (RFC 9000 §10.3): lets a node that lost a link's state (a
 * crash and restart) tell the peer at once, instead of the peer waiting for its timeouts.
 *
 * <p>Each connection id has a 16-byte token, HMAC-BLAKE2s(reset key, connection id) truncated,
 * which its owner sends to the peer with its HELLO (inside sealed packets on an encrypted link).
 * The reset key is derived from the node's X25519 static key ({@link #fromStaticKey}), so a
 * restarted node computes the same tokens without keeping any state, and nobody without the
 * static key can; the peer learns a token only through the authenticated, encrypted link. A node
 * that receives a short-header packet for a connection id it does not know answers, through a
 * {@link Responder}, with a datagram that looks like a short-header packet and ends in that id's
 * token: shorter than the packet it answers (no amplification, and two nodes that both lost their
 * state cannot bounce resets forever), never to a packet too short to be answered so, and at a
 * bounded rate. The peer that recognises the token at the end of a datagram it cannot otherwise
 * use closes the link.
 *
 * <p>Plain text ({@link #PLAIN_TEXT}): with no static key there is no secret that survives a
 * restart, and a token travels in clear in the HELLO anyway. The key is then a fixed, public one,
 * so a token proves only knowledge of the connection id: exactly what forging a CLOSE on a plain
 * text link already needs (packets are not authenticated). Resets thus work across restarts in
 * plain text without making the link easier to kill than it already is; docs/security.md says so.
 *
 * <p>Token computation is thread-safe (a MAC per call: tokens are made once per connection and
 * once per reset sent); a {@link Responder} is confined to its carrier's event loop.
 */
public final class StatelessReset {

    public static final int TOKEN_BYTES = 16;
    /** Header bytes of a short-header packet: flags, destination connection id, packet number. */
    static final int SHORT_HEADER_BYTES = 1 + 8 + 4;
    /**
     * The shortest reset: as long as the shortest sealed packet (header, one frame byte, tag), so
     * that on an encrypted link a reset cannot be told from a packet by its length.
     */
    public static final int MIN_RESET_BYTES = SHORT_HEADER_BYTES + 1 + TOKEN_BYTES;
    /** Resets are between {@link #MIN_RESET_BYTES} and this long (random), always shorter than what they answer. */
    static final int MAX_RESET_BYTES = MIN_RESET_BYTES + 24;
    /** Resets a responder sends at most per second, and in one burst. */
    public static final int RESETS_PER_SECOND = 100;
    public static final int RESET_BURST = 20;

    private static final byte[] LABEL = "braid tmp stateless reset v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PLAIN_TEXT_KEY = "braid tmp stateless reset, plain text: no secret"
            .getBytes(StandardCharsets.US_ASCII);

    /** The tokens of a node without a static key (plain text): see the class comment. */
    public static final StatelessReset PLAIN_TEXT = new StatelessReset(mac(PLAIN_TEXT_KEY, LABEL));

    private final byte[] key;

    private StatelessReset(byte[] key) {
        this.key = key;
    }

    /** The tokens of a node whose X25519 static key is {@code staticKey}: the same after every restart. */
    public static StatelessReset fromStaticKey(X25519Keys staticKey) {
        return new StatelessReset(mac(staticKey.privateKeyForDerivation(), LABEL));
    }

    /** The token of connection id {@code cid}. */
    public byte[] token(long cid) {
        byte[] id = new byte[8];
        for (int i = 0; i < 8; i++) {
            id[i] = (byte) (cid >>> (56 - 8 * i));
        }
        return Arrays.copyOf(mac(key, id), TOKEN_BYTES);
    }

    private static byte[] mac(byte[] key, byte[] data) {
        HMac mac = new HMac(new Blake2sDigest(256));
        mac.init(new KeyParameter(key));
        mac.update(data, 0, data.length);
        byte[] out = new byte[32];
        mac.doFinal(out, 0);
        return out;
    }

    /**
     * Whether the datagram {@code d} (readable bytes) is at least a reset's length and ends in
     * {@code token} (compared in constant time).
     */
    public static boolean endsWith(ByteBuf d, byte[] token) {
        if (token == null || d.readableBytes() < MIN_RESET_BYTES) {
            return false;
        }
        byte[] tail = new byte[TOKEN_BYTES];
        d.getBytes(d.writerIndex() - TOKEN_BYTES, tail);
        return MessageDigest.isEqual(tail, token);
    }

    /**
     * Answers short-header packets for unknown connection ids on one socket: decides whether a
     * reset may go (length, rate) and writes it. Sans I/O (time and randomness are given); confined
     * to one thread.
     */
    public static final class Responder {
        private final StatelessReset tokens;
        private final Random random;
        private final long perTokenNanos = 1_000_000_000L / RESETS_PER_SECOND;
        private long budgetNanos;
        private long last;
        private boolean started;
        private long sent;
        private long refused;

        public Responder(StatelessReset tokens, Random random) {
            this.tokens = tokens;
            this.random = random;
        }

        /**
         * The reset answering {@code trigger} (a short-header packet of {@code triggerBytes} bytes whose
         * destination connection id {@code cid} is unknown here), or null when none may go: the trigger
         * is not longer than the shortest reset, or the rate limit is spent.
         */
        public ByteBuf answer(long cid, int triggerBytes, long nowNanos, ByteBufAllocator alloc) {
            if (triggerBytes <= MIN_RESET_BYTES) {
                refused++;
                return null;
            }
            if (!takeBudget(nowNanos)) {
                refused++;
                return null;
            }
            int length = Math.min(triggerBytes - 1, MIN_RESET_BYTES + random.nextInt(MAX_RESET_BYTES - MIN_RESET_BYTES + 1));
            ByteBuf out = alloc.directBuffer(length);
            // Fixed bit set, long-header bit clear, a random key phase: the first byte of a short header.
            out.writeByte(0x40 | (random.nextBoolean() ? 0x04 : 0));
            byte[] unpredictable = new byte[length - 1 - TOKEN_BYTES];
            random.nextBytes(unpredictable);
            out.writeBytes(unpredictable);
            out.writeBytes(tokens.token(cid));
            sent++;
            return out;
        }

        private boolean takeBudget(long now) {
            long cap = RESET_BURST * perTokenNanos;
            if (!started) {
                started = true;
                budgetNanos = cap;
            } else {
                budgetNanos = Math.min(cap, budgetNanos + Math.max(0, now - last));
            }
            last = now;
            if (budgetNanos < perTokenNanos) {
                return false;
            }
            budgetNanos -= perTokenNanos;
            return true;
        }

        /** Resets written so far. */
        public long sent() {
            return sent;
        }

        /** Unknown-id packets left unanswered (too short, or over the rate). */
        public long refused() {
            return refused;
        }
    }
}
