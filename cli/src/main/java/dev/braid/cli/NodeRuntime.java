package dev.braid.cli;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * What one process runs: event loops and the parts started on them, closed in reverse order on
 * Ctrl-C or SIGTERM so that every listener is released and in-flight work ends cleanly.
 */
final class NodeRuntime implements AutoCloseable {

    private final EventLoops loops;
    private final List<AutoCloseable> parts = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private boolean closed;

    /** One event loop per available processor, as a gateway runs one worker per core. */
    NodeRuntime(String name, Transport transport) {
        this(name, transport, defaultEventLoops());
    }

    /** {@code eventLoops} loops; each is one thread that owns its connections. */
    NodeRuntime(String name, Transport transport, int eventLoops) {
        if (eventLoops < 1) {
            throw new IllegalArgumentException("event loops: " + eventLoops + " (expected: >= 1)");
        }
        this.loops = EventLoops.create(name, transport, eventLoops);
    }

    /**
     * The processors this JVM may use (its CPU quota and affinity included). More loops than
     * cores only adds context switches on the request path; fewer leaves cores idle.
     */
    static int defaultEventLoops() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    EventLoops loops() {
        return loops;
    }

    /** Registers a part to close, last registered first. */
    synchronized <T extends AutoCloseable> T add(T part) {
        parts.add(part);
        return part;
    }

    /** Blocks until the process is asked to stop, then closes everything. */
    void runUntilStopped() throws InterruptedException {
        Thread hook = new Thread(() -> {
            close();
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "braid-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        stopped.await();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (int i = parts.size() - 1; i >= 0; i--) {
            try {
                parts.get(i).close();
            } catch (Exception e) {
                System.err.println("braid: closing " + parts.get(i) + " failed: " + e);
            }
        }
        loops.close();
        stopped.countDown();
    }
}
