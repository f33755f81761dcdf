package dev.braid.cli;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code braid}'s command line as {@link Braid#commandLine()} parses it: help, version, option
 * errors and start-up failures, each with its exit status and message. Nothing here starts a
 * listener: every case ends before or instead of a role's start.
 */
class BraidCommandLineTest {

    /** One run of the command line: exit status and everything written to stdout and stderr. */
    private record Run(int status, String out, String err) {
        String all() {
            return out + err;
        }
    }

    /**
     * Runs {@code braid args}, capturing picocli's writers and the process streams, since the
     * commands print their own messages to {@code System.out}/{@code System.err}.
     */
    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
        ByteArrayOutputStream sysErr = new ByteArrayOutputStream();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        int status;
        try {
            System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(sysErr, true, StandardCharsets.UTF_8));
            CommandLine cli = Braid.commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            status = cli.execute(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        return new Run(status, out + sysOut.toString(StandardCharsets.UTF_8), err + sysErr.toString(StandardCharsets.UTF_8));
    }

    @Test
    void demoHelpDescribesItsOptions() {
        Run r = run("demo", "--help");
        assertEquals(0, r.status(), r.all());
        assertTrue(r.out().contains("Usage: braid demo"), r.out());
        assertTrue(r.out().contains("--transport=nio|epoll|io_uring"), r.out());
        assertTrue(r.out().contains("--print-config"), r.out());
        assertEquals("", r.err());
    }

    @Test
    void frontEndHelpDescribesItsOptions() {
        Run r = run("front-end", "--help");
        assertEquals(0, r.status(), r.all());
        assertTrue(r.out().contains("Usage: braid front-end"), r.out());
        for (String option : new String[] {"--config=FILE", "--name=NAME", "--managers=URL", "--transport"}) {
            assertTrue(r.out().contains(option), option + " in\n" + r.out());
        }
    }

    @Test
    void topLevelHelpListsEveryRole() {
        Run r = run("--help");
        assertEquals(0, r.status(), r.all());
        for (String command : new String[] {"demo", "front-end", "back-end", "redirector", "manager"}) {
            assertTrue(r.out().contains("  " + command + " "), command + " in\n" + r.out());
        }
        Run bare = run();
        assertEquals(0, bare.status(), "braid without a command prints its usage");
        assertTrue(bare.out().contains("Usage: braid"), bare.out());
    }

    @Test
    void versionNamesTheBuild() {
        Run r = run("--version");
        assertEquals(0, r.status());
        assertTrue(r.out().startsWith("braid "), r.out());
    }

    @Test
    void aBadTransportIsRefusedWithTheChoices() {
        Run r = run("demo", "--transport", "carrier-pigeon");
        assertEquals(CommandLine.ExitCode.USAGE, r.status(), r.all());
        assertTrue(r.err().contains("--transport"), r.err());
        assertTrue(r.err().contains("transport: carrier-pigeon (expected one of: io_uring, epoll, nio)"), r.err());

        Run role = run("back-end", "--config", "x.yaml", "--name", "be-1", "--transport", "uring");
        assertEquals(CommandLine.ExitCode.USAGE, role.status(), role.all());
        assertTrue(role.err().contains("transport: uring (expected one of: io_uring, epoll, nio)"), role.err());
    }

    @Test
    void eventLoopsOutOfRangeAreRefusedBeforeAnythingStarts() {
        for (String n : new String[] {"0", "-3", "257"}) {
            Run r = run("front-end", "--config", "missing.yaml", "--name", "fe", "--event-loops", n);
            assertEquals(2, r.status(), r.all());
            assertTrue(r.err().contains("--event-loops: " + n + " (expected: 1..256)"), r.err());
        }
        Run notANumber = run("back-end", "--config", "x.yaml", "--name", "be", "--event-loops", "two");
        assertEquals(CommandLine.ExitCode.USAGE, notANumber.status(), notANumber.all());
        assertTrue(notANumber.err().contains("--event-loops"), notANumber.err());
    }

    @Test
    void eventLoopsDefaultToOnePerProcessor() {
        CommandLine.ParseResult parsed = Braid.commandLine().parseArgs("front-end", "--config", "c.yaml", "--name", "fe");
        RoleCommands.FrontEndCommand fe = (RoleCommands.FrontEndCommand) parsed.subcommand().commandSpec().userObject();
        assertEquals(null, fe.eventLoops, "not set: the default applies");
        assertEquals(Runtime.getRuntime().availableProcessors(), NodeRuntime.defaultEventLoops());
        CommandLine.ParseResult three = Braid.commandLine().parseArgs("redirector", "--config", "c.yaml", "--name", "r",
                "--event-loops", "3");
        assertEquals(3, ((RoleCommands.RoleCommand) three.subcommand().commandSpec().userObject()).eventLoops);
    }

    @Test
    void transportNamesAreAcceptedInAnyCaseAndWithDashes() {
        CommandLine cli = Braid.commandLine();
        CommandLine.ParseResult parsed = cli.parseArgs("front-end", "--config", "c.yaml", "--name", "fe",
                "--transport", "IO-URING");
        RoleCommands.FrontEndCommand fe = (RoleCommands.FrontEndCommand) parsed.subcommand().commandSpec().userObject();
        assertEquals(dev.braid.runtime.Transport.IO_URING, fe.transport);
        assertEquals("fe", fe.name);
        assertEquals(Path.of("c.yaml"), fe.config);
    }

    @Test
    void missingRequiredOptionsAreNamed() {
        Run r = run("front-end", "--name", "x");
        assertEquals(CommandLine.ExitCode.USAGE, r.status(), r.all());
        assertTrue(r.err().contains("Missing required option: '--config=FILE'"), r.err());
        Run noName = run("redirector", "--config", "c.yaml");
        assertEquals(CommandLine.ExitCode.USAGE, noName.status());
        assertTrue(noName.err().contains("'--name=NAME'"), noName.err());
    }

    @Test
    void aMissingConfigurationFileStopsTheStartWithItsName(@TempDir Path dir) {
        Path missing = dir.resolve("missing.yaml");
        Run r = run("front-end", "--config", missing.toString(), "--name", "x");
        assertNotEquals(0, r.status(), r.all());
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertTrue(r.err().contains("NoSuchFileException"), "says the file does not exist: " + r.err());
        assertTrue(r.out().isEmpty(), "nothing started: " + r.out());
    }

    @Test
    void anInvalidConfigurationIsRefusedWithEveryReason(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "sites:\n  - name: shop\n    hostnames: []\n    origins: []\n");
        Run r = run("back-end", "--config", file.toString(), "--name", "be-1");
        assertEquals(2, r.status(), r.all());
        assertTrue(r.err().contains(file + " is not a valid configuration"), r.err());
        assertTrue(r.err().contains("sites[0]."), "names the field: " + r.err());
    }

    @Test
    void aNameTheConfigurationDoesNotListIsRefused(@TempDir Path dir) throws Exception {
        Run printed = run("demo", "--print-config");
        assertEquals(0, printed.status(), printed.all());
        BraidConfig demoConfig = ConfigLoader.parse(printed.out());
        assertEquals(Demo.SITE_HOST, demoConfig.sites().get(0).hostnames().get(0));
        Path file = dir.resolve("demo.yaml");
        Files.writeString(file, printed.out());

        Run r = run("front-end", "--config", file.toString(), "--name", "fe-9");
        assertEquals(2, r.status(), r.all());
        assertTrue(r.err().contains("--name: fe-9 (expected: a node listed under frontEnds in the configuration)"),
                r.err());
    }
}
