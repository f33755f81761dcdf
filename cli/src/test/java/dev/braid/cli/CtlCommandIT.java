package dev.braid.cli;

import dev.braid.managers.ManagersServer;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code braid ctl} against real managers: every verb, its output and its exit status. */
@ExtendWith(PooledMemoryBaseline.class)
class CtlCommandIT {

    private static final String TOKEN = "ctl-t0ken";

    @TempDir
    Path dir;
    private ManagersServer managers;
    private Path tokenFile;

    private record Run(int status, String out, String err) {
    }

    @BeforeEach
    void start() throws Exception {
        managers = ManagersServer.start(ManagersServer.Options.builder()
                .config(Demo.config(8000, 7070, Demo.Ports.DEFAULT))
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .token(TOKEN)
                .build());
        tokenFile = Files.writeString(dir.resolve("token"), TOKEN + "\n");
    }

    @AfterEach
    void stop() {
        managers.close();
    }

    private Run ctl(boolean withToken, String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            String[] full = new String[args.length + (withToken ? 5 : 3)];
            full[0] = "ctl";
            full[1] = "--managers";
            full[2] = "http://127.0.0.1:" + managers.localAddress().getPort();
            int i = 3;
            if (withToken) {
                full[i++] = "--token-file";
                full[i++] = tokenFile.toString();
            }
            System.arraycopy(args, 0, full, i, args.length);
            int status = Braid.commandLine().execute(full);
            return new Run(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void everyVerbWorksOverTheAdminApi() throws Exception {
        Run show = ctl(false, "config", "show", "--yaml");
        assertEquals(0, show.status(), show.err());
        assertEquals(Demo.config(8000, 7070, Demo.Ports.DEFAULT), ConfigLoader.parse(show.out()));

        Run refused = ctl(false, "class-weight", "gold", "12");
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains("HTTP 401") && refused.err().contains("expected: Bearer <token>"), refused.err());

        Run weight = ctl(true, "class-weight", "gold", "12");
        assertEquals(0, weight.status(), weight.err());
        assertTrue(weight.out().startsWith("version 2 "), weight.out());
        assertEquals(12, managers.store().current().config().clientClass("gold").weight());

        Run tooHeavy = ctl(true, "class-weight", "gold", "5000");
        assertEquals(1, tooHeavy.status());
        assertTrue(tooHeavy.err().contains("weight: 5000 (expected: an integer 1..1000)"), tooHeavy.err());

        Run history = ctl(false, "config", "history");
        assertEquals(0, history.status());
        assertEquals(3, history.out().strip().split("\n").length, history.out());

        Run rollback = ctl(true, "config", "rollback", "1");
        assertEquals(0, rollback.status(), rollback.err());
        assertTrue(rollback.out().startsWith("version 3 "), rollback.out());
        assertEquals(8, managers.store().current().config().clientClass("gold").weight());

        Path invalid = Files.writeString(dir.resolve("bad.yaml"), ConfigLoader.toYaml(managers.store().current().config())
                .replace("weight: 8", "weight: 0"));
        Run apply = ctl(true, "config", "apply", invalid.toString());
        assertEquals(2, apply.status());
        assertTrue(apply.err().contains("clientClasses[0].weight: 0 (expected: 1..1000)"), apply.err());
        assertEquals(3, managers.store().current().version(), "nothing was sent");

        Path valid = Files.writeString(dir.resolve("good.yaml"), ConfigLoader.toYaml(managers.store().current().config())
                .replace("weight: 8", "weight: 9"));
        Run applied = ctl(true, "config", "apply", valid.toString());
        assertEquals(0, applied.status(), applied.err());
        assertTrue(applied.out().startsWith("version 4 "), applied.out());

        Run nodes = ctl(false, "nodes");
        assertEquals(0, nodes.status());
        assertTrue(nodes.out().contains("front-end") && nodes.out().contains("fe-1") && nodes.out().contains("unknown"),
                nodes.out());

        Run links = ctl(false, "links");
        assertEquals(0, links.status());
        assertTrue(links.out().startsWith("NODE"), links.out());

        // No front-end runs: the purge is forwarded, fails, and says so.
        Run purge = ctl(true, "purge", "--request", "{\"prefix\":\"/img/\"}");
        assertEquals(1, purge.status());
        assertTrue(purge.err().contains("HTTP 502"), purge.err());
        Run badPurge = ctl(true, "purge", "--request", "not json");
        assertEquals(2, badPurge.status());

        Run audit = ctl(false, "audit");
        assertEquals(0, audit.status());
        for (String action : new String[] {"config.initial", "class.weight", "config.rollback", "config.put", "cache.purge"}) {
            assertTrue(audit.out().contains(action), audit.out());
        }

        Run state = ctl(false, "state");
        assertEquals(0, state.status());
        assertTrue(state.out().contains("\"stateVersion\""), state.out());

        Run usage = ctl(false);
        assertEquals(2, usage.status());
    }

    @Test
    void unreachableManagersAreExitStatusThree() {
        int port = managers.localAddress().getPort();
        managers.close();
        PrintStream err = System.err;
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            assertEquals(3, Braid.commandLine().execute("ctl", "--managers", "http://127.0.0.1:" + port, "nodes"));
        } finally {
            System.setErr(err);
        }
        assertTrue(e.toString(StandardCharsets.UTF_8).contains("unreachable"), e.toString(StandardCharsets.UTF_8));
    }
}
