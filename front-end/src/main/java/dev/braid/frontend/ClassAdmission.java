package dev.braid.frontend;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the requests each client class has in flight at this front-end, across all connections.
 * A class on ring r of R rings may have {@code max * (R - r) / R} (at least 1), so as load grows
 * the lowest classes reach their bound, and are shed, first. Thread-safe.
 */
final class ClassAdmission {

    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

    /** The bound of a class on {@code ring} of {@code rings}, given the ring-0 bound {@code max}. */
    static int bound(int max, int ring, int rings) {
        int r = Math.min(Math.max(ring, 0), rings - 1);
        return (int) Math.max(1, (long) max * (rings - r) / rings);
    }

    /** Takes a place for one request of {@code cls}; false when the class is at its bound. */
    boolean tryAcquire(String cls, int bound) {
        AtomicInteger n = inFlight.computeIfAbsent(cls, k -> new AtomicInteger());
        while (true) {
            int now = n.get();
            if (now >= bound) {
                return false;
            }
            if (n.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    void release(String cls) {
        AtomicInteger n = inFlight.get(cls);
        if (n != null) {
            n.decrementAndGet();
        }
    }

    int inFlight(String cls) {
        AtomicInteger n = inFlight.get(cls);
        return n == null ? 0 : n.get();
    }

    Map<String, AtomicInteger> all() {
        return inFlight;
    }
}
