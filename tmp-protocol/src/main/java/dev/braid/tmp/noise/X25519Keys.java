package dev.braid.tmp.noise;

import org.bouncycastle.math.ec.rfc7748.X25519;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An X25519 key pair (RFC 7748) as Noise uses it: 32-byte private scalar, 32-byte public
 * u-coordinate. The private half is never printed.
 */
public final class X25519Keys {

    public static final int KEY_BYTES = 32;

    private final byte[] privateKey;
    private final byte[] publicKey;

    private X25519Keys(byte[] privateKey) {
        this.privateKey = privateKey;
        this.publicKey = new byte[KEY_BYTES];
        X25519.scalarMultBase(privateKey, 0, publicKey, 0);
    }

    /** A fresh key pair. */
    public static X25519Keys generate(SecureRandom random) {
        byte[] k = new byte[KEY_BYTES];
        X25519.generatePrivateKey(random, k);
        return new X25519Keys(k);
    }

    /** The pair of a known private key (test vectors, key files). */
    public static X25519Keys fromPrivate(byte[] privateKey) {
        if (privateKey.length != KEY_BYTES) {
            throw new IllegalArgumentException("X25519 private key: " + privateKey.length
                    + " bytes (expected: " + KEY_BYTES + ")");
        }
        return new X25519Keys(privateKey.clone());
    }

    /** The private scalar, for deriving node-local secrets from the static key ({@link StatelessReset}). */
    byte[] privateKeyForDerivation() {
        return privateKey.clone();
    }

    public byte[] publicKey() {
        return publicKey.clone();
    }

    /**
     * DH(this, remote) per the Noise spec §12.1.
     *
     * @throws NoiseException for a low-order remote key (an all-zero shared secret), which
     *                        would let the peer force a known secret
     */
    byte[] agree(byte[] remotePublic) throws NoiseException {
        byte[] out = new byte[KEY_BYTES];
        if (!X25519.calculateAgreement(privateKey, 0, remotePublic, 0, out, 0)) {
            throw new NoiseException("X25519 with a low-order public key");
        }
        return out;
    }

    @Override
    public String toString() {
        return "X25519 " + HexFormat.of().formatHex(publicKey);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof X25519Keys k && Arrays.equals(k.publicKey, publicKey);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(publicKey);
    }
}
