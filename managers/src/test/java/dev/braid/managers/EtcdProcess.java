package dev.braid.managers;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One etcd member started by a test on loopback ports, with its data in a temporary directory.
 * Tests that need it are skipped, with a message, when the {@code etcd} binary (Debian's
 * {@code etcd-server}, installed by {@code scripts/install-deps.sh}) is not on the PATH.
 */
final class EtcdProcess implements AutoCloseable {

    private final Process process;
    private final URI client;

    private EtcdProcess(Process process, URI client) {
        this.process = process;
        this.client = client;
    }

    /** The etcd binary on the PATH, or null. */
    static Path binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, "etcd");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    static EtcdProcess start(Path dataDir) throws Exception {
        Path etcd = binary();
        assumeTrue(etcd != null, "etcd is not installed (Debian package etcd-server; scripts/install-deps.sh "
                + "installs it): skipping the etcd cluster test");
        int clientPort = freePort();
        int peerPort = freePort();
        String clientUrl = "http://127.0.0.1:" + clientPort;
        String peerUrl = "http://127.0.0.1:" + peerPort;
        Process p = new ProcessBuilder(etcd.toString(), "--name", "braid-test",
                "--data-dir", dataDir.resolve("etcd").toString(),
                "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
                "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
                "--initial-cluster", "braid-test=" + peerUrl,
                "--heartbeat-interval", "50", "--election-timeout", "500")
                .redirectErrorStream(true)
                .redirectOutput(dataDir.resolve("etcd.log").toFile())
                .start();
        EtcdProcess e = new EtcdProcess(p, URI.create(clientUrl));
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(e.client.resolve("/health"))
                        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains("true")) {
                    return e;
                }
            } catch (IOException ignored) {
                // Not listening yet.
            }
            if (!p.isAlive()) {
                break;
            }
            Thread.sleep(50);
        }
        e.close();
        throw new IllegalStateException("etcd did not become healthy; see " + dataDir.resolve("etcd.log") + ":\n"
                + Files.readString(dataDir.resolve("etcd.log")));
    }

    URI client() {
        return client;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
