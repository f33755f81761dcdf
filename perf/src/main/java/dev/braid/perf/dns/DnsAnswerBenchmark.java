package dev.braid.perf.dns;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;
import dev.braid.redirector.Responder;
import dev.braid.redirector.ZoneView;
import dev.braid.runtime.Metrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The redirector's data path without sockets: one UDP query in wire form read, answered from the
 * live view and written back, as {@link Responder#udp} does it for every datagram. Kinds of query:
 * {@code static} (a static A record, an AAAA record, a CNAME to a site name, a name three labels
 * deep: the mix of {@code dns-bench.sh}), {@code site} (site names through front-end selection),
 * {@code nxdomain}, and {@code ecs} (a site name whose answer depends on the client subnet, with
 * prefix-table lookups and a scope). {@code rrl} puts the response rate limiter on the path (a
 * limit high enough never to trip). Run with JMH's main class on perf's classpath:
 * {@code java -cp <perf classpath> org.openjdk.jmh.Main DnsAnswerBenchmark -prof gc} (see
 * docs/redirector.md); {@code -prof gc} shows the bytes allocated per answer.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class DnsAnswerBenchmark {

    @Param({"static", "site", "nxdomain", "ecs"})
    String kind;

    @Param({"false", "true"})
    boolean rrl;

    private Responder responder;
    private ByteBuf[] queries;
    private ByteBuf out;
    private int next;
    private final byte[] client = {(byte) 198, 51, 100, 7};

    static BraidConfig config(boolean rrl) {
        List<Origin> origins = List.of(new Origin("o1", "http://127.0.0.1:8000", null, null, null));
        List<DnsSettings.DnsRecord> records = new ArrayList<>(List.of(
                new DnsSettings.DnsRecord("@", "A", 3600, "192.0.2.80"),
                new DnsSettings.DnsRecord("mail", "A", 3600, "192.0.2.25"),
                new DnsSettings.DnsRecord("mail", "AAAA", 3600, "2001:db8::25"),
                new DnsSettings.DnsRecord("alias", "CNAME", 3600, "www.bench.example."),
                new DnsSettings.DnsRecord("a.b.c", "A", 3600, "192.0.2.3")));
        DnsSettings dns = new DnsSettings(List.of(new DnsSettings.DnsZone("bench.example", records)),
                List.of(new DnsSettings.ClientNetwork("10.0.0.0/8", "eu"),
                        new DnsSettings.ClientNetwork("10.1.0.0/16", "us")),
                null, null, null, null,
                rrl ? new DnsSettings.RrlSettings(1_000_000, 2, 24, 56) : DnsSettings.RrlSettings.OFF);
        return new BraidConfig(
                List.of(new Site("bench", List.of("www.bench.example"), 20, origins),
                        new Site("geo", List.of("www.geo.test"), 20, origins)),
                List.of(new FrontEndNode("fe1", null, "192.0.2.1", null, "eu", null, List.of("bench", "geo"),
                                List.of("be")),
                        new FrontEndNode("fe2", null, "192.0.2.2", null, "eu", null, List.of("bench"), List.of("be")),
                        new FrontEndNode("fe3", null, "2001:db8::3", null, "eu", null, List.of("bench"), List.of("be")),
                        new FrontEndNode("fe4", null, "192.0.2.4", null, "us", null, List.of("geo"), List.of("be"))),
                List.of(new BackEndNode("be", null, null, List.of("bench", "geo"))), null, null, null, null, dns);
    }

    @Setup(Level.Trial)
    public void setUp() {
        ZoneView view = ZoneView.compile(config(rrl), 1, null);
        responder = Responder.standalone(() -> view, config(rrl).dns().rrl(), new Metrics());
        List<byte[]> wire = switch (kind) {
            case "static" -> List.of(query("mail.bench.example", 28, null), query("alias.bench.example", 1, null),
                    query("a.b.c.bench.example", 1, null), query("bench.example", 1, null));
            case "site" -> List.of(query("www.bench.example", 1, null), query("www.bench.example", 28, null),
                    query("www.geo.test", 1, null));
            case "nxdomain" -> List.of(query("nothing.bench.example", 1, null), query("x.y.bench.example", 28, null));
            case "ecs" -> List.of(query("www.geo.test", 1, new byte[] {10, 1, 2}),
                    query("www.geo.test", 1, new byte[] {10, 2, 3}));
            default -> throw new IllegalArgumentException("kind: " + kind);
        };
        queries = new ByteBuf[wire.size()];
        for (int i = 0; i < queries.length; i++) {
            queries[i] = PooledByteBufAllocator.DEFAULT.directBuffer(wire.get(i).length).writeBytes(wire.get(i));
        }
        out = PooledByteBufAllocator.DEFAULT.directBuffer(1232);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (ByteBuf q : queries) {
            q.release();
        }
        out.release();
    }

    @Benchmark
    public int answer() {
        ByteBuf q = queries[next];
        next = next + 1 == queries.length ? 0 : next + 1;
        out.clear();
        return responder.udp(q, client, out, System.nanoTime());
    }

    /** A query in wire form: RD set, one question of class IN, EDNS with a /24 client subnet when {@code ecs} is given. */
    static byte[] query(String name, int type, byte[] ecs) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.writeBytes(new byte[] {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, (byte) (ecs == null ? 0 : 1)});
        for (String label : name.split("\\.")) {
            b.write(label.length());
            b.writeBytes(label.getBytes(StandardCharsets.US_ASCII));
        }
        b.write(0);
        b.writeBytes(new byte[] {0, (byte) type, 0, 1});
        if (ecs != null) {
            // OPT: root owner, type 41, payload 1232, no flags; one option: client subnet, IPv4, /24.
            b.writeBytes(new byte[] {0, 0, 41, 0x04, (byte) 0xD0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0});
            b.writeBytes(ecs);
        }
        return b.toByteArray();
    }
}
