package dev.braid.tmp;

import io.netty.buffer.ByteBuf;

/**
 * Variable-length unsigned integers as in RFC 9000 §16: the two high bits of the first byte give
 * the length (1, 2, 4 or 8 bytes), the rest is the value, big-endian. Values up to 2^62 - 1.
 */
public final class VarInt {

    public static final long MAX = (1L << 62) - 1;

    private VarInt() {
    }

    public static int size(long v) {
        if (v < 0 || v > MAX) {
            throw new IllegalArgumentException("varint: " + v + " (expected: 0.." + MAX + ")");
        }
        return v < 64 ? 1 : v < 16384 ? 2 : v < 1073741824 ? 4 : 8;
    }

    public static void write(ByteBuf out, long v) {
        switch (size(v)) {
            case 1 -> out.writeByte((int) v);
            case 2 -> out.writeShort((int) (0x4000 | v));
            case 4 -> out.writeInt((int) (0x80000000L | v));
            default -> out.writeLong(0xC000000000000000L | v);
        }
    }

    /** Reads one varint, checking that its bytes are there first. */
    public static long read(ByteBuf in) throws TmpProtocolException {
        if (!in.isReadable()) {
            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "truncated varint");
        }
        int first = in.getUnsignedByte(in.readerIndex());
        int len = 1 << (first >> 6);
        if (in.readableBytes() < len) {
            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "truncated varint");
        }
        return switch (len) {
            case 1 -> in.readUnsignedByte();
            case 2 -> in.readUnsignedShort() & 0x3FFF;
            case 4 -> in.readUnsignedInt() & 0x3FFFFFFFL;
            default -> in.readLong() & 0x3FFFFFFFFFFFFFFFL;
        };
    }
}
