package dev.braid.tmp.noise;

import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * Stateless address-validation tokens for the UDP carrier's retry exchange: a token is a time
 * bucket and HMAC-BLAKE2s(secret, source address, source port, bucket) truncated to 16 bytes. A
 * responder answers an INITIAL without a valid token with a RETRY carrying a fresh one; only a
 * client that receives at its claimed address can echo it, so a spoofed-source flood costs the
 * responder one MAC per packet and no state.
 *
 * <p>A token is good for the bucket it was made in and the next one ({@link #BUCKET_MILLIS} each),
 * so it lives between 10 and 20 seconds. The secret is random per process: a restart invalidates
 * tokens in flight, which costs a client one more retry. Not thread-safe (one MAC object, reused):
 * use one instance per event loop.
 */
public final class RetryTokens {

    public static final int TOKEN_BYTES = 4 + 16;
    static final long BUCKET_MILLIS = 10_000;

    private final byte[] secret;
    private final HMac mac = new HMac(new Blake2sDigest(256));
    private final byte[] out = new byte[32];

    public RetryTokens(SecureRandom random) {
        this.secret = new byte[32];
        random.nextBytes(secret);
    }

    /** A token for {@code source} at {@code nowMillis}. */
    public byte[] mint(InetSocketAddress source, long nowMillis) {
        int bucket = (int) (nowMillis / BUCKET_MILLIS);
        byte[] token = new byte[TOKEN_BYTES];
        token[0] = (byte) (bucket >>> 24);
        token[1] = (byte) (bucket >>> 16);
        token[2] = (byte) (bucket >>> 8);
        token[3] = (byte) bucket;
        System.arraycopy(tag(source, bucket), 0, token, 4, 16);
        return token;
    }

    /** Whether {@code token[off, off + len)} is one this instance made for {@code source} in this bucket or the one before. */
    public boolean check(byte[] token, int off, int len, InetSocketAddress source, long nowMillis) {
        if (len != TOKEN_BYTES) {
            return false;
        }
        int bucket = ((token[off] & 0xff) << 24) | ((token[off + 1] & 0xff) << 16) | ((token[off + 2] & 0xff) << 8)
                | (token[off + 3] & 0xff);
        int now = (int) (nowMillis / BUCKET_MILLIS);
        if (bucket != now && bucket != now - 1) {
            return false;
        }
        byte[] expected = tag(source, bucket);
        return MessageDigest.isEqual(java.util.Arrays.copyOf(expected, 16),
                java.util.Arrays.copyOfRange(token, off + 4, off + TOKEN_BYTES));
    }

    private byte[] tag(InetSocketAddress source, int bucket) {
        mac.init(new KeyParameter(secret));
        byte[] address = source.getAddress().getAddress();
        mac.update(address, 0, address.length);
        int port = source.getPort();
        mac.update((byte) (port >>> 8));
        mac.update((byte) port);
        mac.update((byte) (bucket >>> 24));
        mac.update((byte) (bucket >>> 16));
        mac.update((byte) (bucket >>> 8));
        mac.update((byte) bucket);
        mac.doFinal(out, 0);
        return out;
    }
}
