package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failover on real sockets: front-ends are real listening sockets on loopback addresses that the
 * redirector probes with its default settings; closing one is a front-end dying. Records how long
 * each change takes to reach the answers and asserts generous bounds (the machine is shared; the
 * exact budgets are asserted in virtual time by {@link FailoverTimeTest}). Also: two redirectors
 * serving one zone, each in the NS set; with one closed, a resolver that knows both still gets
 * every answer.
 */
@ExtendWith(PooledMemoryBaseline.class)
class FailoverIT {

    private static final Logger log = LoggerFactory.getLogger(FailoverIT.class);
    /** Probe verdicts: 3 s by design (1.5 s for a refusing port); this much on a loaded machine. */
    private static final Duration PROBE_BOUND = Duration.ofSeconds(8);
    /** Managers' verdicts: 1 s by design, immediate in fact. */
    private static final Duration MANAGERS_BOUND = Duration.ofSeconds(1);

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    /** A front-end's HTTP port: a listening socket that accepts and closes what connects. */
    static final class Listener implements AutoCloseable {
        final ServerSocket socket;
        final Thread acceptor;

        Listener(String address, int port) throws IOException {
            socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(address, port));
            acceptor = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        s.setSoLinger(true, 0);
                    } catch (IOException closed) {
                        return;
                    }
                }
            }, "listener-" + address);
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            socket.close();
            acceptor.join(2000);
        }
    }

    private static BraidConfig config(List<FrontEndNode> fes, List<RedirectorNode> redirectors) {
        return new BraidConfig(List.of(new Site("shop", List.of("www.shop.example"), 5, NsdConformanceIT.ORIGINS)),
                fes, List.of(new BackEndNode("be", null, null, List.of("shop"))), null, redirectors, null, null,
                new DnsSettings(null, null, null, null, null, null, DnsSettings.RrlSettings.OFF));
    }

    private static FrontEndNode frontEnd(String name, String address, int port) {
        return new FrontEndNode(name, "0.0.0.0:" + port, address, null, null, null, List.of("shop"), List.of("be"));
    }

    private Redirector start(BraidConfig config, String name, boolean probes, NodeStateSource states) {
        EventLoops loops = EventLoops.create("failover-it", null, 1);
        toClose.add(loops);
        Redirector r = Redirector.start(Redirector.Options.builder(loops).probes(probes)
                .listen(new InetSocketAddress("127.0.0.1", 0)).nodeName(name).nodeStates(states)
                .config(config, 1).build());
        toClose.add(r);
        return r;
    }

    private static Set<String> addresses(Resolver r) throws IOException {
        Message m = r.send(Message.newQuery(Record.newRecord(Name.fromString("www.shop.example."), Type.A, DClass.IN)));
        assertEquals(Rcode.NOERROR, m.getRcode());
        Set<String> out = new TreeSet<>();
        for (Record rec : m.getSection(Section.ANSWER)) {
            out.add(((ARecord) rec).getAddress().getHostAddress());
        }
        return out;
    }

    /** Asks every 20 ms until the answer satisfies {@code done}; returns how long it took. */
    private static Duration until(Resolver r, Predicate<Set<String>> done, Duration bound, String what)
            throws Exception {
        long start = System.nanoTime();
        Set<String> got = Set.of();
        while (System.nanoTime() - start < bound.toNanos()) {
            got = addresses(r);
            if (done.test(got)) {
                return Duration.ofNanos(System.nanoTime() - start);
            }
            Thread.sleep(20);
        }
        throw new AssertionError(what + ": still " + got + " after " + bound);
    }

    private static SimpleResolver resolver(InetSocketAddress at) {
        SimpleResolver r = new SimpleResolver(at);
        r.setTimeout(Duration.ofSeconds(2));
        return r;
    }

    @Test
    void deadAndFailedFrontEndsLeaveTheAnswersAndComeBack() throws Exception {
        Listener one = new Listener("127.0.0.1", 0);
        Listener two = new Listener("127.0.0.2", 0);
        toClose.add(two);
        AtomicReference<Consumer<NodeState>> managers = new AtomicReference<>();
        BraidConfig config = config(List.of(frontEnd("fe1", "127.0.0.1", one.port()),
                frontEnd("fe2", "127.0.0.2", two.port())), List.of(new RedirectorNode("r1", "127.0.0.1:5300",
                null, 2)));
        Redirector redirector = start(config, "r1", true, l -> {
            managers.set(l);
            return () -> { };
        });
        SimpleResolver r = resolver(redirector.localAddress());
        assertEquals(Set.of("127.0.0.1", "127.0.0.2"), addresses(r));
        Thread.sleep(1200); // a few probes have connected: both are measured and alive

        int port = one.port();
        one.close();
        Duration dead = until(r, a -> !a.contains("127.0.0.1"), PROBE_BOUND, "fe1 closed");
        assertEquals(Set.of("127.0.0.2"), addresses(r));

        Listener again = new Listener("127.0.0.1", port);
        toClose.add(again);
        Duration back = until(r, a -> a.contains("127.0.0.1"), PROBE_BOUND, "fe1 listening again");

        managers.get().accept(new NodeState(java.util.Map.of("fe2", new NodeState.FrontEnd(false, 0, 0, List.of()))));
        Duration failed = until(r, a -> a.equals(Set.of("127.0.0.1")), MANAGERS_BOUND, "fe2 marked failed");
        managers.get().accept(NodeState.NONE);
        Duration healed = until(r, a -> a.contains("127.0.0.2"), MANAGERS_BOUND, "fe2 healthy again");

        log.info("failover on sockets: closed port out after {} ms, back after {} ms; marked failed out after {} ms,"
                + " healthy back after {} ms", dead.toMillis(), back.toMillis(), failed.toMillis(), healed.toMillis());
        assertTrue(back.toMillis() >= 400, "rise 2: one probe that connects is not enough (" + back.toMillis() + " ms)");
    }

    @Test
    void losingOneOfTwoRedirectorsLosesNoAnswers() throws Exception {
        // Both redirectors on 127.0.0.1 with their own ports: the zone's NS set lists both.
        BraidConfig config = config(List.of(frontEnd("fe1", "192.0.2.1", 8080)), List.of(
                new RedirectorNode("r1", "127.0.0.1:5300", "127.0.0.1:5380", 2),
                new RedirectorNode("r2", "127.0.0.1:5301", "127.0.0.1:5381", 2)));
        Redirector r1 = start(config, "r1", false, null);
        Redirector r2 = start(config, "r2", false, null);
        for (Redirector r : List.of(r1, r2)) {
            Message ns = resolver(r.localAddress()).send(Message.newQuery(
                    Record.newRecord(Name.fromString("shop.example."), Type.NS, DClass.IN)));
            Set<String> servers = new TreeSet<>();
            for (Record rec : ns.getSection(Section.ANSWER)) {
                servers.add(((NSRecord) rec).getTarget().toString());
            }
            assertEquals(Set.of("ns1.shop.example.", "ns2.shop.example."), servers, "each serves the whole NS set");
        }
        SimpleResolver a = resolver(r1.localAddress());
        SimpleResolver b = resolver(r2.localAddress());
        a.setTimeout(Duration.ofMillis(300));
        b.setTimeout(Duration.ofMillis(300));
        ExtendedResolver both = new ExtendedResolver(new Resolver[] {a, b});
        both.setLoadBalance(true);
        both.setRetries(2);
        for (int i = 0; i < 20; i++) {
            assertEquals(Set.of("192.0.2.1"), addresses(both));
        }
        r1.close();
        long start = System.nanoTime();
        int answered = 0;
        for (int i = 0; i < 50; i++) {
            assertEquals(Set.of("192.0.2.1"), addresses(both), "query " + i + " with r1 gone");
            answered++;
        }
        log.info("one of two redirectors closed: {} of 50 queries answered in {} ms", answered,
                (System.nanoTime() - start) / 1_000_000);
        assertEquals(Set.of("192.0.2.1"), addresses(resolver(r2.localAddress())));
    }
}
