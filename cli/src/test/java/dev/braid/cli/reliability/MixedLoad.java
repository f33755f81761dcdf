package dev.braid.cli.reliability;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A steady mixed load on a front-end, bounded in count and time: a few closed-loop clients, each
 * sending GETs of distinct items and POSTs of orders with a unique id (one in three), on keep-alive
 * connections, never retrying a POST. Every request's outcome is kept: when it started and ended,
 * its status, whether the body was the right one, the error reason a refusal carried, or the I/O
 * error a client saw.
 */
final class MixedLoad {

    /** How a request ended. */
    enum Kind {
        /** The right status and the right body. */
        OK,
        /** A status other than 200 with its reason ({@code X-Braid-Error} or a text body). */
        REFUSED,
        /** A status other than 200 without a reason, or a 200 with the wrong body: never acceptable. */
        WRONG,
        /** Connection refused or closed: the client never got a status. */
        IO_ERROR,
        /** The client's deadline passed first. */
        TIMED_OUT
    }

    record Outcome(long startNanos, long endNanos, boolean post, String id, Kind kind, int status, String detail) {
        long latencyMillis() {
            return (endNanos - startNanos) / 1_000_000;
        }
    }

    private final InetSocketAddress frontEnd;
    private final Duration deadline;
    private final long maxRequests;
    private final AtomicLong issued = new AtomicLong();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    private final List<Thread> clients = new ArrayList<>();
    final long startedNanos = System.nanoTime();

    /**
     * @param deadline    each request's deadline at the client
     * @param maxRequests bound on the requests sent, whatever the time
     */
    MixedLoad(InetSocketAddress frontEnd, int clientCount, Duration deadline, long maxRequests, String tag) {
        this.frontEnd = frontEnd;
        this.deadline = deadline;
        this.maxRequests = maxRequests;
        for (int i = 0; i < clientCount; i++) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(2)).build();
            int n = i;
            Thread t = new Thread(() -> run(client, tag + "-" + n), "load-" + n);
            t.setDaemon(true);
            clients.add(t);
        }
        clients.forEach(Thread::start);
    }

    private void run(HttpClient client, String prefix) {
        long seq = 0;
        while (!stop.get() && issued.incrementAndGet() <= maxRequests) {
            seq++;
            boolean post = seq % 3 == 0;
            String id = prefix + "-" + seq;
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + frontEnd.getPort()
                            + (post ? "/order" : "/item/" + id)))
                    .timeout(deadline);
            b = post ? b.header("X-Order-Id", id).POST(HttpRequest.BodyPublishers.ofString("order=" + id))
                    : b.GET();
            long start = System.nanoTime();
            Outcome o;
            try {
                HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                String expected = post ? "accepted " + id + " " + ("order=" + id).length() : "item-" + id;
                if (r.statusCode() == 200) {
                    o = new Outcome(start, System.nanoTime(), post, id,
                            expected.equals(r.body()) ? Kind.OK : Kind.WRONG, 200, r.body());
                } else {
                    String reason = r.headers().firstValue("X-Braid-Error").orElse(r.body().strip());
                    o = new Outcome(start, System.nanoTime(), post, id, reason.isEmpty() ? Kind.WRONG : Kind.REFUSED,
                            r.statusCode(), reason);
                }
            } catch (HttpTimeoutException e) {
                o = new Outcome(start, System.nanoTime(), post, id, Kind.TIMED_OUT, 0, e.toString());
            } catch (IOException e) {
                o = new Outcome(start, System.nanoTime(), post, id, Kind.IO_ERROR, 0, e.toString());
                pause(e instanceof ConnectException ? 50 : 5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            outcomes.add(o);
            pause(5);
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops sending and waits for the requests in flight to end (each within its deadline). */
    List<Outcome> stop() throws InterruptedException {
        stop.set(true);
        for (Thread t : clients) {
            t.join(deadline.toMillis() + 5_000);
        }
        return List.copyOf(outcomes);
    }

    List<Outcome> soFar() {
        return List.copyOf(outcomes);
    }

    /** Requests answered OK per window of {@code windowMillis}, by end time, from {@link #startedNanos}. */
    Map<Long, Integer> okPerWindow(List<Outcome> all, long windowMillis) {
        Map<Long, Integer> w = new TreeMap<>();
        for (Outcome o : all) {
            if (o.kind() == Kind.OK) {
                w.merge((o.endNanos() - startedNanos) / 1_000_000 / windowMillis, 1, Integer::sum);
            }
        }
        return w;
    }
}
