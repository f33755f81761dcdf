package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

import java.nio.charset.StandardCharsets;

/**
 * The TMP frame layer, shared by every carrier: a packet is a sequence of frames, each a type byte
 * followed by its fields (varints per {@link VarInt}, strings as a varint length and UTF-8 bytes).
 * The TCP carrier puts packets in a length-prefixed stream; the UDP carrier puts one packet in an
 * authenticated datagram. {@code docs/tmp.md} is the wire reference.
 *
 * <p>Decoding checks every length before reading and reports a malformed packet with one
 * {@link TmpProtocolException}; it never reads past the packet and never throws anything else.
 */
public final class Frames {

    public static final int HELLO = 0x01;
    public static final int STREAM_OPEN = 0x02;
    public static final int DATA = 0x03;
    public static final int RESET = 0x04;
    public static final int MAX_STREAM_DATA = 0x05;
    public static final int MAX_DATA = 0x06;
    public static final int PING = 0x07;
    public static final int PING_ACK = 0x08;
    public static final int GOAWAY = 0x09;

    /** DATA flag: the frame ends the stream. */
    public static final int FLAG_FIN = 0x01;
    /** STREAM_OPEN flag: the stream's payload is worth compressing. */
    public static final int FLAG_COMPRESSIBLE = 0x01;

    /** Longest string field (node names, class names, reasons), in UTF-8 bytes. */
    public static final int MAX_STRING_BYTES = 1024;

    /** Upper bound of a DATA frame's header: type, stream id, offset, length (up to 8 bytes each) and flags. */
    public static final int MAX_DATA_HEADER_BYTES = 1 + 8 + 8 + 8 + 1;

    private Frames() {
    }

    /** Receives decoded frames. DATA payloads are retained slices the visitor owns and must release. */
    public interface Visitor {
        void hello(int version, int role, String nodeName, long maxData, long streamWindow) throws TmpProtocolException;

        void streamOpen(long streamId, int ring, int flags, String clientClass) throws TmpProtocolException;

        void data(long streamId, long offset, ByteBuf payload, boolean fin) throws TmpProtocolException;

        void reset(long streamId, ResetCode code, String reason) throws TmpProtocolException;

        void maxStreamData(long streamId, long maxOffset) throws TmpProtocolException;

        void maxData(long maxOffset) throws TmpProtocolException;

        void ping(long opaque, boolean ack) throws TmpProtocolException;

        void goaway(long lastStreamId, ResetCode code, String reason) throws TmpProtocolException;
    }

    public static void writeHello(ByteBuf out, int version, int role, String nodeName, long maxData, long streamWindow) {
        out.writeByte(HELLO);
        VarInt.write(out, version);
        out.writeByte(role);
        writeString(out, nodeName);
        VarInt.write(out, maxData);
        VarInt.write(out, streamWindow);
    }

    public static void writeStreamOpen(ByteBuf out, long streamId, int ring, int flags, String clientClass) {
        out.writeByte(STREAM_OPEN);
        VarInt.write(out, streamId);
        out.writeByte(ring);
        out.writeByte(flags);
        writeString(out, clientClass);
    }

    /** Writes a DATA frame header; the caller writes {@code length} payload bytes right after it. */
    public static void writeDataHeader(ByteBuf out, long streamId, long offset, int length, boolean fin) {
        out.writeByte(DATA);
        VarInt.write(out, streamId);
        VarInt.write(out, offset);
        VarInt.write(out, length);
        out.writeByte(fin ? FLAG_FIN : 0);
    }

    public static int dataHeaderSize(long streamId, long offset, int length) {
        return 2 + VarInt.size(streamId) + VarInt.size(offset) + VarInt.size(length);
    }

    public static void writeReset(ByteBuf out, long streamId, ResetCode code, String reason) {
        out.writeByte(RESET);
        VarInt.write(out, streamId);
        VarInt.write(out, Math.max(0, code.code()));
        writeString(out, reason);
    }

    public static void writeMaxStreamData(ByteBuf out, long streamId, long maxOffset) {
        out.writeByte(MAX_STREAM_DATA);
        VarInt.write(out, streamId);
        VarInt.write(out, maxOffset);
    }

