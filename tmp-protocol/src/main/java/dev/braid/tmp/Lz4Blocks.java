package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * LZ4 blocks for DATA frames: each frame's payload is compressed on its own, so a block never
 * depends on another frame or on another stream's bytes (a lost packet costs only its own frames,
 * and one stream's content can never be inferred from another's compressed size). Scratch arrays
 * are per thread: every link runs on one event loop.
 */
final class Lz4Blocks {

    /**
     * The native compressor where the platform has it: the pure-Java one allocates and clears a
     * 16 KiB hash table on every call, which for sub-packets of at most a few hundred bytes costs
     * several times the compression itself (about 3 µs against 0.5 µs for 300 bytes). It only
     * ever reads our own bytes.
     */
    private static final LZ4Compressor COMPRESSOR = LZ4Factory.fastestInstance().fastCompressor();
    /** Blocks come from the peer: the bounds-checked pure-Java decompressor reads them. */
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.fastestJavaInstance().safeDecompressor();

    /** A block is used only if it saves at least this share of the payload. */
    static final double MIN_SAVING = 0.10;
    /** Payloads shorter than this are never worth a try. */
    static final int MIN_INPUT = 64;

    private static final ThreadLocal<byte[][]> SCRATCH = ThreadLocal.withInitial(() -> new byte[][] {
            new byte[Frames.MAX_DECOMPRESSED_BYTES], new byte[COMPRESSOR.maxCompressedLength(Frames.MAX_DECOMPRESSED_BYTES)]});

    private Lz4Blocks() {
    }

    /**
     * Compresses the readable bytes of {@code data} (not consumed) and returns the block's length in
     * {@link #lastBlock()}, or -1 when the block would not save {@link #MIN_SAVING}.
     */
    static int compress(ByteBuf data) {
        int n = data.readableBytes();
        if (n < MIN_INPUT || n > Frames.MAX_DECOMPRESSED_BYTES) {
            return -1;
        }
        byte[][] s = SCRATCH.get();
        data.getBytes(data.readerIndex(), s[0], 0, n);
        int len = COMPRESSOR.compress(s[0], 0, n, s[1], 0, s[1].length);
        return len <= n * (1 - MIN_SAVING) ? len : -1;
    }

    /** The block written by the last successful {@link #compress} on this thread. */
    static byte[] lastBlock() {
        return SCRATCH.get()[1];
    }

    /** Reads a block of {@code length} bytes from {@code in} and returns its {@code original} bytes in a new buffer. */
    static ByteBuf decompress(ByteBuf in, int length, int original) throws TmpProtocolException {
        byte[][] s = SCRATCH.get();
        in.readBytes(s[1], 0, length);
        int n;
        try {
            n = DECOMPRESSOR.decompress(s[1], 0, length, s[0], 0, original);
        } catch (LZ4Exception e) {
            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "malformed LZ4 block");
        }
        if (n != original) {
            throw new TmpProtocolException(ResetCode.FRAME_ENCODING_ERROR, "LZ4 block of " + n
                    + " bytes (expected: " + original + ")");
        }
        ByteBuf out = in.alloc().buffer(n);
        out.writeBytes(s[0], 0, n);
        return out;
    }
}
