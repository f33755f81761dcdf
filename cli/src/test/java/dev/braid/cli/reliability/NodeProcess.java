package dev.braid.cli.reliability;

import dev.braid.cli.Braid;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One Braid role as an operating-system process, the way a supervisor runs it: {@code java -cp
 * <this JVM's classpath> dev.braid.cli.Braid <role> --config FILE --name NAME --managers URL}, in a
 * JVM of its own with a small heap. Its standard output and error are copied, line by line with
 * the node's name in front, to this JVM's standard output (the test's log).
 *
 * <p>The process is ready when it prints its start line ({@code braid back-end be-1: traffic on
 * ..., admin on ...}), which a role prints once it listens (a front-end after its links are up or
 * 3 s have passed); {@link #awaitReady} waits for that line, then for the admin endpoint's
 * {@code /health} to answer 200, and returns the instant the line was read. {@link #kill()} sends
 * SIGKILL ({@link Process#destroyForcibly()} on Linux), waits for the process to be gone and
 * returns its exit status. {@link #close()} kills it if it still runs; a shutdown hook does the
 * same should this JVM exit first, so no child outlives the test run.
 */
final class NodeProcess implements AutoCloseable {

    /** The start line {@code RoleCommands} prints: traffic and admin addresses. */
    private static final Pattern READY = Pattern.compile("^braid .*: traffic on \\S*:(\\d+), admin on \\S*:(\\d+);");
    private static final long KILL_WAIT_MS = 10_000;

    private final String label;
    private final Process process;
    private final CompletableFuture<Ready> ready = new CompletableFuture<>();
    private final Thread hook;
    private final List<Thread> pumps = new ArrayList<>();
    private volatile long readyNanos;

    /** When the start line was read ({@link System#nanoTime()}) and the admin address it named. */
    private record Ready(long nanos, InetSocketAddress admin) {
    }

    /**
     * Starts {@code braid ROLE --config CONFIG --name NAME --managers MANAGERS --transport nio
     * --event-loops 2}.
     *
     * @param label the name its log lines carry, e.g. {@code be-1#2}
     */
    NodeProcess(String label, String role, String name, Path config, URI managers) throws IOException {
        this.label = label;
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // A small heap, and no collector threads of its own on a machine of two shared cores.
                "-Xmx256m", "-XX:+UseSerialGC",
                // One line per response would drown the test's log; every other line is kept.
                "-Dorg.slf4j.simpleLogger.log.braid.access=warn",
                "-cp", System.getProperty("java.class.path"),
                Braid.class.getName(), role,
                "--config", config.toString(),
                "--name", name,
                "--managers", managers.toString(),
                "--transport", "nio",
                "--event-loops", "2"));
        process = new ProcessBuilder(command).start();
        hook = new Thread(process::destroyForcibly, "kill-" + label);
        Runtime.getRuntime().addShutdownHook(hook);
        pump(process.getInputStream(), "out", true);
        pump(process.getErrorStream(), "err", false);
    }

    private void pump(InputStream in, String stream, boolean watchForReady) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    long now = System.nanoTime();
                    System.out.println("[" + label + " " + stream + "] " + line);
                    Matcher m = watchForReady ? READY.matcher(line) : null;
                    if (m != null && m.find()) {
                        int admin = Integer.parseInt(m.group(2));
                        ready.complete(new Ready(now, new InetSocketAddress("127.0.0.1", admin)));
                    }
                }
            } catch (IOException e) {
                // The process is gone and its pipe with it.
            } finally {
                ready.completeExceptionally(new IllegalStateException(label + ": output ended before the start line"));
            }
        }, "pump-" + label + "-" + stream);
        t.setDaemon(true);
        t.start();
        pumps.add(t);
    }

    ProcessHandle handle() {
        return process.toHandle();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Waits (at most {@code timeoutMillis}) for the start line and then for {@code /health} on the
     * admin address it named to answer 200.
     *
     * @return the instant ({@link System#nanoTime()}) the start line was read
     */
    long awaitReady(long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        Ready r;
        try {
            r = ready.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(label + " printed no start line within " + timeoutMillis + " ms");
        } catch (ExecutionException e) {
            throw new AssertionError(label + " ended before it was ready"
                    + (process.isAlive() ? "" : ", exit status " + process.exitValue()), e.getCause());
        }
        long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        ChaosRun.awaitOk(URI.create("http://127.0.0.1:" + r.admin().getPort() + "/health"), left,
                label + ": /health did not answer 200");
        readyNanos = r.nanos();
        return readyNanos;
    }

    /** The instant {@link #awaitReady} found the process ready, or 0 before. */
    long readyNanos() {
        return readyNanos;
    }

    /**
     * SIGKILL, then waits until the process is gone (bounded). The wait goes on through an
     * interrupt (a test's timeout), which is kept for the caller: no child may outlive its test.
     *
     * @return its exit status (137, 128 + SIGKILL, when the signal ended it)
     */
    int kill() {
        process.destroyForcibly();
        boolean interrupted = false;
        long deadline = System.nanoTime() + KILL_WAIT_MS * 1_000_000;
        try {
            while (process.isAlive()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError(this + " still runs " + KILL_WAIT_MS + " ms after SIGKILL");
                }
                try {
                    process.waitFor(left, TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return process.exitValue();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Kills the process if it still runs, and lets its last lines reach the log. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                kill();
            }
        } finally {
            boolean interrupted = Thread.interrupted();
            try {
                for (Thread t : pumps) {
                    t.join(2_000);
                }
            } catch (InterruptedException e) {
                interrupted = true;
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
    }

    @Override
    public String toString() {
        return label + " (pid " + process.pid() + ")";
    }
}
