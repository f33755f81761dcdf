package dev.braid.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The headless browser of the browser tests: {@code chromium} (or {@code chromium-browser}) on the
 * PATH. Where none is installed a test is skipped with the reason, except under {@code CI=true}:
 * CI installs it ({@code scripts/install-deps.sh}), so there a missing browser is a broken machine
 * and fails the test.
 */
public final class Chromium {

    private Chromium() {
    }

    /** The browser's executable, or null when none is on the PATH. */
    public static Path find() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** The browser's executable; skips the calling test without one ({@code what}: the test, for the reason), fails it in CI. */
    public static Path require(String what) {
        Path browser = find();
        if (browser == null) {
            assertFalse("true".equals(System.getenv("CI")),
                    "CI=true and no chromium or chromium-browser on the PATH (scripts/install-deps.sh installs it)");
            assumeTrue(false, "chromium is not installed (Debian package chromium; scripts/install-deps.sh installs it): "
                    + "skipping " + what);
        }
        return browser;
    }
}
