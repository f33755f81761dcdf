package dev.braid.cli.reliability;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@link ConnectionHog} child JVM with a raised descriptor limit: lines to its standard input,
 * lines from its standard output (standard error is passed through to the test's log).
 */
final class Children implements AutoCloseable {

    private final Process process;
    private final Writer stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    /** Whether this machine lets a child raise its descriptor limit to {@code fds} (a hard limit that high, or root). */
    static boolean canRaiseDescriptorLimit(int fds) {
        try {
            Process p = new ProcessBuilder("bash", "-c", "ulimit -n " + fds).redirectErrorStream(true).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    Children(int fds, List<String> jvmOptions, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("bash", "-c", "ulimit -n " + fds + " && exec \"$0\" \"$@\"",
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), ConnectionHog.class.getName()));
        command.addAll(List.of(args));
        process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the child ended
            }
        }, "child-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    void send(String line) throws IOException {
        stdin.write(line + "\n");
        stdin.flush();
    }

    /** The next output line starting with {@code prefix} (others are skipped), split on spaces. */
    String[] await(String prefix, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (true) {
            long left = deadline - System.nanoTime();
            String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("no '" + prefix + "' from the child within " + timeoutMillis + " ms"
                        + (process.isAlive() ? "" : "; it exited with " + process.exitValue()));
            }
            if (line.startsWith(prefix)) {
                return line.split(" ");
            }
        }
    }

    /** The newest line starting with {@code prefix} seen so far, or null; earlier lines are dropped. */
    String[] latest(String prefix) {
        String last = null;
        for (String line = lines.poll(); line != null; line = lines.poll()) {
            if (line.startsWith(prefix)) {
                last = line;
            }
        }
        return last == null ? null : last.split(" ");
    }

    @Override
    public void close() throws InterruptedException {
        try {
            stdin.close();
        } catch (IOException ignored) {
            // already gone
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
