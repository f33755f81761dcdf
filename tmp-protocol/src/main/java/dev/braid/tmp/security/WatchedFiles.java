package dev.braid.tmp.security;

import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;

/**
 * A set of small files read together and compared by content (SHA-256), not by modification time:
 * a file replaced by rename, a symlink flipped to a new target (how Kubernetes updates secrets)
 * and a file rewritten within the same second all count as changes, and a touch does not.
 */
final class WatchedFiles {

    private final List<Path> files;
    private byte[] seen;

    WatchedFiles(Path... files) {
        this.files = List.of(files);
    }

    List<Path> files() {
        return files;
    }

    /** Reads every file; returns their contents when any differs from what was last {@link #seen}, else null. */
    byte[][] readIfChanged() throws IOException {
        byte[][] contents = readAll();
        return MessageDigest.isEqual(PemFiles.sha256(contents), seen) ? null : contents;
    }

    byte[][] readAll() throws IOException {
        byte[][] contents = new byte[files.size()][];
        for (int i = 0; i < contents.length; i++) {
            contents[i] = PemFiles.read(files.get(i));
        }
        return contents;
    }

    /** Remembers {@code contents} as seen, whether they were accepted or refused, so they are not reported again. */
    void seen(byte[][] contents) {
        seen = PemFiles.sha256(contents);
    }
}
