package dev.braid.perf.load;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The two-class workload: <em>gold</em> clients make small interactive requests while
 * <em>bronze</em> clients download large files that fill the WAN, the case Braid's priority
 * classes are for. Each request names its class with a header (a cookie, as a shop's login
 * would); a system without classes treats both alike, which is the comparison.
 *
 * <p>Three timed stages, one after another, every connection keep-alive and Nagle off:
 * <ol>
 * <li>{@code alone}: gold's interactive requests with nothing else running — its unloaded latency.
 * <li>{@code loaded}: bronze downloads run on {@code --bronze-connections} connections; after
 * {@code --ramp-seconds} gold's interactive requests run again — its latency while bronze fills
 * the link, and bronze's goodput.
 * <li>{@code shares}: both classes download at once on {@code --share-connections} connections
 * each; after the ramp, the bytes each class receives in the measuring window — its byte share,
 * which a weighted blender sets and TCP fairness would split evenly.
 * </ol>
 *
 * <p>Bounded: every stage has its length, every socket read its timeout, every worker thread is
 * joined. Downloads still running at the end of a stage are cut by closing their sockets. One CSV
 * row per stage and class goes to {@code --out}; a summary goes to stdout.
 *
 * <pre>
 * java -cp perf/target/classes dev.braid.perf.load.ClassMix --base http://198.18.1.1:8080 \
 *     --gold-path /miss/1k.bin --bulk-path /bulk/10m.bin \
 *     --gold-header "Cookie: tier=gold" --bronze-header "Cookie: tier=bronze" \
 *     --label system=braid-udp,condition=rtt80-loss0,cc=bbr --out classes.csv
 * </pre>
 */
public final class ClassMix {

    /** What one stage measured for one class. */
    record Row(String stage, String clazz, long requests, long errors, double p50Ms, double p95Ms, double p99Ms,
               long bytes, double seconds) {
        double mbps() {
            return seconds > 0 ? bytes * 8 / seconds / 1e6 : 0;
        }
    }

    private final Options o;
    private final InetSocketAddress server;
    private final String host;

    ClassMix(Options o) {
        this.o = o;
        int port = o.base.getPort() > 0 ? o.base.getPort() : 80;
        this.server = new InetSocketAddress(o.base.getHost(), port);
        this.host = o.base.getHost() + (o.base.getPort() > 0 ? ":" + o.base.getPort() : "");
    }

    /** Interactive clients: one small request after another with a pause between, latencies kept. */
    private final class Interactive {
        final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        final AtomicLong errors = new AtomicLong();
        final LongAdder bytes = new LongAdder();
        final List<Thread> threads = new ArrayList<>();
        final List<HttpConnection> conns = Collections.synchronizedList(new ArrayList<>());
        volatile boolean stop;

