package dev.braid.managers;

import java.util.function.Consumer;

/**
 * Named points inside a durable write, where a test can stop the process (with
 * {@code Runtime.halt}) to check that a crash at that moment loses nothing. In production the
 * hook does nothing.
 */
final class CrashPoints {

    /** The temporary file holds the new version; not yet fsynced. */
    static final String TEMP_WRITTEN = "temp-written";
    /** The temporary file is fsynced; not yet renamed. */
    static final String TEMP_SYNCED = "temp-synced";
    /** Renamed over the target; the directory is not yet fsynced. */
    static final String RENAMED = "renamed";
    /** The directory is fsynced; the audit line is not yet appended. */
    static final String DIR_SYNCED = "dir-synced";
    /** The audit line is appended and fsynced; the change is not yet acknowledged. */
    static final String AUDIT_APPENDED = "audit-appended";

    static final String[] ALL = {TEMP_WRITTEN, TEMP_SYNCED, RENAMED, DIR_SYNCED, AUDIT_APPENDED};

    private static volatile Consumer<String> hook = point -> { };

    private CrashPoints() {
    }

    static void reach(String point) {
        hook.accept(point);
    }

    static void install(Consumer<String> h) {
        hook = h;
    }
}
