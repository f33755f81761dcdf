package dev.braid.cli;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.runtime.Transport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;

/** {@code braid front-end|back-end|redirector|manager}: one role per process. */
final class RoleCommands {

    private RoleCommands() {
    }

    /** Options every role shares. */
    abstract static class RoleCommand implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "FILE", required = true,
                description = "Configuration file (YAML or JSON); see docs/config.md.")
        Path config;

        @Option(names = "--transport", paramLabel = "nio|epoll|io_uring",
                description = "I/O transport (default: io_uring, else epoll, else nio).")
        Transport transport;

        @Option(names = "--event-loops", paramLabel = "N",
                description = "Event loops (threads doing I/O), 1..256 (default: one per available processor).")
        Integer eventLoops;

        @Option(names = "--managers", paramLabel = "URL",
                description = "Managers' admin URL to watch for new configuration versions, e.g. http://127.0.0.1:9180.")
        URI managers;

        BraidConfig loadConfig() {
            BraidConfig loaded = ConfigLoader.load(config);
            java.util.List<String> errors = dev.braid.managers.config.ConfigValidator.validate(loaded);
            if (!errors.isEmpty()) {
                throw new ConfigException(errors);
            }
            return loaded;
        }

        @Override
        public final Integer call() throws Exception {
            if (eventLoops != null && (eventLoops < 1 || eventLoops > 256)) {
                System.err.println("braid: --event-loops: " + eventLoops + " (expected: 1..256)");
                return 2;
            }
            BraidConfig cfg;
            try {
                cfg = loadConfig();
            } catch (ConfigException e) {
                System.err.println("braid: " + config + " is not a valid configuration:");
                e.errors().forEach(err -> System.err.println("  " + err));
                return 2;
            }
            try (NodeRuntime rt = new NodeRuntime(role(), transport,
                    eventLoops != null ? eventLoops : NodeRuntime.defaultEventLoops())) {
                Nodes.Started started = start(rt, cfg);
                System.out.println("braid " + started.description() + ": traffic on " + started.traffic()
                        + ", admin on " + started.admin() + "; Ctrl-C to stop");
                rt.runUntilStopped();
            } catch (IllegalArgumentException e) {
                System.err.println("braid: " + e.getMessage());
                return 2;
            }
            return 0;
        }

        abstract String role();

        abstract Nodes.Started start(NodeRuntime rt, BraidConfig cfg) throws Exception;
    }

    abstract static class NamedRoleCommand extends RoleCommand {
        @Option(names = "--name", paramLabel = "NAME", required = true,
                description = "This node's name in the configuration.")
        String name;
    }

    @Command(name = "front-end", mixinStandardHelpOptions = true,
            description = "Run a front-end: the client-facing HTTP gateway.")
    static final class FrontEndCommand extends NamedRoleCommand {
        @Override
        String role() {
            return "front-end";
        }

        @Override
        Nodes.Started start(NodeRuntime rt, BraidConfig cfg) {
            return Nodes.frontEnd(rt, cfg, name, null, null, managers);
        }
    }

    @Command(name = "back-end", mixinStandardHelpOptions = true,
            description = "Run a back-end: the TMP server next to the site's origins.")
    static final class BackEndCommand extends NamedRoleCommand {
        @Override
        String role() {
            return "back-end";
        }

        @Override
        Nodes.Started start(NodeRuntime rt, BraidConfig cfg) {
            return Nodes.backEnd(rt, cfg, name, null, null, managers);
        }
    }

    @Command(name = "redirector", mixinStandardHelpOptions = true,
            description = "Run a redirector: the authoritative DNS for the sites' names.")
    static final class RedirectorCommand extends NamedRoleCommand {
        @Override
        String role() {
            return "redirector";
        }

        @Override
        Nodes.Started start(NodeRuntime rt, BraidConfig cfg) {
            VersionedConfig initial = new VersionedConfig(1, cfg, Instant.now(), VersionedConfig.sha256Of(cfg));
            return Nodes.redirector(rt, initial, name, null, null, managers);
        }
    }

    @Command(name = "manager", mixinStandardHelpOptions = true,
            description = "Run the managers: the versioned configuration and its admin API.")
    static final class ManagerCommand extends RoleCommand {
        @Option(names = "--state-dir", paramLabel = "DIR",
                description = "Directory keeping configuration versions across restarts (default: in memory).")
        Path stateDir;

        @Option(names = "--token-file", paramLabel = "FILE",
                description = "File holding the bearer token that write APIs require.")
        Path tokenFile;

        @Override
        String role() {
            return "managers";
        }

        @Override
        Nodes.Started start(NodeRuntime rt, BraidConfig cfg) throws Exception {
            String token = tokenFile == null ? null : java.nio.file.Files.readString(tokenFile).trim();
            return Nodes.managers(rt, cfg, null, stateDir, token);
        }
    }
}
