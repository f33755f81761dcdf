package dev.braid.perf.load;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The page-load generator: many simulated browsers, each loading one page after another the way a
 * browser with an empty cache does on its first visit to a site.
 *
 * <p>A page load opens one connection, fetches the HTML, finds the objects it references
 * ({@code src="..."} and {@code href="..."} attributes with a local path), and fetches them over
 * up to {@code --connections} parallel keep-alive connections (six, like a browser), the first of
 * them the HTML's own connection. The page-load time runs from the start of the first connect to
 * the last byte of the last object. Every load starts with fresh connections, so the handshakes to
 * the server are part of it, as they are for a new visitor.
 *
 * <p>Bounded: each client loads at most {@code --pages} pages and stops at {@code --max-seconds};
 * each socket read times out after {@code --timeout-ms}. One CSV row per page load goes to
 * {@code --out}; a summary goes to stdout.
 *
 * <pre>
 * java -cp perf/target/classes dev.braid.perf.load.PageLoad --url http://198.18.1.1:8080/page/index.html \
 *     --clients 10 --pages 5 --connections 6 --warmup 1 --max-seconds 60 \
 *     --label system=braid-tcp,condition=rtt80-loss1,cc=bbr --out pages.csv
 * </pre>
 */
public final class PageLoad {

    private static final Pattern REF = Pattern.compile("(?:src|href)=\"(/[^\"]*)\"");

    /** One measured page load. */
    record Result(int client, int page, long startNanos, long pltNanos, long htmlNanos, int objects, long bytes,
                  int connections, String error) {
        boolean ok() {
            return error == null;
        }
    }

    private final URI url;
    private final InetSocketAddress server;
    private final String host;
    private final int connections;
    private final int timeoutMillis;
    /** Every response received, warm-up loads included: the denominator of a server's CPU per request. */
    private final java.util.concurrent.atomic.LongAdder responses = new java.util.concurrent.atomic.LongAdder();

    PageLoad(URI url, int connections, int timeoutMillis) {
        this.url = url;
        int port = url.getPort() > 0 ? url.getPort() : 80;
        this.server = new InetSocketAddress(url.getHost(), port);
        this.host = url.getHost() + (url.getPort() > 0 ? ":" + url.getPort() : "");
        this.connections = connections;
        this.timeoutMillis = timeoutMillis;
    }

    /** The local paths an HTML page references, in document order, each once. */
    static List<String> references(String html) {
        Set<String> refs = new LinkedHashSet<>();
        Matcher m = REF.matcher(html);
        while (m.find()) {
            refs.add(m.group(1));
        }
        return new ArrayList<>(refs);
    }

