package dev.braid.managers;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits, bounded in time, for a condition other threads make true. */
final class Eventually {

    private Eventually() {
    }

    static void await(Duration limit, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + limit + " waiting for " + what);
            }
            Thread.sleep(5);
        }
    }
}