    public static void writeMaxData(ByteBuf out, long maxOffset) {
        out.writeByte(MAX_DATA);
        VarInt.write(out, maxOffset);
    }

    public static void writePing(ByteBuf out, long opaque, boolean ack) {
        out.writeByte(ack ? PING_ACK : PING);
        out.writeLong(opaque);
    }

    public static void writeGoaway(ByteBuf out, long lastStreamId, ResetCode code, String reason) {
        out.writeByte(GOAWAY);
        VarInt.write(out, lastStreamId);
        VarInt.write(out, Math.max(0, code.code()));
        writeString(out, reason);
    }

    /** Decodes every frame of one packet, in order. Does not release {@code packet}. */
    public static void decode(ByteBuf packet, Visitor v) throws TmpProtocolException {
        while (packet.isReadable()) {
            int type = packet.readUnsignedByte();
            switch (type) {
                case HELLO -> {
                    long version = VarInt.read(packet);
                    int role = readByte(packet);
                    String name = readString(packet);
                    long maxData = VarInt.read(packet);
                    long window = VarInt.read(packet);
                    if (version > Integer.MAX_VALUE) {
                        throw new TmpProtocolException(ResetCode.VERSION_MISMATCH, "version " + version);
                    }
                    v.hello((int) version, role, name, maxData, window);
                }
                case STREAM_OPEN -> {
                    long id = VarInt.read(packet);
                    int ring = readByte(packet);
                    int flags = readByte(packet);
                    v.streamOpen(id, ring, flags, readString(packet));
                }
                case DATA -> {
                    long id = VarInt.read(packet);
                    long offset = VarInt.read(packet);
                    long length = VarInt.read(packet);
                    int flags = readByte(packet);
                    if (length > packet.readableBytes()) {
                        throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR,
                                "DATA length " + length + " exceeds the " + packet.readableBytes() + " bytes left");
                    }
                    if (offset + length > VarInt.MAX) {
                        throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "DATA beyond the largest offset");
                    }
                    v.data(id, offset, packet.readRetainedSlice((int) length), (flags & FLAG_FIN) != 0);
                }
                case RESET -> {
                    long id = VarInt.read(packet);
                    long code = VarInt.read(packet);
                    v.reset(id, ResetCode.of(code), readString(packet));
                }
                case MAX_STREAM_DATA -> {
                    long id = VarInt.read(packet);
                    v.maxStreamData(id, VarInt.read(packet));
                }
                case MAX_DATA -> v.maxData(VarInt.read(packet));
                case PING, PING_ACK -> {
                    if (packet.readableBytes() < 8) {
                        throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "truncated PING");
                    }
                    v.ping(packet.readLong(), type == PING_ACK);
                }
                case GOAWAY -> {
                    long last = VarInt.read(packet);
                    long code = VarInt.read(packet);
                    v.goaway(last, ResetCode.of(code), readString(packet));
                }
                default -> throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR,
                        "unknown frame type 0x" + Integer.toHexString(type));
            }
        }
    }

    private static int readByte(ByteBuf in) throws TmpProtocolException {
        if (!in.isReadable()) {
            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "truncated frame");
        }
        return in.readUnsignedByte();
    }

    static void writeString(ByteBuf out, String s) {
        String value = s == null ? "" : s;
        int len = ByteBufUtil.utf8Bytes(value);
        if (len > MAX_STRING_BYTES) {
            // Reasons are for humans; cut rather than fail the frame.
            value = value.substring(0, Math.min(value.length(), MAX_STRING_BYTES / 4));
            len = ByteBufUtil.utf8Bytes(value);
        }
        VarInt.write(out, len);
        ByteBufUtil.reserveAndWriteUtf8(out, value, len);
    }

    private static String readString(ByteBuf in) throws TmpProtocolException {
        long len = VarInt.read(in);
        if (len > MAX_STRING_BYTES || len > in.readableBytes()) {
            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "string of " + len + " bytes");
        }
        String s = in.toString(in.readerIndex(), (int) len, StandardCharsets.UTF_8);
        in.skipBytes((int) len);
        return s;
    }
}
