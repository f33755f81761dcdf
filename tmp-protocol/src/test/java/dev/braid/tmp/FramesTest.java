package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FramesTest {

    /** Records frames as text; releases DATA payloads after reading them. */
    static final class Recorder implements Frames.Visitor {
        final List<String> frames = new ArrayList<>();

        @Override
        public void hello(int version, int role, String nodeName, long maxData, long streamWindow) {
            frames.add("HELLO " + version + " " + role + " " + nodeName + " " + maxData + " " + streamWindow);
        }

        @Override
        public void streamOpen(long streamId, int ring, int flags, String clientClass) {
            frames.add("OPEN " + streamId + " " + ring + " " + flags + " " + clientClass);
        }

        @Override
        public void data(long streamId, long offset, ByteBuf payload, boolean fin) {
            try {
                frames.add("DATA " + streamId + " " + offset + " " + payload.toString(StandardCharsets.UTF_8) + " " + fin);
            } finally {
                payload.release();
            }
        }

        @Override
        public void reset(long streamId, ResetCode code, String reason) {
            frames.add("RESET " + streamId + " " + code + " " + reason);
        }

        @Override
        public void maxStreamData(long streamId, long maxOffset) {
            frames.add("MAX_STREAM_DATA " + streamId + " " + maxOffset);
        }

        @Override
        public void maxData(long maxOffset) {
            frames.add("MAX_DATA " + maxOffset);
        }

        @Override
        public void ping(long opaque, boolean ack) {
            frames.add((ack ? "PING_ACK " : "PING ") + opaque);
        }

        @Override
        public void goaway(long lastStreamId, ResetCode code, String reason) {
            frames.add("GOAWAY " + lastStreamId + " " + code + " " + reason);
        }
    }

    @Test
    void varintsRoundTripAtEveryLengthBoundary() throws Exception {
        long[] values = {0, 63, 64, 16383, 16384, 1073741823, 1073741824, VarInt.MAX};
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            for (long v : values) {
                VarInt.write(buf, v);
            }
            for (long v : values) {
                assertEquals(v, VarInt.read(buf));
            }
            assertThrows(IllegalArgumentException.class, () -> VarInt.size(-1));
            assertThrows(IllegalArgumentException.class, () -> VarInt.size(VarInt.MAX + 1));
        } finally {
            buf.release();
        }
    }

    @Test
    void everyFrameRoundTrips() throws Exception {
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            Frames.writeHello(buf, 1, 2, "be-1", 1 << 24, 1 << 18);
            Frames.writeStreamOpen(buf, 4, 0, Frames.FLAG_COMPRESSIBLE, "gold");
            byte[] payload = "hello".getBytes(StandardCharsets.UTF_8);
            Frames.writeDataHeader(buf, 4, 1000, payload.length, true);
            buf.writeBytes(payload);
            Frames.writeReset(buf, 6, ResetCode.CANCELLED, "client went away");
            Frames.writeMaxStreamData(buf, 4, 123456);
            Frames.writeMaxData(buf, 9876543210L);
            Frames.writePing(buf, -5, false);
            Frames.writePing(buf, 7, true);
            Frames.writeGoaway(buf, 9, ResetCode.SHUTDOWN, "bye");
            Recorder r = new Recorder();
            Frames.decode(buf, r);
            assertEquals(List.of("HELLO 1 2 be-1 16777216 262144", "OPEN 4 0 1 gold", "DATA 4 1000 hello true",
                    "RESET 6 CANCELLED client went away", "MAX_STREAM_DATA 4 123456", "MAX_DATA 9876543210",
                    "PING -5", "PING_ACK 7", "GOAWAY 9 SHUTDOWN bye"), r.frames);
        } finally {
            buf.release();
        }
    }

    @Test
    void everyTruncationOfAValidPacketIsRefusedCleanly() {
        ByteBuf full = ByteBufAllocator.DEFAULT.directBuffer(256);
        Frames.writeStreamOpen(full, 4, 1, 0, "silver");
        Frames.writeDataHeader(full, 4, 0, 3, false);
        full.writeBytes(new byte[] {1, 2, 3});
        Frames.writeReset(full, 4, ResetCode.CANCELLED, "x");
        Frames.writePing(full, 1, false);
        try {
            for (int len = 1; len < full.readableBytes(); len++) {
                ByteBuf cut = full.retainedSlice(0, len);
                try {
                    Recorder r = new Recorder();
                    try {
                        Frames.decode(cut, r);
                    } catch (TmpProtocolException e) {
                        assertEquals(ResetCode.FRAME_ENCODING_ERROR, e.code(), "length " + len);
                    }
                    assertTrue(cut.readerIndex() <= len);
                } finally {
                    cut.release();
                }
            }
        } finally {
            full.release();
        }
    }

    @Test
    void unknownFrameTypesAndOversizedFieldsAreProtocolErrors() {
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            buf.writeByte(0x7f);
            TmpProtocolException e = assertThrows(TmpProtocolException.class, () -> Frames.decode(buf, new Recorder()));
            assertEquals(ResetCode.FRAME_ENCODING_ERROR, e.code());
            buf.clear();
            buf.writeByte(Frames.DATA);
            VarInt.write(buf, 1);
            VarInt.write(buf, 0);
            VarInt.write(buf, 1_000_000);
            buf.writeByte(0);
            e = assertThrows(TmpProtocolException.class, () -> Frames.decode(buf, new Recorder()));
            assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
            buf.clear();
            buf.writeByte(Frames.RESET);
            VarInt.write(buf, 1);
            VarInt.write(buf, 1);
            VarInt.write(buf, Frames.MAX_STRING_BYTES + 1);
            e = assertThrows(TmpProtocolException.class, () -> Frames.decode(buf, new Recorder()));
            assertEquals(ResetCode.FRAME_ENCODING_ERROR, e.code());
        } finally {
            buf.release();
        }
    }

    @Test
    void longReasonsAreCutNotRejected() throws Exception {
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            Frames.writeReset(buf, 2, ResetCode.INTERNAL_ERROR, "é".repeat(5000));
            Recorder r = new Recorder();
            Frames.decode(buf, r);
            assertEquals(1, r.frames.size());
        } finally {
            buf.release();
        }
    }

    /** A tracked (pooled, direct) copy, so that paranoid leak detection sees every buffer. */
    static ByteBuf direct(byte[] bytes) {
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(bytes.length);
        return b.writeBytes(bytes);
    }
}
