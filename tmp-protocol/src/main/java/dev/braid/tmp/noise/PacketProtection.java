package dev.braid.tmp.noise;

import io.netty.buffer.ByteBuf;

/**
 * Per-packet authenticated encryption of one UDP link, with key updates. Each packet is sealed
 * with ChaCha20-Poly1305 under its direction's key, with the packet number as the nonce (Noise
 * §11.4, explicit nonces for out-of-order transport messages) and the packet header as associated
 * data; the 16-byte tag follows the payload. Encryption and decryption work in place, through one
 * scratch array per link; the cipher objects are created once per key.
 *
 * <p>Key update: after {@code updatePackets} packets or {@code updateInterval} under one key, the
 * sender moves to the next key, {@code Rekey()} of the current one (Noise §11.3), and flips the
 * KEY_PHASE bit of the header. It moves on only after the peer acknowledged a packet sent under the
 * current key, so the receiver is never more than one phase behind (the rule of RFC 9001 §6.2).
 * The receiver holds the next key ready, switches when a packet with the other phase bit opens
 * under it, and keeps the previous key for {@link #RETAIN_NANOS} for packets reordered across the
 * switch (those numbered below the first packet of the new phase). Each direction updates on its
 * own schedule.
 *
 * <p>Sans I/O (time is a parameter) and confined to the link's thread.
 */
public final class PacketProtection {

    public static final int TAG_BYTES = CipherState.TAG_BYTES;
    /** How long the previous receive key stays usable after a key update (reordered packets). */
    public static final long RETAIN_NANOS = 3_000_000_000L;

    private final long updatePackets;
    private final long updateIntervalNanos;
    private final byte[] scratch;

    private CipherState send;
    private long sendPhase;
    private long sendPhaseFirstPn;
    private long sendPhasePackets;
    private long sendPhaseStart;

    private CipherState receive;
    private CipherState receiveNext;
    private CipherState receivePrevious;
    private long receivePhase;
    private long receivePhaseFirstPn;
    private long previousUntil;

    /**
     * @param keys                the transport keys of the handshake
     * @param updatePackets       packets sent under one key before the next (>= 1)
     * @param updateIntervalNanos time under one key before the next (> 0)
     * @param maxPacketBytes      the largest packet, tag included, either way
     */
    public PacketProtection(NoiseIK.TransportKeys keys, long updatePackets, long updateIntervalNanos,
                            int maxPacketBytes, long nowNanos) {
        if (updatePackets < 1 || updateIntervalNanos <= 0) {
            throw new IllegalArgumentException("key update: " + updatePackets + " packets, " + updateIntervalNanos
                    + " ns (expected: >= 1 packet, > 0 ns)");
        }
        this.updatePackets = updatePackets;
        this.updateIntervalNanos = updateIntervalNanos;
        this.scratch = new byte[maxPacketBytes];
        this.send = new CipherState(keys.send());
        this.receive = new CipherState(keys.receive());
        this.receiveNext = next(receive);
        this.sendPhaseStart = nowNanos;
    }

    private static CipherState next(CipherState c) {
        CipherState n = c.copy();
        n.rekey();
        return n;
    }

    /**
     * The key phase bit for packet {@code pn}, about to be sent: moves to the next key first when
     * the current one is due and the peer acknowledged one of its packets ({@code largestAcked}, -1 for none).
     */
    public boolean sendKeyPhase(long nowNanos, long pn, long largestAcked) {
        boolean due = sendPhasePackets >= updatePackets || nowNanos - sendPhaseStart >= updateIntervalNanos;
        if (due && largestAcked >= sendPhaseFirstPn && pn > sendPhaseFirstPn) {
            send.rekey();
            sendPhase++;
            sendPhaseFirstPn = pn;
            sendPhasePackets = 0;
            sendPhaseStart = nowNanos;
        }
        return (sendPhase & 1) != 0;
    }

    /**
     * Whether a key update is due but waits for the peer to acknowledge a packet of the current
     * phase: on a link that sends nothing ack-eliciting the caller then sends a PING, so that updates
     * by time happen on quiet links too.
     */
    public boolean updateWaitsForAck(long nowNanos, long largestAcked) {
        boolean due = sendPhasePackets >= updatePackets || nowNanos - sendPhaseStart >= updateIntervalNanos;
        return due && largestAcked < sendPhaseFirstPn;
    }

    /** When the current send key falls due by time. */
    public long updateDueNanos() {
        return sendPhaseStart + updateIntervalNanos;
    }

    /**
     * Encrypts the payload of the packet in {@code packet[start, writerIndex)} in place and appends
     * the tag; the first {@code headerBytes} (the header) are authenticated, not encrypted. The
     * caller must have called {@link #sendKeyPhase} for {@code pn} and written its bit into the header.
     */
    public void seal(ByteBuf packet, int start, int headerBytes, long pn) {
        int len = packet.writerIndex() - start;
        packet.getBytes(start, scratch, 0, len);
        send.seal(pn, scratch, 0, headerBytes, scratch, headerBytes, len - headerBytes);
        packet.setBytes(start + headerBytes, scratch, headerBytes, len - headerBytes);
        packet.writeBytes(scratch, len, TAG_BYTES);
        sendPhasePackets++;
    }

    /**
     * Authenticates and decrypts the packet in {@code packet[start, writerIndex)} in place; on success
     * the tag is cut off (the writer index moves back by {@link #TAG_BYTES}).
     *
     * @return false when the packet does not authenticate under the key its phase bit names
     *         (tampered, forged, truncated, or under a key already discarded); the buffer's content is
     *         then unspecified and the packet must be dropped
     */
    public boolean open(ByteBuf packet, int start, int headerBytes, long pn, boolean keyPhase, long nowNanos) {
        int len = packet.writerIndex() - start;
        if (len < headerBytes + TAG_BYTES || len > scratch.length) {
            return false;
        }
        if (receivePrevious != null && nowNanos >= previousUntil) {
            receivePrevious = null;
        }
        packet.getBytes(start, scratch, 0, len);
        boolean current = ((receivePhase & 1) != 0) == keyPhase;
        boolean ok;
        if (current) {
            ok = receive.open(pn, scratch, 0, headerBytes, scratch, headerBytes, len - headerBytes);
        } else if (pn < receivePhaseFirstPn) {
            ok = receivePrevious != null
                    && receivePrevious.open(pn, scratch, 0, headerBytes, scratch, headerBytes, len - headerBytes);
        } else {
            ok = receiveNext.open(pn, scratch, 0, headerBytes, scratch, headerBytes, len - headerBytes);
            if (ok) {
                receivePrevious = receive;
                previousUntil = nowNanos + RETAIN_NANOS;
                receive = receiveNext;
                receiveNext = next(receive);
                receivePhase++;
                receivePhaseFirstPn = pn;
            }
        }
        if (!ok) {
            return false;
        }
        packet.setBytes(start + headerBytes, scratch, headerBytes, len - headerBytes - TAG_BYTES);
        packet.writerIndex(packet.writerIndex() - TAG_BYTES);
        return true;
    }

    /** Key updates made by this side (its sending direction). */
    public long sendPhase() {
        return sendPhase;
    }

    /** Key updates the peer made (this side's receiving direction). */
    public long receivePhase() {
        return receivePhase;
    }
}
