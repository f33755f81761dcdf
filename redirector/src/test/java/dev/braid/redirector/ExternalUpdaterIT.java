package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * External mode against a real BIND 9: {@code named} runs on 127.0.0.1 with a dynamic zone that
 * accepts updates signed with one TSIG key; the redirector pushes its decisions there. Checks
 * that the zone follows the decisions within a bounded time (first push, a front-end marked
 * failed, a configuration change) and that an update signed with a wrong key is refused and
 * changes nothing. Skipped when {@code named} is not installed (scripts/install-deps.sh installs it).
 */
@ExtendWith(PooledMemoryBaseline.class)
class ExternalUpdaterIT {

    private static final Logger log = LoggerFactory.getLogger(ExternalUpdaterIT.class);
    static final Path NAMED = Path.of("/usr/sbin/named");
    /** How long the zone may take to show a decision: pushes go out at once; this covers a loaded machine. */
    static final Duration BOUND = Duration.ofSeconds(10);
    static final String KEY_NAME = "braid-key";
    static final String SECRET = Base64.getEncoder().encodeToString(
            "a 32-byte secret for the test key".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    static final String WRONG_SECRET = Base64.getEncoder().encodeToString(
            "another 32-byte secret, not it!!".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

    @TempDir
    Path dir;
    private Process named;
    private InetSocketAddress namedAddress;
    private EventLoops loops;
    private Redirector redirector;
    private final Metrics metrics = new Metrics();

    @BeforeEach
    void startNamed() throws Exception {
        assumeTrue(Files.isExecutable(NAMED), "named (BIND 9) is not installed; run scripts/install-deps.sh");
        int port = NsdConformanceIT.freePort();
        Files.writeString(dir.resolve("shop.example.zone"), """
                $TTL 300
                @ IN SOA ns1.shop.example. hostmaster.shop.example. 1 3600 600 1209600 30
                @ IN NS ns1.shop.example.
                ns1 IN A 127.0.0.1
                static IN A 192.0.2.200
                """);
        Files.writeString(dir.resolve("named.conf"), """
                key "%s" { algorithm hmac-sha256; secret "%s"; };
                options {
                  directory "%s";
                  pid-file "%s/named.pid";
                  session-keyfile "%s/session.key";
                  managed-keys-directory "%s";
                  listen-on port %d { 127.0.0.1; };
                  listen-on-v6 { none; };
                  recursion no;
                  dnssec-validation no;
                  notify no;
                };
                controls { };
                zone "shop.example" {
                  type primary;
                  file "shop.example.zone";
                  allow-update { key "%s"; };
                };
                """.formatted(KEY_NAME, SECRET, dir, dir, dir, dir, port, KEY_NAME));
        named = new ProcessBuilder(NAMED.toString(), "-g", "-c", dir.resolve("named.conf").toString(),
                "-p", Integer.toString(port), "-n", "1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("named.out").toFile()).start();
        namedAddress = new InetSocketAddress("127.0.0.1", port);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!named.isAlive()) {
                throw new IllegalStateException("named exited: " + Files.readString(dir.resolve("named.out")));
            }
            try {
                Message m = ask("shop.example.", Type.SOA);
                if (m.getRcode() == Rcode.NOERROR && !m.getSection(Section.ANSWER).isEmpty()) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("named did not answer within 20 s: " + Files.readString(dir.resolve("named.out")));
    }

    @AfterEach
    void stop() throws Exception {
        if (redirector != null) {
            redirector.close();
        }
        if (loops != null) {
            loops.close();
        }
        if (named != null) {
            named.destroy();
            if (!named.waitFor(10, TimeUnit.SECONDS)) {
                named.destroyForcibly();
            }
        }
    }

    private Message ask(String name, int type) throws IOException {
        SimpleResolver r = new SimpleResolver(namedAddress);
        r.setTimeout(Duration.ofSeconds(1));
        return r.send(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)));
    }

    private Set<String> addresses(String name) throws IOException {
        Set<String> out = new TreeSet<>();
        for (Record r : ask(name, Type.A).getSection(Section.ANSWER)) {
            if (r instanceof ARecord a) {
                out.add(a.getAddress().getHostAddress());
            }
        }
        return out;
    }

    /** Polls the zone until {@code name} has {@code expected}; returns how long that took. */
    private Duration awaitAddresses(String name, Set<String> expected) throws Exception {
        long start = System.nanoTime();
        Set<String> got = Set.of();
        while (System.nanoTime() - start < BOUND.toNanos()) {
            got = addresses(name);
            if (got.equals(expected)) {
                return Duration.ofNanos(System.nanoTime() - start);
            }
            Thread.sleep(20);
        }
        throw new AssertionError(name + " has " + got + " on named after " + BOUND + ", expected " + expected);
    }

    private static BraidConfig config(int ttl, String secret, String... frontEndAddresses) {
        List<FrontEndNode> fes = new java.util.ArrayList<>();
        for (int i = 0; i < frontEndAddresses.length; i++) {
            fes.add(new FrontEndNode("fe" + (i + 1), null, frontEndAddresses[i], null, null, null, List.of("shop"),
                    List.of("be")));
        }
        return config(ttl, secret, fes);
    }

    private static BraidConfig config(int ttl, String secret, List<FrontEndNode> fes) {
        RedirectorNode.ExternalDns external = new RedirectorNode.ExternalDns(null, KEY_NAME, null, secret, null,
                200, null);
        return new BraidConfig(List.of(new Site("shop", List.of("www.shop.example"), ttl, NsdConformanceIT.ORIGINS)),
                fes, List.of(new BackEndNode("be", null, null, List.of("shop"))), null,
                List.of(new RedirectorNode("r1", "127.0.0.1:5300", "127.0.0.1:5380", 1, null, null, external)),
                null, null, new DnsSettings(null, null, null, null, null, null, DnsSettings.RrlSettings.OFF));
    }

    /** The configuration with the external server's address filled in. */
    private BraidConfig at(BraidConfig c) {
        RedirectorNode r = c.redirectors().get(0);
        RedirectorNode.ExternalDns x = r.external();
        RedirectorNode.ExternalDns placed = new RedirectorNode.ExternalDns("127.0.0.1:" + namedAddress.getPort(),
                x.keyName(), x.algorithm(), x.secret(), x.secretFile(), x.intervalMillis(), x.reassertSeconds());
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), c.clientClasses(),
                List.of(new RedirectorNode(r.name(), r.listen(), r.admin(), r.answerCount(), r.publicAddress(),
                        r.region(), placed)), c.managers(), c.tmp(), c.dns());
    }

    private void startRedirector(BraidConfig config, NodeStateSource states) {
        loops = EventLoops.create("external-it", null, 1);
        redirector = Redirector.start(Redirector.Options.builder(loops).probes(false)
                .listen(new InetSocketAddress("127.0.0.1", 0)).metrics(metrics).nodeName("r1")
                .nodeStates(states).config(at(config), 1).build());
    }

    private long updates(String result) {
        return metrics.counter("braid_redirector_external_updates_total", "", "result").value(result);
    }

    @Test
    void theZoneFollowsTheDecisions() throws Exception {
        java.util.concurrent.atomic.AtomicReference<java.util.function.Consumer<NodeState>> listener =
                new java.util.concurrent.atomic.AtomicReference<>();
        startRedirector(config(20, SECRET, "192.0.2.1", "192.0.2.2"), l -> {
            listener.set(l);
            return () -> { };
        });
        Duration first = awaitAddresses("www.shop.example.", Set.of("192.0.2.1"));
        assertEquals(20, ask("www.shop.example.", Type.A).getSection(Section.ANSWER).get(0).getTTL());

        listener.get().accept(new NodeState(Map.of("fe1", new NodeState.FrontEnd(false, 0, 0, List.of()))));
        Duration failover = awaitAddresses("www.shop.example.", Set.of("192.0.2.2"));

        redirector.update(at(config(45, SECRET, "192.0.2.1", "192.0.2.2", "192.0.2.3")), 2);
        listener.get().accept(NodeState.NONE);
        Duration change = awaitAddresses("www.shop.example.", Set.of("192.0.2.1"));
        assertEquals(45, ask("www.shop.example.", Type.A).getSection(Section.ANSWER).get(0).getTTL());
        assertEquals(Set.of("192.0.2.200"), addresses("static.shop.example."), "static records are left alone");
        log.info("external mode: first push {} ms, failed front-end gone {} ms, configuration change {} ms",
                first.toMillis(), failover.toMillis(), change.toMillis());
        assertTrue(updates("ok") >= 3, "at least one accepted update per decision");
        assertEquals(0, updates("refused"));
    }

    @Test
    void updatesWithAWrongKeyAreRefusedAndChangeNothing() throws Exception {
        // Directly: an UPDATE signed with the wrong secret for the right key name.
        Update u = new Update(Name.fromString("shop.example."));
        u.add(new ARecord(Name.fromString("evil.shop.example."), DClass.IN, 60,
                java.net.InetAddress.getByName("203.0.113.66")));
        SimpleResolver wrong = new SimpleResolver(namedAddress);
        wrong.setTCP(true);
        wrong.setTimeout(Duration.ofSeconds(3));
        wrong.setTSIGKey(new TSIG(TSIG.HMAC_SHA256, Name.fromString(KEY_NAME + "."), WRONG_SECRET));
        Message refused = wrong.send(u);
        assertEquals(Rcode.NOTAUTH, refused.getRcode());
        assertEquals(Set.of(), addresses("evil.shop.example."));

        // Through the updater: it counts the refusals, retries, and the zone stays as it was.
        startRedirector(config(20, WRONG_SECRET, "192.0.2.1"), null);
        Supplier<Long> refusals = () -> updates("refused");
        long deadline = System.nanoTime() + BOUND.toNanos();
        while (refusals.get() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(refusals.get() >= 2, "refused and retried: " + refusals.get());
        assertEquals(0, updates("ok"));
        assertEquals(Set.of(), addresses("www.shop.example."));
        assertTrue(metrics.scrape().contains("braid_redirector_external_names_pending 1"), metrics.scrape());

        // The right key, by a configuration change, repairs it.
        redirector.update(at(config(20, SECRET, "192.0.2.1")), 2);
        awaitAddresses("www.shop.example.", Set.of("192.0.2.1"));
    }
}
