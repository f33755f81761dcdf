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
    /** Accepts every frame and does nothing (releases DATA payloads); tests override what they look at. */
    static class Nothing implements Frames.Visitor {
        @Override
        public void hello(int version, int role, String nodeName, long maxData, long streamWindow) {
        }

        @Override
        public void streamOpen(long streamId, int ring, int flags, String clientClass) {
        }

        @Override
        public void data(long streamId, long offset, ByteBuf payload, boolean fin) {
            payload.release();
        }

        @Override
        public void reset(long streamId, ResetCode code, String reason) {
        }

        @Override
        public void maxStreamData(long streamId, long maxOffset) {
        }

        @Override
        public void maxData(long maxOffset) {
        }

        @Override
        public void ping(long opaque, boolean ack) {
        }

        @Override
        public void goaway(long lastStreamId, ResetCode code, String reason) {
        }
    }

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

    @Test
    void resetTokenAndPaddingRoundTripAndTheTcpCarrierRefusesTokens() throws Exception {
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(64);
        try {
            byte[] token = new byte[Frames.RESET_TOKEN_BYTES];
            for (int i = 0; i < token.length; i++) {
                token[i] = (byte) (i * 7 + 1);
            }
            Frames.writePadding(buf, 3);
            Frames.writeResetToken(buf, token);
            Frames.writePadding(buf, 5);
            byte[][] got = new byte[1][];
            Frames.decode(buf.duplicate(), new Nothing() {
                @Override
                public void resetToken(byte[] t) {
                    got[0] = t;
                }
            });
            org.junit.jupiter.api.Assertions.assertArrayEquals(token, got[0]);
            TmpProtocolException e = assertThrows(TmpProtocolException.class,
                    () -> Frames.decode(buf.duplicate(), new Nothing()));
            assertEquals(ResetCode.PROTOCOL_ERROR, e.code(), "the TCP carrier has no stateless reset");
            ByteBuf truncated = buf.slice(3, 1 + Frames.RESET_TOKEN_BYTES - 1);
            e = assertThrows(TmpProtocolException.class, () -> Frames.decode(truncated, new Nothing() {
                @Override
                public void resetToken(byte[] t) {
                }
            }));
            assertEquals(ResetCode.FRAME_ENCODING_ERROR, e.code());
            assertThrows(IllegalArgumentException.class, () -> Frames.writeResetToken(buf, new byte[15]));
        } finally {
            buf.release();
        }
    }

    @Test
    void qosAndCloseRoundTripAndCarriersWithoutThemRefuseThem() throws Exception {
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            QosReport q = new QosReport(0.0125, 80_123, 4_000, 79_000, 12_500_000, 16.25);
            Frames.writeQos(buf, q);
            Frames.writeClose(buf, ResetCode.SHUTDOWN, "bye");
            QosReport[] got = new QosReport[1];
            String[] closed = new String[1];
            Frames.decode(buf.duplicate(), new Nothing() {
                @Override
                public void qos(QosReport report) {
                    got[0] = report;
                }

                @Override
                public void close(ResetCode code, String reason) {
                    closed[0] = code + " " + reason;
                }
            });
            assertEquals(q, got[0]);
            assertEquals("SHUTDOWN bye", closed[0]);
            TmpProtocolException e = assertThrows(TmpProtocolException.class, () -> Frames.decode(buf, new Nothing()));
            assertEquals(ResetCode.PROTOCOL_ERROR, e.code(), "the TCP carrier has no QOS frames");
        } finally {
            buf.release();
        }
    }

    @Test
    void compressedDataRoundTripsAndMalformedBlocksAreRefused() throws Exception {
        byte[] text = "<html><body>".concat("hello braid, ".repeat(80)).concat("</body></html>")
                .getBytes(StandardCharsets.UTF_8);
        ByteBuf plain = direct(text);
        ByteBuf buf = ByteBufAllocator.DEFAULT.directBuffer(2048);
        try {
            int block = Lz4Blocks.compress(plain);
            assertTrue(block > 0 && block < text.length * 0.9, "saves at least 10%: " + block);
            Frames.writeCompressedDataHeader(buf, 4, 100, block, true, text.length);
            buf.writeBytes(Lz4Blocks.lastBlock(), 0, block);
            byte[][] got = new byte[1][];
            Frames.decode(buf.duplicate(), new Nothing() {
                @Override
                public void data(long streamId, long offset, ByteBuf payload, boolean fin) {
                    got[0] = new byte[payload.readableBytes()];
                    payload.readBytes(got[0]);
                    payload.release();
                    assertEquals(4, streamId);
                    assertEquals(100, offset);
                    assertTrue(fin);
                }
            });
            assertTrue(java.util.Arrays.equals(text, got[0]));
            // Random bytes do not compress: the frame goes plain.
            byte[] noise = new byte[1000];
            new java.util.Random(3).nextBytes(noise);
            ByteBuf n = direct(noise);
            try {
                assertEquals(-1, Lz4Blocks.compress(n));
            } finally {
                n.release();
            }
            // A block whose length lies, or garbage, is a frame encoding error, not an exception.
            buf.clear();
            Frames.writeCompressedDataHeader(buf, 4, 0, 8, false, 5000);
            buf.writeLong(0x1F_00_00_00_FF_FF_FF_FFL);
            TmpProtocolException e = assertThrows(TmpProtocolException.class, () -> Frames.decode(buf, new Nothing()));
            assertEquals(ResetCode.FRAME_ENCODING_ERROR, e.code());
            buf.clear();
            Frames.writeCompressedDataHeader(buf, 4, 0, 1, false, Frames.MAX_DECOMPRESSED_BYTES + 1);
            buf.writeByte(0);
            e = assertThrows(TmpProtocolException.class, () -> Frames.decode(buf, new Nothing()));
            assertEquals(ResetCode.FRAME_ENCODING_ERROR, e.code());
        } finally {
            plain.release();
            buf.release();
        }
    }

    /** A tracked (pooled, direct) copy, so that paranoid leak detection sees every buffer. */
    static ByteBuf direct(byte[] bytes) {
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(bytes.length);
        return b.writeBytes(bytes);
    }
}
