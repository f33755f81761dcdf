package dev.braid.testing;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocatorMetric;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;

/**
 * For real-socket integration tests: checks that every pooled buffer allocated during a test has
 * been returned by the time the test ends (after the nodes it started have shut down).
 *
 * <p>The integration-test JVM runs the pooled allocator without thread-local caches (see
 * {@code it.argLine} in the root {@code pom.xml}), so the arenas' allocation and deallocation
 * counters count exactly the live buffers. Buffers released by event loops that are still shutting
 * down may arrive a little late; the check waits up to five seconds for the count to return.
 */
public final class PooledMemoryBaseline implements BeforeEachCallback, AfterEachCallback {

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(PooledMemoryBaseline.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("baseline", liveBuffers());
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        long baseline = context.getStore(NS).get("baseline", Long.class);
        long deadline = System.nanoTime() + 5_000_000_000L;
        long live = liveBuffers();
        while (live > baseline && System.nanoTime() < deadline) {
            Thread.sleep(50);
            live = liveBuffers();
        }
        if (live > baseline) {
            List<String> leaks = LeakCheckExtension.collect();
            throw new AssertionError("pooled allocator holds " + (live - baseline)
                    + " more live buffer(s) than before the test (" + usedMemory() + " bytes in use)"
                    + (leaks.isEmpty() ? "" : ":\n" + String.join("\n\n", leaks)));
        }
    }

    /** Live pooled buffers (allocations minus deallocations over every arena), or 0 when not pooled. */
    public static long liveBuffers() {
        if (!(ByteBufAllocator.DEFAULT instanceof PooledByteBufAllocator)) {
            return 0;
        }
        PooledByteBufAllocatorMetric metric = ((PooledByteBufAllocator) ByteBufAllocator.DEFAULT).metric();
        long live = 0;
        for (PoolArenaMetric arena : metric.directArenas()) {
            live += arena.numActiveAllocations();
        }
        for (PoolArenaMetric arena : metric.heapArenas()) {
            live += arena.numActiveAllocations();
        }
        return live;
    }

    private static long usedMemory() {
        if (!(ByteBufAllocator.DEFAULT instanceof PooledByteBufAllocator)) {
            return 0;
        }
        PooledByteBufAllocatorMetric metric = ((PooledByteBufAllocator) ByteBufAllocator.DEFAULT).metric();
        return metric.usedDirectMemory() + metric.usedHeapMemory();
    }
}