        void start(String header) {
            for (int i = 0; i < o.goldClients; i++) {
                HttpConnection c = new HttpConnection(server, host, o.timeoutMillis, List.of(header));
                conns.add(c);
                Thread t = new Thread(() -> {
                    while (!stop) {
                        long t0 = System.nanoTime();
                        try {
                            HttpConnection.Response r = c.get(o.goldPath, false, bytes);
                            if (r.status() == 200) {
                                latencies.add(System.nanoTime() - t0);
                            } else {
                                errors.incrementAndGet();
                            }
                        } catch (IOException | RuntimeException e) {
                            if (!stop) {
                                errors.incrementAndGet();
                                c.close();
                            }
                        }
                        sleepMillis(o.thinkMillis);
                    }
                }, "gold-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        void stopAndJoin() throws InterruptedException {
            stop = true;
            joinAll(threads, conns, o.timeoutMillis);
        }
    }

    /** Download clients: the same large file again and again; bytes counted as they arrive. */
    private final class Downloads {
        final LongAdder bytes = new LongAdder();
        final AtomicLong completed = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final List<Thread> threads = new ArrayList<>();
        final List<HttpConnection> conns = Collections.synchronizedList(new ArrayList<>());
        volatile boolean stop;

        void start(String name, String header, int connections) {
            for (int i = 0; i < connections; i++) {
                HttpConnection c = new HttpConnection(server, host, o.timeoutMillis, List.of(header));
                conns.add(c);
                Thread t = new Thread(() -> {
                    while (!stop) {
                        try {
                            HttpConnection.Response r = c.get(o.bulkPath, false, bytes);
                            if (r.status() == 200) {
                                completed.incrementAndGet();
                            } else {
                                errors.incrementAndGet();
                                sleepMillis(100);
                            }
                        } catch (IOException | RuntimeException e) {
                            if (!stop) {
                                errors.incrementAndGet();
                                c.close();
                                sleepMillis(100);
                            }
                        }
                    }
                }, name + "-bulk-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        void stopAndJoin() throws InterruptedException {
            stop = true;
            // A download in the middle of 10 MiB ends only when its socket does.
            conns.forEach(HttpConnection::close);
            joinAll(threads, conns, o.timeoutMillis);
        }
    }

    private static void joinAll(List<Thread> threads, List<HttpConnection> conns, int timeoutMillis)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis + 1000L);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
        synchronized (conns) {
            conns.forEach(HttpConnection::close);
        }
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepSeconds(double s) throws InterruptedException {
        Thread.sleep((long) (s * 1000));
    }

    static Row latencyRow(String stage, String clazz, List<Long> nanos, long errors, long bytes, double seconds) {
        double[] ms;
        synchronized (nanos) {
            ms = nanos.stream().mapToDouble(n -> n / 1e6).sorted().toArray();
        }
        return new Row(stage, clazz, ms.length, errors, PageLoad.percentile(ms, 0.50), PageLoad.percentile(ms, 0.95),
                PageLoad.percentile(ms, 0.99), bytes, seconds);
    }

    List<Row> run() throws InterruptedException {
        List<Row> rows = new ArrayList<>();

        // Stage 1: gold alone.
        Interactive alone = new Interactive();
        alone.start(o.goldHeader);
        sleepSeconds(o.aloneSeconds);
        alone.stopAndJoin();
        rows.add(latencyRow("alone", "gold", alone.latencies, alone.errors.get(), alone.bytes.sum(), o.aloneSeconds));

        // Stage 2: gold while bronze fills the link.
        Downloads bronze = new Downloads();
        bronze.start("bronze", o.bronzeHeader, o.bronzeConnections);
        sleepSeconds(o.rampSeconds);
        long b0 = bronze.bytes.sum();
        long t0 = System.nanoTime();
        Interactive loaded = new Interactive();
        loaded.start(o.goldHeader);
        sleepSeconds(o.loadedSeconds);
        loaded.stopAndJoin();
        double window = (System.nanoTime() - t0) / 1e9;
        long b1 = bronze.bytes.sum();
        bronze.stopAndJoin();
        rows.add(latencyRow("loaded", "gold", loaded.latencies, loaded.errors.get(), loaded.bytes.sum(), window));
        rows.add(new Row("loaded", "bronze", bronze.completed.get(), bronze.errors.get(), Double.NaN, Double.NaN,
                Double.NaN, b1 - b0, window));

        // Stage 3: both classes download; byte shares over the window after the ramp.
        Downloads goldBulk = new Downloads();
        Downloads bronzeBulk = new Downloads();
        goldBulk.start("gold", o.goldHeader, o.shareConnections);
        bronzeBulk.start("bronze", o.bronzeHeader, o.shareConnections);
        sleepSeconds(o.rampSeconds);
        long g0 = goldBulk.bytes.sum();
        long r0 = bronzeBulk.bytes.sum();
        long s0 = System.nanoTime();
        sleepSeconds(o.shareSeconds);
        long g1 = goldBulk.bytes.sum();
        long r1 = bronzeBulk.bytes.sum();
        double shareWindow = (System.nanoTime() - s0) / 1e9;
        goldBulk.stopAndJoin();
        bronzeBulk.stopAndJoin();
        rows.add(new Row("shares", "gold", goldBulk.completed.get(), goldBulk.errors.get(), Double.NaN, Double.NaN,
                Double.NaN, g1 - g0, shareWindow));
        rows.add(new Row("shares", "bronze", bronzeBulk.completed.get(), bronzeBulk.errors.get(), Double.NaN,
                Double.NaN, Double.NaN, r1 - r0, shareWindow));
        return rows;
    }

    /** A class's share of the bytes both received in the same stage, in percent (NaN when none). */
    static double sharePct(List<Row> rows, Row row) {
        long total = rows.stream().filter(r -> r.stage().equals(row.stage())).mapToLong(Row::bytes).sum();
        return total > 0 ? 100.0 * row.bytes() / total : Double.NaN;
    }

    static String fmt(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("classmix: " + e.getMessage());
            System.exit(2);
            return;
        }
        List<Row> rows = new ClassMix(o).run();
        boolean header = o.out != null && (!Files.exists(o.out) || Files.size(o.out) == 0);
        if (o.out != null) {
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(o.out, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
                if (header) {
                    w.println(o.labels.headerPrefix()
                            + "stage,class,requests,errors,p50_ms,p95_ms,p99_ms,bytes,seconds,goodput_mbps,share_pct");
                }
                for (Row r : rows) {
                    w.printf(Locale.ROOT, "%s%s,%s,%d,%d,%s,%s,%s,%d,%.3f,%.3f,%s%n",
                            o.labels.rowPrefix(),
                            r.stage(), r.clazz(), r.requests(), r.errors(), fmt(r.p50Ms()), fmt(r.p95Ms()),
                            fmt(r.p99Ms()), r.bytes(), r.seconds(), r.mbps(),
                            "alone".equals(r.stage()) ? "" : fmt(sharePct(rows, r)));
                }
            }
        }
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-6s %-6s requests=%d errors=%d p50_ms=%s p99_ms=%s goodput_mbps=%.1f share=%s%n",
                    r.stage(), r.clazz(), r.requests(), r.errors(), fmt(r.p50Ms()), fmt(r.p99Ms()), r.mbps(),
                    "alone".equals(r.stage()) ? "-" : fmt(sharePct(rows, r)));
        }
        boolean goldServed = rows.stream().anyMatch(r -> "gold".equals(r.clazz()) && r.requests() > 0);
        System.exit(goldServed ? 0 : 1);
    }

