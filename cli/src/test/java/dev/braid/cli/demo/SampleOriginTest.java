package dev.braid.cli.demo;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SampleOriginTest {

    @Test
    void objectSizesAcceptBinaryUnitsAndByteCountsInRange() {
        assertEquals(1024, SampleOrigin.parseObjectSize("1k"));
        assertEquals(10 * 1024, SampleOrigin.parseObjectSize("10K"));
        assertEquals(100 * 1024, SampleOrigin.parseObjectSize("100k"));
        assertEquals(1024 * 1024, SampleOrigin.parseObjectSize("1m"));
        assertEquals(10 * 1024 * 1024, SampleOrigin.parseObjectSize("10M"));
        assertEquals(12345, SampleOrigin.parseObjectSize("12345"));
        assertEquals(SampleOrigin.MIN_OBJECT_SIZE, SampleOrigin.parseObjectSize("1024"));
        assertEquals(SampleOrigin.MAX_OBJECT_SIZE, SampleOrigin.parseObjectSize("10485760"));
    }

    @Test
    void objectSizesOutOfRangeOrMalformedAreRefused() {
        for (String bad : new String[] {"", "k", "m", "1023", "10485761", "11m", "0k", "1g", "1.5m", "-1k",
                "1kk", "abc", "99999999999999999999", " 1k"}) {
            assertEquals(-1, SampleOrigin.parseObjectSize(bad), bad);
        }
    }

    @Test
    void slowMillisIsCappedAndRefusesGarbageWithTheReason() {
        assertEquals(0, SampleOrigin.slowMillis("0"));
        assertEquals(250, SampleOrigin.slowMillis("250"));
        assertEquals(SampleOrigin.MAX_SLOW_MILLIS, SampleOrigin.slowMillis("30001"));
        assertEquals(SampleOrigin.MAX_SLOW_MILLIS, SampleOrigin.slowMillis("99999999999999999999"));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> SampleOrigin.slowMillis(null));
        assertEquals("ms: missing (expected: an integer number of milliseconds, 0..30000)", missing.getMessage());
        for (String bad : new String[] {"", "-5", "1.5", "abc", "10ms"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SampleOrigin.slowMillis(bad), bad);
            assertTrue(e.getMessage().startsWith("ms: " + bad + " (expected:"), e.getMessage());
        }
    }

    @Test
    void expectedBytesAgreeWithByteAtEverywhere() {
        for (long size : new long[] {0, 1, 7, 8, 9, 1024, 12345}) {
            byte[] bytes = SampleOrigin.expectedObjectBytes(size);
            assertEquals(size, bytes.length);
            for (int i = 0; i < bytes.length; i++) {
                assertEquals(SampleOrigin.byteAt(size, i), bytes[i], "size " + size + " index " + i);
            }
        }
    }

    @Test
    void contentDependsOnSizeAndPositionAndLooksRandom() {
        byte[] a = SampleOrigin.expectedObjectBytes(4096);
        byte[] b = SampleOrigin.expectedObjectBytes(4097);
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) {
                same++;
            }
        }
        // Independent uniform bytes agree about once in 256; a size-blind pattern would agree everywhere.
        assertTrue(same < 64, "objects of different sizes share " + same + " of 4096 bytes");
        int[] histogram = new int[256];
        for (byte x : SampleOrigin.expectedObjectBytes(SampleOrigin.MAX_OBJECT_SIZE / 10)) {
            histogram[x & 0xff]++;
        }
        for (int count : histogram) {
            assertTrue(count > 0, "every byte value occurs in 1 MiB of content");
        }
        // A repeating chunk would show up as equal 16 KiB blocks.
        byte[] big = SampleOrigin.expectedObjectBytes(3 * SampleOrigin.CHUNK_BYTES);
        assertNotEquals(java.nio.ByteBuffer.wrap(big, 0, SampleOrigin.CHUNK_BYTES),
                java.nio.ByteBuffer.wrap(big, SampleOrigin.CHUNK_BYTES, SampleOrigin.CHUNK_BYTES));
    }

    @Test
    void byteAtAndExpectedBytesCheckTheirArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SampleOrigin.byteAt(10, 10));
        assertEquals("index: 10 (expected: 0..9)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SampleOrigin.byteAt(10, -1));
        assertThrows(IllegalArgumentException.class,
                () -> SampleOrigin.expectedObjectBytes(SampleOrigin.MAX_OBJECT_SIZE + 1));
    }
}
