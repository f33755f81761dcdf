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

    /** One zero byte, no fields, ignored: pads a UDP probe so that a restarted peer can answer it with a stateless reset. */
    public static final int PADDING = 0x00;
    public static final int HELLO = 0x01;
    public static final int STREAM_OPEN = 0x02;
    public static final int DATA = 0x03;
    public static final int RESET = 0x04;
    public static final int MAX_STREAM_DATA = 0x05;
    public static final int MAX_DATA = 0x06;
    public static final int PING = 0x07;
    public static final int PING_ACK = 0x08;
    public static final int GOAWAY = 0x09;
    /** UDP carrier only: acknowledged packet numbers (RFC 9000 §19.3 layout). */
    public static final int ACK = 0x0A;
    /** UDP carrier only: the sender's view of the link (loss, RTT, delivery rate, hosted streams). */
    public static final int QOS = 0x0B;
    /** UDP carrier only: the link is closed now, with a code and reason (TCP closes the connection instead). */
    public static final int CLOSE = 0x0C;
    /**
     * UDP carrier only: the stateless reset token of the sender's connection id (16 bytes), sent
     * with its HELLO; a datagram ending in it means the sender lost the link's state (RFC 9000 §10.3).
     */
    public static final int RESET_TOKEN = 0x0D;
    /** Bytes of a stateless reset token. */
    public static final int RESET_TOKEN_BYTES = 16;

    /** DATA flag: the frame ends the stream. */
    public static final int FLAG_FIN = 0x01;
    /** DATA flag: the payload is one LZ4 block; its decompressed length follows the flags. */
    public static final int FLAG_COMPRESSED = 0x02;
    /** Largest decompressed payload of one DATA frame: bounds what a hostile block can make a receiver allocate. */
    public static final int MAX_DECOMPRESSED_BYTES = 65_536;
    /** STREAM_OPEN flag: the stream's payload is worth compressing. */
    public static final int FLAG_COMPRESSIBLE = 0x01;

    /** Most ranges an ACK frame may carry. */
    public static final int MAX_ACK_RANGES = 256;

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

        /** An ACK frame; only the UDP carrier accepts them. */
        default void ack(AckRanges ranges, long ackDelayMicros) throws TmpProtocolException {
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "ACK frame on a carrier without acknowledgements");
        }

        /** The peer closed the link; only the UDP carrier accepts it. */
        default void close(ResetCode code, String reason) throws TmpProtocolException {
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "CLOSE frame on a carrier that closes connections");
        }

        /** The peer's stateless reset token ({@link #RESET_TOKEN_BYTES}); only the UDP carrier accepts it. */
        default void resetToken(byte[] token) throws TmpProtocolException {
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "RESET_TOKEN frame on a carrier without resets");
        }

        /** A QoS report; only the UDP carrier accepts them. */
        default void qos(QosReport report) throws TmpProtocolException {
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "QOS frame on a carrier without reports");
        }
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

    /** Writes a DATA frame header for an LZ4 block of {@code length} bytes that decompresses to {@code originalLength}. */
    public static void writeCompressedDataHeader(ByteBuf out, long streamId, long offset, int length, boolean fin,
                                                 int originalLength) {
        out.writeByte(DATA);
        VarInt.write(out, streamId);
        VarInt.write(out, offset);
        VarInt.write(out, length);
        out.writeByte((fin ? FLAG_FIN : 0) | FLAG_COMPRESSED);
        VarInt.write(out, originalLength);
    }

    /**
     * Writes an ACK frame: largest acknowledged, ack delay in microseconds, the number of further
     * ranges, the first range's length minus one, then (gap, length) pairs as in RFC 9000 §19.3.1.
     * At most {@code maxRanges} ranges are written, newest first.
     */
    public static void writeAck(ByteBuf out, AckRanges ranges, long ackDelayMicros, int maxRanges) {
        int n = Math.min(ranges.size(), maxRanges);
        out.writeByte(ACK);
        int last = ranges.size() - 1;
        VarInt.write(out, ranges.end(last));
        VarInt.write(out, Math.max(0, ackDelayMicros));
        VarInt.write(out, n - 1);
        VarInt.write(out, ranges.end(last) - ranges.start(last));
        long prevStart = ranges.start(last);
        for (int i = last - 1; i > last - n; i--) {
            VarInt.write(out, prevStart - ranges.end(i) - 2);
            VarInt.write(out, ranges.end(i) - ranges.start(i));
            prevStart = ranges.start(i);
        }
    }

    public static void writeClose(ByteBuf out, ResetCode code, String reason) {
        out.writeByte(CLOSE);
        VarInt.write(out, Math.max(0, code.code()));
        writeString(out, reason);
    }

    public static void writeQos(ByteBuf out, QosReport r) {
        out.writeByte(QOS);
        VarInt.write(out, Math.round(Math.max(0, Math.min(1, r.lossRate())) * 1_000_000));
        VarInt.write(out, Math.max(0, r.smoothedRttMicros()));
        VarInt.write(out, Math.max(0, r.rttVarianceMicros()));
        VarInt.write(out, Math.max(0, r.minRttMicros()));
        VarInt.write(out, Math.max(0, Math.min(VarInt.MAX, r.deliveryRateBytesPerSecond())));
        VarInt.write(out, Math.round(Math.max(0, r.hostedStreams()) * 100));
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

    /** Writes {@code n} PADDING frames. */
    public static void writePadding(ByteBuf out, int n) {
        out.writeZero(n);
    }

    public static void writeResetToken(ByteBuf out, byte[] token) {
        if (token.length != RESET_TOKEN_BYTES) {
            throw new IllegalArgumentException("token: " + token.length + " bytes (expected: " + RESET_TOKEN_BYTES + ")");
        }
        out.writeByte(RESET_TOKEN);
        out.writeBytes(token);
    }

    /** Decodes every frame of one packet, in order. Does not release {@code packet}. */
    public static void decode(ByteBuf packet, Visitor v) throws TmpProtocolException {
        while (packet.isReadable()) {
            int type = packet.readUnsignedByte();
            switch (type) {
                case PADDING -> {
                    // nothing to read: each zero byte is a frame of its own
                }
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
                    long original = (flags & FLAG_COMPRESSED) != 0 ? VarInt.read(packet) : -1;
                    if (length > packet.readableBytes()) {
                        throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR,
                                "DATA length " + length + " exceeds the " + packet.readableBytes() + " bytes left");
                    }
                    if (original >= 0) {
                        if (original > MAX_DECOMPRESSED_BYTES || original < 1) {
                            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "compressed DATA of "
                                    + original + " bytes (expected: 1.." + MAX_DECOMPRESSED_BYTES + ")");
                        }
                        if (offset + original > VarInt.MAX) {
                            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "DATA beyond the largest offset");
                        }
                        ByteBuf plain = Lz4Blocks.decompress(packet, (int) length, (int) original);
                        v.data(id, offset, plain, (flags & FLAG_FIN) != 0);
                        continue;
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
                case ACK -> {
                    long largest = VarInt.read(packet);
                    long delay = VarInt.read(packet);
                    long count = VarInt.read(packet);
                    long first = VarInt.read(packet);
                    if (first > largest || count > MAX_ACK_RANGES) {
                        throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "ACK with " + (count + 1)
                                + " ranges, first of " + (first + 1) + " below " + largest);
                    }
                    AckRanges ranges = new AckRanges((int) count + 1);
                    long end = largest;
                    long start = largest - first;
                    ranges.prepend(start, end);
                    for (long i = 0; i < count; i++) {
                        long gap = VarInt.read(packet);
                        long len = VarInt.read(packet);
                        end = start - gap - 2;
                        start = end - len;
                        if (end < 0 || start < 0) {
                            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "ACK range below packet 0");
                        }
                        ranges.prepend(start, end);
                    }
                    v.ack(ranges, delay);
                }
                case CLOSE -> {
                    long code = VarInt.read(packet);
                    v.close(ResetCode.of(code), readString(packet));
                }
                case QOS -> {
                    long lossPpm = VarInt.read(packet);
                    long srtt = VarInt.read(packet);
                    long rttVar = VarInt.read(packet);
                    long minRtt = VarInt.read(packet);
                    long rate = VarInt.read(packet);
                    long centiStreams = VarInt.read(packet);
                    if (lossPpm > 1_000_000) {
                        throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "QOS loss of " + lossPpm + " ppm");
                    }
                    v.qos(new QosReport(lossPpm / 1e6, srtt, rttVar, minRtt, rate, centiStreams / 100.0));
                }
                case RESET_TOKEN -> {
                    if (packet.readableBytes() < RESET_TOKEN_BYTES) {
                        throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "truncated frame");
                    }
                    byte[] token = new byte[RESET_TOKEN_BYTES];
                    packet.readBytes(token);
                    v.resetToken(token);
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
