package dev.braid.tmp;

import io.netty.buffer.ByteBuf;

/**
 * The header of a TMP datagram (UDP carrier). Laid out so that the security layer authenticates
 * the whole header as associated data and encrypts the payload (AEAD) without moving a byte:
 *
 * <pre>
 * long header (handshake, retry, version negotiation):
 *   flags u8 | version u32 | destination connection id (8) | source connection id (8) | packet number u32 | payload
 * short header (everything after the handshake):
 *   flags u8 | destination connection id (8) | packet number u32 | payload [| AEAD tag (16)]
 *
 * flags: 0x80 long header, 0x40 fixed bit (always 1: tells TMP from stray traffic),
 *        0x30 long packet type (0 INITIAL, 1 VERSION_NEGOTIATION, 2 HANDSHAKE, 3 RETRY),
 *        0x04 key phase (short header: which key sealed the packet), 0x03 reserved (0)
 * </pre>
 *
 * A version negotiation packet has version 0, the connection ids swapped, and lists the supported
 * versions (u32 each) instead of a packet number and payload. Packet numbers travel as their low 32
 * bits and are expanded against the largest received (RFC 9000 §A.3).
 *
 * <p>With encryption ({@link UdpSecurity}) the handshake rides in long-header packets whose packet
 * number field is 0: INITIAL carries {@code token length u16 | token | Noise IK message 1}, HANDSHAKE
 * carries message 2, RETRY carries a fresh address token; every other packet has a short header
 * and is sealed with ChaCha20-Poly1305, the packet number as nonce and the header as associated
 * data, followed by its {@link #AEAD_TAG_BYTES}-byte tag. Without encryption (plain text) the
 * handshake is HELLO frames in INITIAL packets and there is no tag.
 */
public final class PacketHeader {

    public static final int FLAG_LONG = 0x80;
    public static final int FLAG_FIXED = 0x40;
    public static final int TYPE_MASK = 0x30;
    public static final int TYPE_INITIAL = 0x00;
    public static final int TYPE_VERSION_NEGOTIATION = 0x10;
    public static final int TYPE_HANDSHAKE = 0x20;
    public static final int TYPE_RETRY = 0x30;
    public static final int KEY_PHASE = 0x04;

    public static final int CID_BYTES = 8;
    public static final int LONG_HEADER_BYTES = 1 + 4 + CID_BYTES + CID_BYTES + 4;
    public static final int SHORT_HEADER_BYTES = 1 + CID_BYTES + 4;
    /** Bytes after the payload of an encrypted short-header packet: the Poly1305 tag. */
    public static final int AEAD_TAG_BYTES = 16;
    /** Bytes of the INITIAL's token length field. */
    static final int TOKEN_LENGTH_BYTES = 2;

    private PacketHeader() {
    }

    /** Whether the datagram starts like a TMP packet (fixed bit set, long enough for its header). */
    public static boolean isTmp(ByteBuf d) {
        if (d.readableBytes() < SHORT_HEADER_BYTES) {
            return false;
        }
        int flags = d.getUnsignedByte(d.readerIndex());
        return (flags & FLAG_FIXED) != 0 && ((flags & FLAG_LONG) == 0 || d.readableBytes() >= LONG_HEADER_BYTES - 4);
    }

    public static boolean isLong(ByteBuf d) {
        return (d.getUnsignedByte(d.readerIndex()) & FLAG_LONG) != 0;
    }

    /** The destination connection id, which names the link at the receiver (not the address: NAT rebinding survives). */
    public static long destinationCid(ByteBuf d) {
        return d.getLong(d.readerIndex() + (isLong(d) ? 5 : 1));
    }

    /** The source connection id of a long-header packet. */
    public static long sourceCid(ByteBuf d) {
        return d.getLong(d.readerIndex() + 13);
    }

    /** The version of a long-header packet (0 for version negotiation). */
    public static int version(ByteBuf d) {
        return d.getInt(d.readerIndex() + 1);
    }

    static void writeLong(ByteBuf out, int type, int version, long dcid, long scid, long pn) {
        out.writeByte(FLAG_LONG | FLAG_FIXED | type);
        out.writeInt(version);
        out.writeLong(dcid);
        out.writeLong(scid);
        out.writeInt((int) pn);
    }

    static void writeShort(ByteBuf out, long dcid, long pn) {
        writeShort(out, dcid, pn, false);
    }

    static void writeShort(ByteBuf out, long dcid, long pn, boolean keyPhase) {
        out.writeByte(FLAG_FIXED | (keyPhase ? KEY_PHASE : 0));
        out.writeLong(dcid);
        out.writeInt((int) pn);
    }

    /** RFC 9000 §A.3 with 32-bit truncation: the packet number closest to {@code largest + 1}. */
    static long decodePacketNumber(long largest, long truncated) {
        long expected = largest + 1;
        long win = 1L << 32;
        long hwin = win / 2;
        long mask = win - 1;
        long candidate = (expected & ~mask) | truncated;
        if (candidate <= expected - hwin && candidate < (1L << 62) - win) {
            return candidate + win;
        }
        if (candidate > expected + hwin && candidate >= win) {
            return candidate - win;
        }
        return candidate;
    }
}
