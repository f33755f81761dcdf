package dev.braid.tmp;

import io.netty.buffer.ByteBuf;

/**
 * The header of a TMP datagram (UDP carrier). Laid out so that the security layer can authenticate
 * the whole header as associated data and encrypt the payload (AEAD) without moving a byte:
 *
 * <pre>
 * long header (handshake, version negotiation):
 *   flags u8 | version u32 | destination connection id (8) | source connection id (8) | packet number u32 | payload [| AEAD tag]
 * short header (everything after the handshake):
 *   flags u8 | destination connection id (8) | packet number u32 | payload [| AEAD tag]
 *
 * flags: 0x80 long header, 0x40 fixed bit (always 1: tells TMP from stray traffic),
 *        0x30 long packet type (0 INITIAL, 1 VERSION_NEGOTIATION), 0x04 key phase (reserved for
 *        key updates), 0x03 reserved (0)
 * </pre>
 *
 * A version negotiation packet has version 0, the connection ids swapped, and lists the supported
 * versions (u32 each) instead of a packet number and payload. Packet numbers travel as their low 32
 * bits and are expanded against the largest received (RFC 9000 §A.3). The AEAD tag slot
 * ({@link #AEAD_TAG_BYTES}) is empty until encryption arrives; the header stays its associated data.
 */
public final class PacketHeader {

    public static final int FLAG_LONG = 0x80;
    public static final int FLAG_FIXED = 0x40;
    public static final int TYPE_MASK = 0x30;
    public static final int TYPE_INITIAL = 0x00;
    public static final int TYPE_VERSION_NEGOTIATION = 0x10;
    public static final int KEY_PHASE = 0x04;

    public static final int CID_BYTES = 8;
    public static final int LONG_HEADER_BYTES = 1 + 4 + CID_BYTES + CID_BYTES + 4;
    public static final int SHORT_HEADER_BYTES = 1 + CID_BYTES + 4;
    /** Bytes reserved after the payload for the authentication tag once packets are encrypted (none yet). */
    public static final int AEAD_TAG_BYTES = 0;

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
        out.writeByte(FLAG_FIXED);
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
