package dev.braid.perf.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.braid.frontend.cache.CacheFill;
import dev.braid.frontend.cache.CachedResponses;
import dev.braid.frontend.cache.HttpCache;
import dev.braid.managers.config.CacheSettings;
import dev.braid.managers.config.SiteCachePolicy;
import dev.braid.runtime.Metrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
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

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The front-end cache's hit path for 1 KiB responses that vary on {@code Accept-Encoding}: the
 * lookup (primary key from site, host and target, then the variant chosen by the request's
 * secondary key, then freshness against the request's directives), and the lookup plus rendering
 * the response a client gets (headers with Age and Via, the body as a retained slice). The named
 * peer is {@code caffeineGet}: a plain Caffeine {@code getIfPresent} on the same number of string
 * keys, what a cache lookup costs with no HTTP semantics at all. Keys are taken in a shuffled order
 * so that the store's memory is touched as in service, not one hot entry. Run on perf's classpath
 * (docs/perf.md): {@code java -cp <perf classpath> org.openjdk.jmh.Main CacheLookupBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class CacheLookupBenchmark {

    static final String SITE = "shop";
    static final String HOST = "www.shop.example";
    static final int BODY_BYTES = 1024;

    @Param({"1000", "100000"})
    int entries;

    private HttpCache cache;
    private HttpRequest[] requests;
    private Cache<String, byte[]> peer;
    private String[] peerKeys;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        cache = new HttpCache(CacheSettings.DEFAULT, "fe-bench", new Metrics(), System::currentTimeMillis,
                (task, delayMillis) -> { });
        peer = Caffeine.newBuilder().maximumSize(entries).executor(Runnable::run).build();
        byte[] body = new byte[BODY_BYTES];
        ThreadLocalRandom.current().nextBytes(body);
        requests = new HttpRequest[entries];
        peerKeys = new String[entries];
        for (int i = 0; i < entries; i++) {
            HttpRequest r = request("/obj/" + i + ".bin");
            store(r, body);
            requests[i] = r;
            peerKeys[i] = SITE + " " + HOST + "/obj/" + i + ".bin";
            peer.put(peerKeys[i], body);
        }
        shuffle(requests, peerKeys);
        if (cache.lookup(SITE, SiteCachePolicy.DEFAULT, requests[0]).kind() != HttpCache.Lookup.Kind.HIT) {
            throw new IllegalStateException("the benchmark's entries were not stored");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
    }

    private static HttpRequest request(String target) {
        HttpHeaders h = new DefaultHttpHeaders();
        h.set("Host", HOST);
        h.set("Accept-Encoding", "gzip, br");
        h.set("User-Agent", "bench");
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, target, h);
    }

    /** Stores a response through a fill, as the gateway does for a miss. */
    private void store(HttpRequest r, byte[] body) {
        HttpCache.Lookup lookup = cache.lookup(SITE, SiteCachePolicy.DEFAULT, r);
        CacheFill fill = cache.fetch(lookup, r, true).fill();
        HttpHeaders h = new DefaultHttpHeaders();
        h.set("Cache-Control", "public, max-age=3600");
        h.set("Vary", "Accept-Encoding");
        h.set("Content-Type", "application/octet-stream");
        h.set("Content-Length", BODY_BYTES);
        if (!fill.head(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, h))) {
            throw new IllegalStateException("the cache refused a cacheable response");
        }
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(BODY_BYTES);
        try {
            b.writeBytes(body);
            fill.content(b);
        } finally {
            b.release();
        }
        fill.end();
    }

    private static void shuffle(HttpRequest[] a, String[] b) {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            HttpRequest t = a[i];
            a[i] = a[j];
            a[j] = t;
            String u = b[i];
            b[i] = b[j];
            b[j] = u;
        }
    }

    private int nextIndex() {
        int i = next;
        next = i + 1 == entries ? 0 : i + 1;
        return i;
    }

    @Benchmark
    public HttpCache.Lookup.Kind lookup() {
        return cache.lookup(SITE, SiteCachePolicy.DEFAULT, requests[nextIndex()]).kind();
    }

    @Benchmark
    public int lookupAndServe() {
        HttpRequest r = requests[nextIndex()];
        HttpCache.Lookup l = cache.lookup(SITE, SiteCachePolicy.DEFAULT, r);
        CachedResponses.Rendered rendered = cache.serve(l, r);
        try {
            return rendered.head().headers().size() + rendered.body().readableBytes();
        } finally {
            rendered.body().release();
        }
    }

    /** The peer: a plain Caffeine lookup of a string key. */
    @Benchmark
    public byte[] caffeineGet() {
        return peer.getIfPresent(peerKeys[nextIndex()]);
    }
}
