package dev.braid.perf.soak;

import dev.braid.cli.Demo;
import dev.braid.runtime.Transport;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The system under soak: the whole demo (sample origin, back-end, front-end over TMP, redirector,
 * managers) in this JVM on ephemeral loopback ports, so that a soak never collides with a demo
 * on the default ports. Writes {@code frontEnd=PORT}, {@code frontEndAdmin=PORT} and {@code pid=PID}
 * to the file named by its first argument, then runs until SIGTERM or SIGINT.
 *
 * <p>{@code java -cp cli/target/braid.jar:perf/target/classes dev.braid.perf.soak.SoakSystem FILE [nio|epoll|io_uring]}
 */
public final class SoakSystem {

    private SoakSystem() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SoakSystem PORTS_FILE [transport]");
            System.exit(2);
        }
        Transport transport = args.length > 1 ? Transport.parse(args[1]) : null;
        Demo demo = Demo.start(Demo.Ports.EPHEMERAL, transport);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            demo.close();
            stopped.countDown();
        }, "soak-shutdown"));
        Path file = Path.of(args[0]);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, "frontEnd=" + demo.frontEnd().getPort() + "\nfrontEndAdmin=" + demo.frontEndAdmin().getPort()
                + "\nbackEndAdmin=" + demo.backEndAdmin().getPort() + "\npid=" + ProcessHandle.current().pid() + "\n",
                StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        System.out.println(demo.describe());
        stopped.await();
    }
}