    /** Loads the page once with fresh connections; never throws, failures are in the result. */
    Result loadOnce(int client, int page, long deadlineNanos) {
        long start = System.nanoTime();
        List<HttpConnection> conns = new ArrayList<>();
        AtomicReference<String> error = new AtomicReference<>();
        long[] bytes = new long[connections];
        int objects = 0;
        // The HTML's share of the load (connect to its last byte): the part that crosses the WAN when
        // the objects are cached at the point of presence. Zero when the HTML did not complete.
        long htmlNanos = 0;
        try {
            HttpConnection first = new HttpConnection(server, host, timeoutMillis);
            conns.add(first);
            HttpConnection.Response html = first.get(url.getRawPath(), true);
            responses.increment();
            if (html.status() != 200) {
                throw new IOException("HTML " + url.getRawPath() + ": status " + html.status());
            }
            htmlNanos = System.nanoTime() - start;
            bytes[0] += html.bodyBytes();
            List<String> refs = references(new String(html.body(), StandardCharsets.UTF_8));
            objects = refs.size();
            ConcurrentLinkedQueue<String> todo = new ConcurrentLinkedQueue<>(refs);
            int workers = Math.min(connections, Math.max(1, refs.size()));
            for (int i = 1; i < workers; i++) {
                conns.add(new HttpConnection(server, host, timeoutMillis));
            }
            CountDownLatch done = new CountDownLatch(workers);
            for (int i = 0; i < workers; i++) {
                HttpConnection c = conns.get(i);
                int slot = i;
                Thread t = new Thread(() -> {
                    try {
                        String path;
                        while (error.get() == null && (path = todo.poll()) != null) {
                            if (System.nanoTime() > deadlineNanos) {
                                error.compareAndSet(null, "time limit reached");
                                break;
                            }
                            HttpConnection.Response r = c.get(path, false);
                            responses.increment();
                            if (r.status() != 200) {
                                error.compareAndSet(null, path + ": status " + r.status());
                                break;
                            }
                            bytes[slot] += r.bodyBytes();
                        }
                    } catch (IOException | RuntimeException e) {
                        error.compareAndSet(null, e.getClass().getSimpleName() + ": " + e.getMessage());
                    } finally {
                        done.countDown();
                    }
                }, "page-" + client + "-" + i);
                t.setDaemon(true);
                t.start();
            }
            long waitNanos = Math.max(0, deadlineNanos - System.nanoTime()) + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            if (!done.await(waitNanos, TimeUnit.NANOSECONDS)) {
                error.compareAndSet(null, "objects not complete in time");
            }
        } catch (IOException | RuntimeException e) {
            error.compareAndSet(null, e.getClass().getSimpleName() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error.compareAndSet(null, "interrupted");
        } finally {
            conns.forEach(HttpConnection::close);
        }
        long plt = System.nanoTime() - start;
        int opened = conns.stream().mapToInt(HttpConnection::opened).sum();
        return new Result(client, page, start, plt, htmlNanos, objects, Arrays.stream(bytes).sum(), opened,
                error.get() == null ? null : error.get().replace(',', ';').replace('\n', ' '));
    }

    /** Runs {@code clients} browsers concurrently, each {@code warmup} unmeasured loads then up to {@code pages}. */
    List<Result> run(int clients, int pages, int warmup, long maxNanos) throws InterruptedException {
        long begin = System.nanoTime();
        long deadline = begin + maxNanos;
        List<Result> results = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int client = c;
            Thread t = new Thread(() -> {
                for (int w = 0; w < warmup && System.nanoTime() < deadline; w++) {
                    loadOnce(client, -1 - w, deadline);
                }
                for (int p = 0; p < pages && System.nanoTime() < deadline; p++) {
                    results.add(loadOnce(client, p, deadline));
                }
            }, "client-" + c);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()) + 2L * timeoutMillis));
        }
        List<Result> out;
        synchronized (results) {
            out = new ArrayList<>(results);
        }
        out.sort((a, b) -> Long.compare(a.startNanos, b.startNanos));
        return out;
    }

    static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        PageLoad load = new PageLoad(o.url, o.connections, o.timeoutMillis);
        List<Result> results = load.run(o.clients, o.pages, o.warmup, TimeUnit.SECONDS.toNanos(o.maxSeconds));
        long t0 = results.isEmpty() ? 0 : results.get(0).startNanos;
        boolean header = o.out != null && (!Files.exists(o.out) || Files.size(o.out) == 0);
        try (PrintWriter w = o.out == null ? null : new PrintWriter(Files.newBufferedWriter(o.out, StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND))) {
            if (w != null) {
                if (header) {
                    w.println(o.labels.headerPrefix()
                            + "client,page,start_ms,plt_ms,html_ms,objects,bytes,connections,ok,error");
                }
                for (Result r : results) {
                    w.printf(Locale.ROOT, "%s%d,%d,%.3f,%.3f,%.3f,%d,%d,%d,%d,%s%n",
                            o.labels.rowPrefix(),
                            r.client, r.page, (r.startNanos - t0) / 1e6, r.pltNanos / 1e6, r.htmlNanos / 1e6, r.objects, r.bytes,
                            r.connections, r.ok() ? 1 : 0, r.error == null ? "" : r.error);
                }
            }
        }
        double[] ok = results.stream().filter(Result::ok).mapToDouble(r -> r.pltNanos / 1e6).sorted().toArray();
        long failed = results.stream().filter(r -> !r.ok()).count();
        System.out.printf(Locale.ROOT, "pages=%d ok=%d failed=%d p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f requests=%d%n",
                results.size(), ok.length, failed, percentile(ok, 0.50), percentile(ok, 0.95), percentile(ok, 0.99),
                load.responses.sum());
        results.stream().filter(r -> !r.ok()).limit(3).forEach(r -> System.out.println("  error: " + r.error));
        System.exit(ok.length == 0 ? 1 : 0);
    }

    /** Command-line options, checked whole. */
    static final class Options {
        URI url;
        int clients = 10;
        int pages = 5;
        int warmup = 1;
        int connections = 6;
        int maxSeconds = 60;
        int timeoutMillis = 30_000;
        Path out;
        final LoadArgs.Labels labels = new LoadArgs.Labels();

        static Options parse(String[] args) {
            Options o = new Options();
            List<String> errors = new ArrayList<>();
            for (LoadArgs.Option option : LoadArgs.options(args, errors)) {
                String name = option.name();
                String v = option.value();
                switch (name) {
                    case "--url" -> {
                        try {
                            o.url = URI.create(v);
                            if (!"http".equals(o.url.getScheme()) || o.url.getHost() == null || o.url.getRawPath() == null
                                    || o.url.getRawPath().isEmpty()) {
                                errors.add("--url: " + v + " (expected: http://host[:port]/path)");
                            }
                        } catch (IllegalArgumentException e) {
                            errors.add("--url: " + v + " (expected: http://host[:port]/path)");
                        }
                    }
                    case "--clients" -> o.clients = LoadArgs.intIn(errors, name, v, 1, 1000);
                    case "--pages" -> o.pages = LoadArgs.intIn(errors, name, v, 1, 100_000);
                    case "--warmup" -> o.warmup = LoadArgs.intIn(errors, name, v, 0, 100);
                    case "--connections" -> o.connections = LoadArgs.intIn(errors, name, v, 1, 64);
                    case "--max-seconds" -> o.maxSeconds = LoadArgs.intIn(errors, name, v, 1, 3600);
                    case "--timeout-ms" -> o.timeoutMillis = LoadArgs.intIn(errors, name, v, 100, 600_000);
                    case "--out" -> o.out = Path.of(v);
                    case "--label" -> o.labels.add(errors, v);
                    default -> errors.add(name + ": unknown option (expected one of: --url, --clients, --pages, "
                            + "--warmup, --connections, --max-seconds, --timeout-ms, --out, --label)");
                }
            }
            if (o.url == null && errors.stream().noneMatch(e -> e.startsWith("--url"))) {
                errors.add("--url: missing (expected: http://host[:port]/path)");
            }
            if (!errors.isEmpty()) {
                errors.forEach(e -> System.err.println("pageload: " + e));
                System.exit(2);
            }
            return o;
        }

    }
}
