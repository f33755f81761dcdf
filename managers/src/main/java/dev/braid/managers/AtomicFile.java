package dev.braid.managers;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Replaces a file so that after a crash at any moment it holds either its old content or the
 * whole new content: write a temporary sibling, fsync it, rename it over the target (atomic on
 * POSIX file systems), then fsync the directory so the rename itself survives a power loss.
 */
final class AtomicFile {

    private static final Logger log = LoggerFactory.getLogger(AtomicFile.class);

    /** Suffix of the temporary sibling; a file with it is the remains of an interrupted write. */
    static final String TEMP_SUFFIX = ".tmp";

    private AtomicFile() {
    }

    static void write(Path target, byte[] data) throws IOException {
        Path temp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buffer = ByteBuffer.wrap(data);
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                CrashPoints.reach(CrashPoints.TEMP_WRITTEN);
                ch.force(true);
            }
            CrashPoints.reach(CrashPoints.TEMP_SYNCED);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        CrashPoints.reach(CrashPoints.RENAMED);
        syncDirectory(target.toAbsolutePath().getParent());
        CrashPoints.reach(CrashPoints.DIR_SYNCED);
    }

    /**
     * Makes a directory's entries durable. The rename has already happened when this runs, so a
     * failure here is only logged: reporting the write as failed would contradict what a restart
     * will find on disk.
     */
    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            log.warn("cannot fsync directory {}; the last change may not survive a power loss: {}", dir, e.toString());
        }
    }
}
