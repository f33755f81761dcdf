package dev.braid.perf.blender;

import dev.braid.blender.BlendQueue;
import dev.braid.blender.Blender;
import dev.braid.blender.BlenderSettings;
import dev.braid.blender.SubPacketSink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Packets per second the blender fills with every active stream backlogged: the cost of the blend
 * loop itself (ring scan, pass computation, round robin, zero-copy slices), without a link.
 * {@code idleConnections} adds streams that are open but never ready, which must not change the
 * result. Run with JMH's main class on perf's classpath:
 * {@code java -cp <perf classpath> org.openjdk.jmh.Main BlenderBenchmark} (see docs/blender.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class BlenderBenchmark {

    static final int PACKET_BYTES = 1400;
    static final int OVERHEAD = 16;
    static final int CHUNK = 64 * 1024;

    @Param({"1", "100", "10000"})
    int activeConnections;

    @Param({"0"})
    int idleConnections;

    @Param({"PER_CONNECTION", "PER_CLASS"})
    BlenderSettings.Policy policy;

    private Blender blender;
    private ByteBuf chunk;
    private SubPacketSink sink;

    @Setup(Level.Trial)
    public void setUp() {
        blender = new Blender(BlenderSettings.DEFAULT.withPolicy(policy));
        byte[] bytes = new byte[CHUNK];
        ThreadLocalRandom.current().nextBytes(bytes);
        chunk = Unpooled.directBuffer(CHUNK).writeBytes(bytes);
        // The sink stands for the link: it drops each sub-packet and keeps its stream backlogged.
        sink = (queue, offset, data, fin) -> {
            data.release();
            if (queue.queuedBytes() < CHUNK / 4) {
                queue.enqueue(chunk.retainedDuplicate());
            }
        };
        int rings = blender.rings();
        for (int i = 0; i < activeConnections; i++) {
            BlendQueue q = blender.open(i, i % rings);
            q.enqueue(chunk.retainedDuplicate());
        }
        for (int i = 0; i < idleConnections; i++) {
            blender.open(activeConnections + i, i % rings, 0);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        blender.closeAll();
        chunk.release();
    }

    @Benchmark
    public int packet() {
        return blender.nextPacket(PACKET_BYTES, Long.MAX_VALUE, OVERHEAD, sink);
    }
}