    /** Command-line options, checked whole. */
    static final class Options {
        URI base;
        String goldPath = "/miss/1k.bin";
        String bulkPath = "/bulk/10m.bin";
        String goldHeader = "Cookie: tier=gold";
        String bronzeHeader = "Cookie: tier=bronze";
        int goldClients = 4;
        int thinkMillis = 50;
        int bronzeConnections = 4;
        int shareConnections = 2;
        double aloneSeconds = 10;
        double rampSeconds = 3;
        double loadedSeconds = 15;
        double shareSeconds = 15;
        int timeoutMillis = 20_000;
        Path out;
        final LoadArgs.Labels labels = new LoadArgs.Labels();

        static Options parse(String[] args) {
            Options o = new Options();
            List<String> errors = new ArrayList<>();
            for (LoadArgs.Option option : LoadArgs.options(args, errors)) {
                String name = option.name();
                String v = option.value();
                switch (name) {
                    case "--base" -> {
                        try {
                            o.base = URI.create(v);
                            if (!"http".equals(o.base.getScheme()) || o.base.getHost() == null) {
                                errors.add("--base: " + v + " (expected: http://host[:port])");
                            }
                        } catch (IllegalArgumentException e) {
                            errors.add("--base: " + v + " (expected: http://host[:port])");
                        }
                    }
                    case "--gold-path" -> o.goldPath = path(errors, name, v);
                    case "--bulk-path" -> o.bulkPath = path(errors, name, v);
                    case "--gold-header" -> o.goldHeader = header(errors, name, v);
                    case "--bronze-header" -> o.bronzeHeader = header(errors, name, v);
                    case "--gold-clients" -> o.goldClients = LoadArgs.intIn(errors, name, v, 1, 256);
                    case "--think-ms" -> o.thinkMillis = LoadArgs.intIn(errors, name, v, 0, 60_000);
                    case "--bronze-connections" -> o.bronzeConnections = LoadArgs.intIn(errors, name, v, 1, 256);
                    case "--share-connections" -> o.shareConnections = LoadArgs.intIn(errors, name, v, 1, 256);
                    case "--alone-seconds" -> o.aloneSeconds = secondsIn(errors, name, v);
                    case "--ramp-seconds" -> o.rampSeconds = secondsIn(errors, name, v);
                    case "--loaded-seconds" -> o.loadedSeconds = secondsIn(errors, name, v);
                    case "--share-seconds" -> o.shareSeconds = secondsIn(errors, name, v);
                    case "--timeout-ms" -> o.timeoutMillis = LoadArgs.intIn(errors, name, v, 100, 600_000);
                    case "--out" -> o.out = Path.of(v);
                    case "--label" -> o.labels.add(errors, v);
                    default -> errors.add(name + ": unknown option (expected one of: --base, --gold-path, --bulk-path, "
                            + "--gold-header, --bronze-header, --gold-clients, --think-ms, --bronze-connections, "
                            + "--share-connections, --alone-seconds, --ramp-seconds, --loaded-seconds, --share-seconds, "
                            + "--timeout-ms, --out, --label)");
                }
            }
            if (o.base == null && errors.stream().noneMatch(e -> e.startsWith("--base"))) {
                errors.add("--base: missing (expected: http://host[:port])");
            }
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException(String.join("; ", errors));
            }
            return o;
        }

        private static String path(List<String> errors, String name, String v) {
            if (!v.startsWith("/") || v.chars().anyMatch(c -> c <= ' ' || c >= 127)) {
                errors.add(name + ": " + v + " (expected: an absolute path, printable ASCII, no spaces)");
            }
            return v;
        }

        private static String header(List<String> errors, String name, String v) {
            int colon = v.indexOf(':');
            if (colon <= 0 || v.chars().anyMatch(c -> c < ' ' || c >= 127)
                    || v.substring(0, colon).chars().anyMatch(c -> c <= ' ')) {
                errors.add(name + ": " + v + " (expected: Name: value, printable ASCII on one line)");
            }
            return v;
        }


        private static double secondsIn(List<String> errors, String name, String v) {
            try {
                double x = Double.parseDouble(v);
                if (x >= 0.5 && x <= 600) {
                    return x;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
            errors.add(name + ": " + v + " (expected: seconds in 0.5..600)");
            return 1;
        }
    }
}
