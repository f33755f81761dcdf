package dev.braid.perf.soak;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The soak's mixed load on a front-end, bounded in time: closed-loop clients each cycling through
 * the shop page (a cache hit after the first), a 100 KiB object, a 1 MiB object, a POST whose body
 * must come back whole ({@code /echo}), a 50 ms slow answer; one client in four instead opens a
 * new connection for every request ({@code Connection: close}), so connections come and go too. Every answer is checked (status and length); a summary line goes out
 * every 10 s and at the end, and the exit status is 1 when any request failed.
 *
 * <p>{@code java -cp ... dev.braid.perf.soak.SoakLoad FRONT_END_PORT SECONDS [CLIENTS]}
 */
public final class SoakLoad {

    private SoakLoad() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        long seconds = Long.parseLong(args[1]);
        int clients = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        LongAdder ok = new LongAdder();
        LongAdder bytes = new LongAdder();
        AtomicLong failed = new AtomicLong();
        List<String> firstFailures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int id = c;
            Thread t = new Thread(() -> {
                HttpClient shared = client();
                long n = 0;
                while (System.nanoTime() < end) {
                    n++;
                    if (id % 4 == 3) {
                        try {
                            long got = closeAfterOne(port);
                            ok.increment();
                            bytes.add(got);
                        } catch (IOException e) {
                            fail(failed, firstFailures, "GET /objects/10k (Connection: close): " + e);
                        }
                        continue;
                    }
                    HttpClient http = shared;
                    String base = "http://127.0.0.1:" + port;
                    String body = "order=" + id + "-" + n + "&pad=" + "x".repeat((int) (n % 2000));
                    HttpRequest req;
                    long expectLength;
                    switch ((int) (n % 5)) {
                        case 0 -> {
                            req = HttpRequest.newBuilder(URI.create(base + "/")).build();
                            expectLength = -1;
                        }
                        case 1 -> {
                            req = HttpRequest.newBuilder(URI.create(base + "/objects/100k")).build();
                            expectLength = 100 * 1024;
                        }
                        case 2 -> {
                            req = HttpRequest.newBuilder(URI.create(base + "/objects/1m")).build();
                            expectLength = 1024 * 1024;
                        }
                        case 3 -> {
                            req = HttpRequest.newBuilder(URI.create(base + "/echo"))
                                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                            expectLength = body.length();
                        }
                        default -> {
                            req = HttpRequest.newBuilder(URI.create(base + "/slow?ms=50")).build();
                            expectLength = -1;
                        }
                    }
                    try {
                        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(req, (k, v) -> true)
                                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
                        if (r.statusCode() == 200 && (expectLength < 0 || r.body().length == expectLength)) {
                            ok.increment();
                            bytes.add(r.body().length);
                        } else {
                            fail(failed, firstFailures, req.uri() + ": " + r.statusCode() + ", " + r.body().length + " bytes");
                        }
                    } catch (IOException e) {
                        fail(failed, firstFailures, req.uri() + ": " + e);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "soak-client-" + c);
            threads.add(t);
            t.start();
        }
        long started = System.nanoTime();
        while (threads.stream().anyMatch(Thread::isAlive)) {
            for (Thread t : threads) {
                t.join(10_000);
                if (t.isAlive()) {
                    break;
                }
            }
            System.out.printf("load t=%ds ok=%d failed=%d bytes=%d%n", (System.nanoTime() - started) / 1_000_000_000,
                    ok.sum(), failed.get(), bytes.sum());
        }
        System.out.printf("load done ok=%d failed=%d bytes=%d%n", ok.sum(), failed.get(), bytes.sum());
        firstFailures.forEach(f -> System.out.println("failure: " + f));
        System.exit(failed.get() == 0 ? 0 : 1);
    }

    /** One request on a connection of its own; returns the body length, or throws when the answer is wrong. */
    private static long closeAfterOne(int port) throws IOException {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("GET /objects/10k HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            byte[] all = s.getInputStream().readAllBytes();
            String text = new String(all, java.nio.charset.StandardCharsets.ISO_8859_1);
            int headEnd = text.indexOf("\r\n\r\n");
            if (!text.startsWith("HTTP/1.1 200 ") || headEnd < 0 || all.length - headEnd - 4 != 10 * 1024) {
                throw new IOException("unexpected answer: " + text.substring(0, Math.min(80, text.length())).strip()
                        + ", " + all.length + " bytes");
            }
            return all.length - headEnd - 4;
        }
    }

    private static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private static void fail(AtomicLong failed, List<String> first, String what) {
        if (failed.incrementAndGet() <= 10) {
            first.add(what);
        }
    }
}
