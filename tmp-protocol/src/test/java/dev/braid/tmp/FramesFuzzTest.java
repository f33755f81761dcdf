package dev.braid.tmp;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fuzzes {@link Frames#decode}: whatever the bytes, decoding either visits frames or throws one
 * {@link TmpProtocolException}, never reads outside the packet, and leaves the packet's reference
 * count as it found it (every DATA payload slice it hands out is released by the visitor).
 *
 * <p>{@code mvn verify} replays the corpus in {@code FramesFuzzTestInputs/decode}; with
 * {@code JAZZER_FUZZ=1} Jazzer fuzzes (see docs/security.md).
 */
class FramesFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void decode(byte[] input) {
        ByteBuf packet = ByteBufAllocator.DEFAULT.directBuffer(input.length);
        try {
            packet.writeBytes(input);
            FramesTest.Recorder visitor = new FramesTest.Recorder();
            try {
                Frames.decode(packet, visitor);
            } catch (TmpProtocolException expected) {
                // A malformed packet is a protocol error with a reason; nothing else may escape.
            }
            assertEquals(1, packet.refCnt(), "decode must release every payload slice it hands out");
        } finally {
            packet.release();
        }
    }
}
