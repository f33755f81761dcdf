package dev.braid.tmp;

import io.netty.buffer.ByteBuf;

/**
 * One frame of a sent datagram packet, kept until the packet is acknowledged or declared lost:
 * frames are retransmitted, not packets. Stream data keeps a retained slice of the stream's queued
 * bytes (uncompressed, at its original offset); control frames keep their encoding, or, for credit
 * updates, only what they refer to, since a lost credit update is re-sent with the current value.
 */
final class SentFrame {

    final int type;
    /** The stream a DATA frame belongs to (null for control frames). */
    final TmpStream stream;
    final long streamId;
    final long offset;
    /** DATA: the payload, owned by this record until acknowledged, lost and re-queued, or dropped. */
    ByteBuf data;
    final boolean fin;
    /** Control frames re-sent as they were (STREAM_OPEN, RESET, GOAWAY, HELLO). */
    final byte[] encoded;

    private SentFrame(int type, TmpStream stream, long streamId, long offset, ByteBuf data, boolean fin, byte[] encoded) {
        this.type = type;
        this.stream = stream;
        this.streamId = streamId;
        this.offset = offset;
        this.data = data;
        this.fin = fin;
        this.encoded = encoded;
    }

    static SentFrame data(TmpStream stream, long offset, ByteBuf data, boolean fin) {
        return new SentFrame(Frames.DATA, stream, stream.id, offset, data, fin, null);
    }

    static SentFrame control(byte[] encoded) {
        return new SentFrame(encoded[0] & 0xFF, null, -1, 0, null, false, encoded);
    }

    static SentFrame maxStreamData(long streamId) {
        return new SentFrame(Frames.MAX_STREAM_DATA, null, streamId, 0, null, false, null);
    }

    static SentFrame maxData() {
        return new SentFrame(Frames.MAX_DATA, null, -1, 0, null, false, null);
    }

    /** Releases what the record holds; idempotent. */
    void release() {
        if (data != null) {
            data.release();
            data = null;
        }
    }

    long dataBytes() {
        return data == null ? 0 : data.readableBytes();
    }
}
