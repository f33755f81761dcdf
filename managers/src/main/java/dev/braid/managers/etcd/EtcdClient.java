package dev.braid.managers.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * A small etcd v3 client over the JSON gateway ({@code POST /v3/kv/range}, {@code /v3/kv/put},
 * {@code /v3/kv/txn}, {@code /v3/kv/deleterange}, {@code /v3/lease/grant}, {@code /v3/lease/keepalive},
 * {@code /v3/lease/revoke}, {@code /v3/watch}) with {@code java.net.http}: keys and values travel as
 * base64, 64-bit numbers as JSON strings.
 *
 * <p>Requests go to the endpoint that answered last; on a connection failure the next endpoint is
 * tried, so a cluster of etcd members survives the loss of any minority of them. Every unary call
 * has a {@link #REQUEST_TIMEOUT}. Thread-safe.
 */
public final class EtcdClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EtcdClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How long one unary request may take before the next endpoint is tried. */
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(3);

    /** One key and its value with etcd's revisions. */
    public record KeyValue(String key, byte[] value, long createRevision, long modRevision, long version, long lease) {
        public String valueText() {
            return new String(value, StandardCharsets.UTF_8);
        }
    }

    /** A condition of a transaction, such as "the key's mod revision equals 7". */
    public record Compare(String key, String target, long number, String value) {

        /** The key's last modification revision equals {@code revision} (0: the key does not exist). */
        public static Compare modRevision(String key, long revision) {
            return new Compare(key, "MOD", revision, null);
        }

        /** The key's creation revision equals {@code revision} (0: the key does not exist). */
        public static Compare createRevision(String key, long revision) {
            return new Compare(key, "CREATE", revision, null);
        }

        /** The key's value equals {@code value}. */
        public static Compare value(String key, String value) {
            return new Compare(key, "VALUE", 0, value);
        }

        ObjectNode toJson() {
            ObjectNode n = JSON.createObjectNode();
            n.put("key", b64(key));
            n.put("target", target);
            n.put("result", "EQUAL");
            switch (target) {
                case "MOD" -> n.put("mod_revision", Long.toString(number));
                case "CREATE" -> n.put("create_revision", Long.toString(number));
                case "VALUE" -> n.put("value", b64(value));
                default -> throw new IllegalStateException(target);
            }
            return n;
        }
    }

    /** An operation inside a transaction. */
    public record Op(String kind, String key, byte[] value, long lease, boolean prefix) {

        public static Op put(String key, byte[] value) {
            return new Op("put", key, value, 0, false);
        }

        public static Op put(String key, String value, long lease) {
            return new Op("put", key, value.getBytes(StandardCharsets.UTF_8), lease, false);
        }

        public static Op delete(String key) {
            return new Op("delete", key, null, 0, false);
        }

        public static Op get(String key) {
            return new Op("range", key, null, 0, false);
        }

        ObjectNode toJson() {
            ObjectNode wrapper = JSON.createObjectNode();
            ObjectNode n = JSON.createObjectNode();
            n.put("key", b64(key));
            switch (kind) {
                case "put" -> {
                    n.put("value", Base64.getEncoder().encodeToString(value));
                    if (lease != 0) {
                        n.put("lease", Long.toString(lease));
                    }
                    wrapper.set("request_put", n);
                }
                case "delete" -> {
                    if (prefix) {
                        n.put("range_end", b64(prefixEnd(key)));
                    }
                    wrapper.set("request_delete_range", n);
                }
                case "range" -> wrapper.set("request_range", n);
                default -> throw new IllegalStateException(kind);
            }
            return wrapper;
        }
    }

    /** The outcome of a transaction: which branch ran, and what its range operations read. */
    public record TxnResult(boolean succeeded, long revision, List<List<KeyValue>> ranges) {
    }

    /** One change seen by a watch. */
    public record WatchEvent(boolean delete, KeyValue kv) {
    }

    private final List<URI> endpoints;
    private final HttpClient http;
    private volatile int preferred;
    private volatile boolean closed;

    private EtcdClient(List<URI> endpoints) {
        this.endpoints = List.copyOf(endpoints);
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .build();
    }

    /**
     * A client of the etcd members at {@code endpoints} ({@code http://host:port}). Connects lazily.
     *
     * @throws IllegalArgumentException when the list is empty or an endpoint is not an http URL
     */
    public static EtcdClient create(List<URI> endpoints) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("endpoints: [] (expected: at least one etcd client URL)");
        }
        for (URI u : endpoints) {
            if (!"http".equals(u.getScheme()) || u.getHost() == null || u.getPort() < 1) {
                throw new IllegalArgumentException("endpoints: " + u + " (expected: http://host:port)");
            }
        }
        return new EtcdClient(endpoints);
    }

    public List<URI> endpoints() {
        return endpoints;
    }

    /** The value of {@code key}, or null when it does not exist. */
    public KeyValue get(String key) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.put("key", b64(key));
        List<KeyValue> kvs = kvs(call("/v3/kv/range", body).get("kvs"));
        return kvs.isEmpty() ? null : kvs.get(0);
    }

    /**
     * Every key starting with {@code prefix}, in key order; the newest {@code limit} when
     * {@code newestFirst} (key order descending), else the first {@code limit} (0: no limit).
     */
    public List<KeyValue> range(String prefix, long limit, boolean newestFirst) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.put("key", b64(prefix));
        body.put("range_end", b64(prefixEnd(prefix)));
        if (limit > 0) {
            body.put("limit", Long.toString(limit));
        }
        if (newestFirst) {
            body.put("sort_order", "DESCEND");
            body.put("sort_target", "KEY");
        }
        return kvs(call("/v3/kv/range", body).get("kvs"));
    }

    /** Puts {@code value} at {@code key}, attached to {@code lease} unless it is 0; returns the new revision. */
    public long put(String key, byte[] value, long lease) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.put("key", b64(key));
        body.put("value", Base64.getEncoder().encodeToString(value));
        if (lease != 0) {
            body.put("lease", Long.toString(lease));
        }
        return revision(call("/v3/kv/put", body));
    }

    /** Deletes every key starting with {@code prefix}. */
    public void deletePrefix(String prefix) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.put("key", b64(prefix));
        body.put("range_end", b64(prefixEnd(prefix)));
        call("/v3/kv/deleterange", body);
    }

    /** Runs {@code success} when every comparison holds, else {@code failure}, atomically. */
    public TxnResult txn(List<Compare> compares, List<Op> success, List<Op> failure) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode c = body.putArray("compare");
        compares.forEach(x -> c.add(x.toJson()));
        ArrayNode s = body.putArray("success");
        success.forEach(x -> s.add(x.toJson()));
        ArrayNode f = body.putArray("failure");
        failure.forEach(x -> f.add(x.toJson()));
        JsonNode r = call("/v3/kv/txn", body);
        List<List<KeyValue>> ranges = new ArrayList<>();
        for (JsonNode op : r.path("responses")) {
            if (op.has("response_range")) {
                ranges.add(kvs(op.get("response_range").get("kvs")));
            }
        }
        return new TxnResult(r.path("succeeded").asBoolean(false), revision(r), ranges);
    }

    /** Grants a lease of {@code ttlSeconds}; returns its id. */
    public long grantLease(int ttlSeconds) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.put("TTL", Integer.toString(ttlSeconds));
        JsonNode r = call("/v3/lease/grant", body);
        if (r.hasNonNull("error") && !r.path("error").asText().isEmpty()) {
            throw new IOException("etcd: lease not granted: " + r.get("error").asText());
        }
        return Long.parseLong(r.path("ID").asText("0"));
    }

    /** Renews a lease; returns its remaining TTL in seconds, 0 when it has expired. */
    public long keepAlive(long lease) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.put("ID", Long.toString(lease));
        JsonNode r = call("/v3/lease/keepalive", body);
        return Long.parseLong(r.path("result").path("TTL").asText("0"));
    }

    /** Revokes a lease, deleting the keys attached to it. */
    public void revoke(long lease) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.put("ID", Long.toString(lease));
        call("/v3/lease/revoke", body);
    }

    /**
     * Watches every key starting with {@code prefix} from {@code fromRevision} on, calling
     * {@code onEvent} for each change on the watch's own thread, in order. A broken stream is
     * reopened (on the next endpoint if need be) from the revision after the last one seen; when that
     * revision has been compacted away, {@code onReset} is called so the caller can re-read.
     */
    public Watch watch(String prefix, long fromRevision, Consumer<WatchEvent> onEvent, Runnable onReset) {
        Watch w = new Watch(prefix, fromRevision, onEvent, onReset);
        Thread t = new Thread(w::run, "etcd-watch " + prefix);
        t.setDaemon(true);
        w.thread = t;
        t.start();
        return w;
    }

    /** A running watch; {@link #close()} ends it. */
    public final class Watch implements AutoCloseable {
        private final String prefix;
        private final Consumer<WatchEvent> onEvent;
        private final Runnable onReset;
        private long next;
        private volatile boolean stopped;
        private volatile InputStream stream;
        private Thread thread;

        private Watch(String prefix, long fromRevision, Consumer<WatchEvent> onEvent, Runnable onReset) {
            this.prefix = prefix;
            this.next = fromRevision;
            this.onEvent = onEvent;
            this.onReset = onReset;
        }

        private void run() {
            int failures = 0;
            while (!stopped && !closed) {
                URI endpoint = endpoints.get(Math.floorMod(preferred, endpoints.size()));
                try {
                    ObjectNode create = JSON.createObjectNode();
                    create.put("key", b64(prefix));
                    create.put("range_end", b64(prefixEnd(prefix)));
                    if (next > 0) {
                        create.put("start_revision", Long.toString(next));
                    }
                    ObjectNode body = JSON.createObjectNode();
                    body.set("create_request", create);
                    HttpRequest req = HttpRequest.newBuilder(endpoint.resolve("/v3/watch"))
                            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                            .header("Content-Type", "application/json")
                            .build();
                    HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
                    stream = resp.body();
                    if (resp.statusCode() != 200) {
                        throw new IOException("HTTP " + resp.statusCode());
                    }
                    try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                        String line;
                        while (!stopped && (line = reader.readLine()) != null) {
                            failures = 0;
                            if (!line.isBlank()) {
                                receive(JSON.readTree(line));
                            }
                        }
                    }
                    if (!stopped) {
                        throw new IOException("watch stream ended");
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (IOException | RuntimeException e) {
                    if (stopped || closed) {
                        return;
                    }
                    failures++;
                    preferred++;
                    if (failures == 1) {
                        log.warn("etcd watch of {} at {} broke ({}); reopening from revision {}", prefix, endpoint,
                                e.toString(), next);
                    }
                    try {
                        Thread.sleep(Math.min(2000, 100L << Math.min(failures, 5))
                                + ThreadLocalRandom.current().nextInt(100));
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }

        private void receive(JsonNode message) {
            JsonNode result = message.path("result");
            if (message.has("error")) {
                throw new IllegalStateException("etcd watch error: " + message.get("error"));
            }
            long compacted = Long.parseLong(result.path("compact_revision").asText("0"));
            if (compacted > 0) {
                log.warn("etcd watch of {}: revision {} compacted; re-reading", prefix, next);
                next = 0;
                onReset.run();
                throw new IllegalStateException("watch restarted after compaction");
            }
            for (JsonNode e : result.path("events")) {
                KeyValue kv = kv(e.get("kv"));
                next = Math.max(next, kv.modRevision() + 1);
                onEvent.accept(new WatchEvent("DELETE".equals(e.path("type").asText()), kv));
            }
        }

        @Override
        public void close() {
            stopped = true;
            InputStream s = stream;
            if (s != null) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // Closing cancels the response; nothing else to do.
                }
            }
            if (thread != null) {
                thread.interrupt();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
    }

    private JsonNode call(String path, ObjectNode body) throws IOException {
        IOException last = null;
        int start = preferred;
        for (int i = 0; i < endpoints.size(); i++) {
            int index = Math.floorMod(start + i, endpoints.size());
            URI endpoint = endpoints.get(index);
            HttpRequest req = HttpRequest.newBuilder(endpoint.resolve(path))
                    .timeout(REQUEST_TIMEOUT)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                    .build();
            HttpResponse<String> resp;
            try {
                resp = http.send(req, HttpResponse.BodyHandlers.ofString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("etcd: interrupted", e);
            } catch (IOException e) {
                last = e;
                continue;
            }
            String message = "etcd " + endpoint + path + ": HTTP " + resp.statusCode() + ": " + abbreviate(resp.body());
            if (resp.statusCode() >= 500) {
                // The member has no leader or is shutting down: another one may do better.
                last = new IOException(message);
                continue;
            }
            if (resp.statusCode() != 200) {
                // An answer from a member is authoritative: trying another would give the same.
                throw new IOException(message);
            }
            preferred = index;
            return JSON.readTree(resp.body());
        }
        throw new IOException("etcd: no endpoint of " + endpoints + " answered " + path
                + (last == null ? "" : ": " + last), last);
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() > 200 ? one.substring(0, 197) + "..." : one;
    }

    private static long revision(JsonNode r) {
        return Long.parseLong(r.path("header").path("revision").asText("0"));
    }

    private static List<KeyValue> kvs(JsonNode array) {
        List<KeyValue> out = new ArrayList<>();
        if (array != null) {
            for (JsonNode n : array) {
                out.add(kv(n));
            }
        }
        return out;
    }

    private static KeyValue kv(JsonNode n) {
        Objects.requireNonNull(n, "kv");
        return new KeyValue(
                new String(Base64.getDecoder().decode(n.path("key").asText("")), StandardCharsets.UTF_8),
                Base64.getDecoder().decode(n.path("value").asText("")),
                Long.parseLong(n.path("create_revision").asText("0")),
                Long.parseLong(n.path("mod_revision").asText("0")),
                Long.parseLong(n.path("version").asText("0")),
                Long.parseLong(n.path("lease").asText("0")));
    }

    static String b64(String s) {
        return b64(s.getBytes(StandardCharsets.UTF_8));
    }

    static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    /** The end of the range of keys starting with {@code prefix}: the prefix with its last byte plus one. */
    static byte[] prefixEnd(String prefix) {
        byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
        for (int i = b.length - 1; i >= 0; i--) {
            if (b[i] != (byte) 0xff) {
                b[i]++;
                return java.util.Arrays.copyOf(b, i + 1);
            }
        }
        return new byte[] {0};
    }
}
