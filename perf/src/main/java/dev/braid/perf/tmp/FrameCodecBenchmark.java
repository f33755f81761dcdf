package dev.braid.perf.tmp;

import dev.braid.tmp.Frames;
import dev.braid.tmp.ResetCode;
import dev.braid.tmp.TmpProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Nanoseconds per frame of TMP's frame codec ({@link Frames}) on the two frames every request
 * carries: STREAM_OPEN (stream id, ring, flags, client class) and DATA (header plus a sub-packet of
 * payload, at most 512 bytes by default). Encoding writes into a reused pooled direct buffer;
 * decoding walks a packet holding one STREAM_OPEN and one DATA frame, as the first packet of a
 * request does, and releases the payload slice the visitor owns. The named peer is
 * {@code copyPayloadOnly}: the same payload bytes copied with no framing at all, the floor any
 * codec pays. Run on perf's classpath (docs/perf.md):
 * {@code java -cp <perf classpath> org.openjdk.jmh.Main FrameCodecBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class FrameCodecBenchmark {

    @Param({"64", "512"})
    int payloadBytes;

    private ByteBuf out;
    private ByteBuf payload;
    private ByteBuf packet;
    private long streamId;
    private long offset;
    private final Sink sink = new Sink();

    @Setup(Level.Trial)
    public void setUp() {
        byte[] bytes = new byte[payloadBytes];
        ThreadLocalRandom.current().nextBytes(bytes);
        payload = ByteBufAllocator.DEFAULT.directBuffer(payloadBytes).writeBytes(bytes);
        out = ByteBufAllocator.DEFAULT.directBuffer(2048);
        packet = ByteBufAllocator.DEFAULT.directBuffer(2048);
        Frames.writeStreamOpen(packet, 1_000_001, 2, Frames.FLAG_COMPRESSIBLE, "standard");
        Frames.writeDataHeader(packet, 1_000_001, 0, payloadBytes, true);
        packet.writeBytes(payload, payload.readerIndex(), payloadBytes);
        streamId = 1_000_001;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        out.release();
        payload.release();
        packet.release();
    }

    @Benchmark
    public int encodeStreamOpen() {
        out.clear();
        streamId += 2;
        Frames.writeStreamOpen(out, streamId, 2, Frames.FLAG_COMPRESSIBLE, "standard");
        return out.writerIndex();
    }

    @Benchmark
    public int encodeData() {
        out.clear();
        offset += payloadBytes;
        Frames.writeDataHeader(out, streamId, offset, payloadBytes, false);
        out.writeBytes(payload, payload.readerIndex(), payloadBytes);
        return out.writerIndex();
    }

    /** The peer: the payload copied as it is, without any frame header. */
    @Benchmark
    public int copyPayloadOnly() {
        out.clear();
        out.writeBytes(payload, payload.readerIndex(), payloadBytes);
        return out.writerIndex();
    }

    @Benchmark
    public void decodeStreamOpenAndData(Blackhole bh) throws TmpProtocolException {
        sink.bh = bh;
        Frames.decode(packet.duplicate().readerIndex(0), sink);
    }

    /** Consumes what the decoder reports, as a link would, and releases DATA payloads. */
    private static final class Sink implements Frames.Visitor {
        Blackhole bh;

        @Override
        public void hello(int version, int role, String nodeName, long maxData, long streamWindow) {
            bh.consume(nodeName);
        }

        @Override
        public void streamOpen(long streamId, int ring, int flags, String clientClass) {
            bh.consume(streamId);
            bh.consume(clientClass);
        }

        @Override
        public void data(long streamId, long offset, ByteBuf payload, boolean fin) {
            bh.consume(payload.readableBytes());
            payload.release();
        }

        @Override
        public void reset(long streamId, ResetCode code, String reason) {
            bh.consume(code);
        }

        @Override
        public void maxStreamData(long streamId, long maxOffset) {
            bh.consume(maxOffset);
        }

        @Override
        public void maxData(long maxOffset) {
            bh.consume(maxOffset);
        }

        @Override
        public void ping(long opaque, boolean ack) {
            bh.consume(opaque);
        }

        @Override
        public void goaway(long lastStreamId, ResetCode code, String reason) {
            bh.consume(code);
        }
    }
}
