package dev.braid.tmp.noise;

import java.util.Arrays;

/**
 * The handshake of {@code Noise_IK_25519_ChaChaPoly_BLAKE2s}, as the Noise Protocol Framework
 * (revision 34) specifies it, sans I/O: the caller moves the messages.
 *
 * <pre>
 * IK:
 *   &lt;- s
 *   ...
 *   -&gt; e, es, s, ss
 *   &lt;- e, ee, se
 * </pre>
 *
 * The initiator knows the responder's static key beforehand, so message 1 is already encrypted
 * to it and carries the initiator's static key hidden; after message 2 both sides hold the two
 * transport keys ({@link #split()}) and the peer's authenticated static key. Message sizes: 96
 * bytes plus the payload plus 16 for message 1, 48 plus the payload plus 16 for message 2.
 * Checked against published test vectors ({@code NoiseIKVectorsTest}).
 *
 * <p>Randomness comes in as a parameter (the ephemeral key), so the object itself is
 * deterministic. One instance runs one handshake; not thread-safe.
 */
public final class NoiseIK {

    public static final String PROTOCOL_NAME = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
    /** Bytes message 1 adds to its payload: e (32), encrypted s (32 + 16), the payload's tag (16). */
    public static final int MESSAGE1_OVERHEAD = 32 + 48 + CipherState.TAG_BYTES;
    /** Bytes message 2 adds to its payload: e (32), the payload's tag (16). */
    public static final int MESSAGE2_OVERHEAD = 32 + CipherState.TAG_BYTES;

    private enum Step { WRITE_1, READ_1, WRITE_2, READ_2, DONE, FAILED }

    /** The two transport keys of a finished handshake, from this side's point of view. */
    public record TransportKeys(byte[] send, byte[] receive, byte[] handshakeHash) {
    }

    private final boolean initiator;
    private final SymmetricState ss = new SymmetricState(PROTOCOL_NAME);
    private final X25519Keys s;
    private final X25519Keys e;
    private byte[] rs;
    private byte[] re;
    private Step step;

    private NoiseIK(boolean initiator, byte[] prologue, X25519Keys s, X25519Keys e, byte[] rs) {
        this.initiator = initiator;
        this.s = s;
        this.e = e;
        this.rs = rs;
        ss.mixHash(prologue);
        // The pre-message "<- s": both sides hash the responder's static key.
        ss.mixHash(initiator ? rs : s.publicKey());
        this.step = initiator ? Step.WRITE_1 : Step.READ_1;
    }

    /**
     * @param prologue        data both sides must agree on, hashed in (not sent)
     * @param localStatic     this side's static key pair
     * @param ephemeral       a fresh key pair for this handshake only
     * @param responderStatic the responder's static public key, known beforehand
     */
    public static NoiseIK initiator(byte[] prologue, X25519Keys localStatic, X25519Keys ephemeral,
                                    byte[] responderStatic) {
        if (responderStatic.length != X25519Keys.KEY_BYTES) {
            throw new IllegalArgumentException("responderStatic: " + responderStatic.length + " bytes (expected: 32)");
        }
        return new NoiseIK(true, prologue, localStatic, ephemeral, responderStatic.clone());
    }

    public static NoiseIK responder(byte[] prologue, X25519Keys localStatic, X25519Keys ephemeral) {
        return new NoiseIK(false, prologue, localStatic, ephemeral, null);
    }

    /** Message 1 (initiator) or 2 (responder) carrying {@code payload}, encrypted. */
    public byte[] writeMessage(byte[] payload) throws NoiseException {
        if (step == Step.WRITE_1) {
            byte[] ePub = e.publicKey();
            ss.mixHash(ePub);
            ss.mixKey(e.agree(rs));                       // es
            byte[] sEnc = ss.encryptAndHash(s.publicKey()); // s
            ss.mixKey(s.agree(rs));                       // ss
            byte[] body = ss.encryptAndHash(payload);
            step = Step.READ_2;
            return concat(ePub, sEnc, body);
        }
        if (step == Step.WRITE_2) {
            byte[] ePub = e.publicKey();
            ss.mixHash(ePub);
            ss.mixKey(e.agree(re));                       // ee
            ss.mixKey(e.agree(rs));                       // se (responder: DH(e, rs))
            byte[] body = ss.encryptAndHash(payload);
            step = Step.DONE;
            return concat(ePub, body);
        }
        throw new IllegalStateException("no message to write in step " + step);
    }

    /**
     * Reads message 1 (responder) or 2 (initiator) and returns its payload.
     *
     * @throws NoiseException when the message is too short or fails authentication; the
     *                        handshake is then unusable
     */
    public byte[] readMessage(byte[] message) throws NoiseException {
        Step was = step;
        step = Step.FAILED;
        if (was == Step.READ_1) {
            if (message.length < MESSAGE1_OVERHEAD) {
                throw new NoiseException("handshake message 1 of " + message.length + " bytes (expected: >= "
                        + MESSAGE1_OVERHEAD + ")");
            }
            re = Arrays.copyOfRange(message, 0, 32);
            ss.mixHash(re);
            ss.mixKey(s.agree(re));                       // es (responder: DH(s, re))
            rs = ss.decryptAndHash(Arrays.copyOfRange(message, 32, 80));
            ss.mixKey(s.agree(rs));                       // ss
            byte[] payload = ss.decryptAndHash(Arrays.copyOfRange(message, 80, message.length));
            step = Step.WRITE_2;
            return payload;
        }
        if (was == Step.READ_2) {
            if (message.length < MESSAGE2_OVERHEAD) {
                throw new NoiseException("handshake message 2 of " + message.length + " bytes (expected: >= "
                        + MESSAGE2_OVERHEAD + ")");
            }
            re = Arrays.copyOfRange(message, 0, 32);
            ss.mixHash(re);
            ss.mixKey(e.agree(re));                       // ee
            ss.mixKey(s.agree(re));                       // se (initiator: DH(s, re))
            byte[] payload = ss.decryptAndHash(Arrays.copyOfRange(message, 32, message.length));
            step = Step.DONE;
            return payload;
        }
        step = was;
        throw new IllegalStateException("no message to read in step " + was);
    }

    public boolean isComplete() {
        return step == Step.DONE;
    }

    /** The peer's static public key: known from the start (initiator) or after message 1 (responder). */
    public byte[] remoteStatic() {
        return rs == null ? null : rs.clone();
    }

    /** The handshake hash h (channel binding; the test vectors check it). */
    public byte[] handshakeHash() {
        return ss.handshakeHash();
    }

    /** Split() once the handshake is complete: this side's sending and receiving keys. */
    public TransportKeys split() {
        if (step != Step.DONE) {
            throw new IllegalStateException("handshake not complete (step " + step + ")");
        }
        byte[][] k = ss.split();
        return initiator ? new TransportKeys(k[0], k[1], ss.handshakeHash())
                : new TransportKeys(k[1], k[0], ss.handshakeHash());
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
