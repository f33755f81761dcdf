package dev.braid.tmp.noise;

import org.bouncycastle.crypto.digests.Blake2sDigest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;

import java.nio.charset.StandardCharsets;

/**
 * The Noise SymmetricState (spec revision 34, §5.2) with BLAKE2s (§12.6): HASHLEN 32, BLOCKLEN
 * 64, HMAC per RFC 2104 and HKDF as §4.3 defines it. Package-private: only {@link NoiseIK} drives it.
 */
final class SymmetricState {

    static final int HASH_LEN = 32;

    private final CipherState cipher = new CipherState();
    private byte[] ck;
    private byte[] h;

    SymmetricState(String protocolName) {
        byte[] name = protocolName.getBytes(StandardCharsets.US_ASCII);
        if (name.length <= HASH_LEN) {
            h = java.util.Arrays.copyOf(name, HASH_LEN);
        } else {
            h = hash(name);
        }
        ck = h.clone();
    }

    void mixKey(byte[] ikm) {
        byte[][] out = hkdf(ck, ikm, 2);
        ck = out[0];
        cipher.initializeKey(out[1]);
    }

    void mixHash(byte[] data) {
        h = hash(h, data);
    }

    byte[] encryptAndHash(byte[] plaintext) {
        byte[] c = cipher.encryptWithAd(h, plaintext);
        mixHash(c);
        return c;
    }

    byte[] decryptAndHash(byte[] ciphertext) throws NoiseException {
        byte[] p = cipher.decryptWithAd(h, ciphertext);
        mixHash(ciphertext);
        return p;
    }

    /** Split(): the initiator's sending key first, then the responder's. */
    byte[][] split() {
        return hkdf(ck, new byte[0], 2);
    }

    byte[] handshakeHash() {
        return h.clone();
    }

    static byte[] hash(byte[]... parts) {
        Blake2sDigest d = new Blake2sDigest(HASH_LEN * 8);
        for (byte[] p : parts) {
            d.update(p, 0, p.length);
        }
        byte[] out = new byte[HASH_LEN];
        d.doFinal(out, 0);
        return out;
    }

    static byte[] hmac(byte[] key, byte[]... parts) {
        HMac mac = new HMac(new Blake2sDigest(HASH_LEN * 8));
        mac.init(new KeyParameter(key));
        for (byte[] p : parts) {
            mac.update(p, 0, p.length);
        }
        byte[] out = new byte[HASH_LEN];
        mac.doFinal(out, 0);
        return out;
    }

    /** HKDF(chaining_key, input_key_material, num_outputs) of §4.3, for 2 or 3 outputs. */
    static byte[][] hkdf(byte[] chainingKey, byte[] ikm, int outputs) {
        byte[] temp = hmac(chainingKey, ikm);
        byte[][] out = new byte[outputs][];
        out[0] = hmac(temp, new byte[] {1});
        for (int i = 1; i < outputs; i++) {
            out[i] = hmac(temp, out[i - 1], new byte[] {(byte) (i + 1)});
        }
        return out;
    }
}
