package dev.braid.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;

/**
 * Fails a test when Netty reports a leaked buffer during or right after it. Registered for every
 * test through JUnit's extension auto-detection (see {@code junit-platform.properties}).
 *
 * <p>Netty reports a leak only when a tracked object has been garbage-collected and a later
 * allocation polls the reference queue, so the check collects garbage and allocates a few tracked
 * buffers before it reads the reports.
 */
public final class LeakCheckExtension implements AfterEachCallback {

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        List<String> reports = collect();
        if (!reports.isEmpty()) {
            throw new AssertionError(reports.size() + " buffer leak(s) in " + context.getDisplayName()
                    + ":\n" + String.join("\n\n", reports));
        }
    }

    static List<String> collect() throws InterruptedException {
        if (!leakDetectorInstalled()) {
            return List.of();
        }
        for (int round = 0; round < 3; round++) {
            System.gc();
            Thread.sleep(20);
            for (int i = 0; i < 8; i++) {
                ByteBuf probe = UnpooledByteBufAllocator.DEFAULT.directBuffer(1);
                probe.release();
            }
        }
        return FailingLeakDetector.drainReports();
    }

    private static boolean leakDetectorInstalled() {
        return FailingLeakDetector.class.getName()
                .equals(System.getProperty("io.netty.customResourceLeakDetector"));
    }
}
