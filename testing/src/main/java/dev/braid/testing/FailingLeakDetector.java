package dev.braid.testing;

import io.netty.util.ResourceLeakDetector;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ResourceLeakDetector} that remembers every leak report instead of only logging it, so
 * that {@link LeakCheckExtension} can fail the test that leaked. Installed for the whole test JVM
 * through {@code -Dio.netty.customResourceLeakDetector=dev.braid.testing.FailingLeakDetector}
 * (see the root {@code pom.xml}).
 */
public final class FailingLeakDetector<T> extends ResourceLeakDetector<T> {

    private static final List<String> REPORTS = new ArrayList<>();

    public FailingLeakDetector(Class<?> resourceType, int samplingInterval, long maxActive) {
        super(resourceType, samplingInterval, maxActive);
    }

    public FailingLeakDetector(Class<?> resourceType, int samplingInterval) {
        super(resourceType, samplingInterval);
    }

    @Override
    protected boolean needReport() {
        // Always collect, whatever the logger's level: a leak fails the build.
        return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
        record("LEAK: " + resourceType + ".release() was not called before it was garbage-collected." + records);
        super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
        record("LEAK: " + resourceType + ".release() was not called before it was garbage-collected.");
        super.reportUntracedLeak(resourceType);
    }

    private static void record(String report) {
        synchronized (REPORTS) {
            REPORTS.add(report);
        }
    }

    /** Returns and forgets every report collected so far. */
    public static List<String> drainReports() {
        synchronized (REPORTS) {
            List<String> copy = new ArrayList<>(REPORTS);
            REPORTS.clear();
            return copy;
        }
    }
}
