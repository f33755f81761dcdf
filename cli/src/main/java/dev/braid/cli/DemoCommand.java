package dev.braid.cli;

import dev.braid.managers.config.ConfigLoader;
import dev.braid.runtime.Transport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code braid demo}: the whole system in one JVM on loopback. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a sample origin, back-end, front-end, redirector and managers in one JVM on loopback.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--transport", paramLabel = "nio|epoll|io_uring",
            description = "I/O transport (default: io_uring, else epoll, else nio).")
    Transport transport;

    @Option(names = "--print-config", description = "Print the demo's configuration as YAML and exit.")
    boolean printConfig;

    @Override
    public Integer call() throws Exception {
        if (printConfig) {
            System.out.print(ConfigLoader.toYaml(Demo.config(Demo.Ports.DEFAULT.origin(), Demo.Ports.DEFAULT.backEnd(),
                    Demo.Ports.DEFAULT)));
            return 0;
        }
        Demo demo;
        try {
            demo = Demo.start(Demo.Ports.DEFAULT, transport);
        } catch (Exception e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            System.err.println("braid demo: cannot start: " + root.getMessage()
                    + " (is another demo or service using ports 8000, 7070, 8080, 5300 or 9180?)");
            return 1;
        }
        System.out.println(demo.describe());
        demo.runUntilStopped();
        System.out.println("braid demo: stopped");
        return 0;
    }
}
