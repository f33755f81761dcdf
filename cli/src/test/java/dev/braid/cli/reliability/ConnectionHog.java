package dev.braid.cli.reliability;

import dev.braid.frontend.FrontEnd;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.internal.PlatformDependent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The child processes of the connection-bound tests, each in a JVM of its own so that its
 * descriptor limit can be raised and its memory measured alone. Commands arrive on standard input,
 * one per line; answers are lines on standard output; end of input ends the process.
 *
 * <ul>
 *   <li>{@code front-end CONFIG TRANSPORT}: runs the front-end {@code fe-1} of the configuration
 *       file on an ephemeral port and prints {@code LISTEN port}. {@code measure} prints
 *       {@code MEASURE heapUsedAfterGc pooledDirectUsed directUsed connections} (pooled: -1 when the
 *       allocator is not Netty's pooled one).</li>
 *   <li>{@code idle PORT COUNT SOURCES}: opens {@code COUNT} connections to 127.0.0.1:PORT, spread
 *       over the comma-separated loopback source addresses, sends on each one request the
 *       front-end answers itself (421, connection kept alive), reads the answer, and prints
 *       {@code OPEN n answered m failed f millis}; the connections then stay open and idle.
 *       {@code check} prints {@code ALIVE n} (connections the server has not closed).</li>
 *   <li>{@code slowloris PORT COUNT INTERVAL_MS}: opens {@code COUNT} connections and sends each one
 *       byte of a request head every {@code INTERVAL_MS}, never finishing it; prints
 *       {@code OPEN n millis}, then {@code STATUS open closed answered408} every second.</li>
 * </ul>
 */
public final class ConnectionHog {

    private ConnectionHog() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "front-end" -> frontEnd(Path.of(args[1]), Transport.parse(args[2]));
            case "idle" -> idle(Integer.parseInt(args[1]), Integer.parseInt(args[2]), args[3].split(","));
            case "slowloris" -> slowloris(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Long.parseLong(args[3]));
            default -> throw new IllegalArgumentException("mode: " + args[0]
                    + " (expected: front-end, idle or slowloris)");
        }
    }

    private static void frontEnd(Path configFile, Transport transport) throws IOException {
        var config = ConfigLoader.parse(Files.readString(configFile));
        Metrics metrics = new Metrics();
        try (EventLoops loops = EventLoops.create("fe", transport, 2);
             FrontEnd fe = FrontEnd.start(new FrontEnd.Options("fe-1", new InetSocketAddress("127.0.0.1", 0), loops,
                     metrics, config))) {
            System.out.println("LISTEN " + fe.localAddress().getPort());
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.equals("measure")) {
                    for (int i = 0; i < 3; i++) {
                        System.gc();
                    }
                    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
                    long pooled = ByteBufAllocator.DEFAULT instanceof PooledByteBufAllocator p
                            ? p.metric().usedDirectMemory() : -1;
                    long connections = (long) sample(metrics.scrape(), "braid_frontend_client_connections");
                    // Netty's own count of the direct memory it allocated without cleaners, or the
                    // JDK's count of direct buffers, whichever this JVM's allocator uses more.
                    long jdkDirect = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                            .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
                    long direct = Math.max(PlatformDependent.usedDirectMemory(), jdkDirect);
                    System.out.println("MEASURE " + heap.getUsed() + " " + pooled + " " + direct + " " + connections);
                    System.out.flush();
                }
            }
        }
    }

    private static double sample(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
            }
        }
        return -1;
    }

    private static void idle(int port, int count, String[] sources) throws IOException {
        long start = System.nanoTime();
        byte[] request = ("GET / HTTP/1.1\r\nHost: not-a-site.example\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        List<SocketChannel> open = new ArrayList<>(count);
        int answered = 0;
        int failed = 0;
        try (Selector selector = Selector.open()) {
            ByteBuffer buf = ByteBuffer.allocate(4096);
            int next = 0;
            int pending = 0;
            // Connect in bounded batches (the accept backlog), then read each answer.
            while (next < count || pending > 0) {
                while (next < count && pending < 512) {
                    SocketChannel ch = SocketChannel.open();
                    try {
                        ch.bind(new InetSocketAddress(sources[next % sources.length], 0));
                        ch.connect(new InetSocketAddress("127.0.0.1", port));
                        ch.write(ByteBuffer.wrap(request));
                        ch.configureBlocking(false);
                        ch.register(selector, SelectionKey.OP_READ);
                        open.add(ch);
                        pending++;
                    } catch (IOException e) {
                        ch.close();
                        failed++;
                    }
                    next++;
                }
                if (selector.select(5_000) == 0) {
                    break;
                }
                for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey key = it.next();
                    it.remove();
                    SocketChannel ch = (SocketChannel) key.channel();
                    buf.clear();
                    int n = ch.read(buf);
                    String head = new String(buf.array(), 0, Math.max(0, n), StandardCharsets.US_ASCII);
                    if (head.startsWith("HTTP/1.1 421")) {
                        answered++;
                    } else {
                        failed++;
                    }
                    key.cancel();
                    pending--;
                }
            }
            selector.selectNow();
        }
        System.out.println("OPEN " + open.size() + " answered " + answered + " failed " + failed + " millis "
                + (System.nanoTime() - start) / 1_000_000);
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        ByteBuffer probe = ByteBuffer.allocate(1);
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.equals("check")) {
                int alive = 0;
                for (SocketChannel ch : open) {
                    probe.clear();
                    try {
                        if (ch.read(probe) == 0) {
                            alive++;
                        }
                    } catch (IOException e) {
                        // closed by the server
                    }
                }
                System.out.println("ALIVE " + alive);
                System.out.flush();
            }
        }
        for (SocketChannel ch : open) {
            ch.close();
        }
    }

    private static void slowloris(int port, int count, long intervalMs) throws Exception {
        long start = System.nanoTime();
        List<SocketChannel> open = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            SocketChannel ch = SocketChannel.open();
            ch.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
            ch.connect(new InetSocketAddress("127.0.0.1", port));
            ch.configureBlocking(false);
            open.add(ch);
        }
        System.out.println("OPEN " + open.size() + " " + (System.nanoTime() - start) / 1_000_000);
        System.out.flush();
        byte[] head = "GET /slow HTTP/1.1\r\nHost: www.shop.example\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);
        int[] sent = new int[count];
        boolean[] closed = new boolean[count];
        int answered408 = 0;
        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // only the end of input matters
                }
            } catch (IOException ignored) {
                // the parent went away
            }
            System.exit(0);
        });
        stdin.setDaemon(true);
        stdin.start();
        ByteBuffer one = ByteBuffer.allocate(1);
        ByteBuffer in = ByteBuffer.allocate(256);
        long nextStatus = System.nanoTime();
        // Each connection gets its byte once per interval; the sends are spread over the interval.
        long perConnectionNanos = intervalMs * 1_000_000 / Math.max(1, count);
        long due = System.nanoTime();
        int i = 0;
        while (true) {
            long now = System.nanoTime();
            if (now - due >= 0) {
                if (!closed[i]) {
                    SocketChannel ch = open.get(i);
                    in.clear();
                    try {
                        int n = ch.read(in);
                        if (n > 0) {
                            String answer = new String(in.array(), 0, n, StandardCharsets.US_ASCII);
                            if (answer.startsWith("HTTP/1.1 408")) {
                                answered408++;
                            }
                        }
                        if (n != 0) {
                            closed[i] = true;
                            ch.close();
                        } else {
                            one.clear();
                            one.put(0, sent[i] < head.length ? head[sent[i]] : (byte) 'x');
                            ch.write(one);
                            sent[i]++;
                        }
                    } catch (IOException e) {
                        closed[i] = true;
                        ch.close();
                    }
                }
                i = (i + 1) % count;
                due += perConnectionNanos;
            } else {
                Thread.sleep(0, 200_000);
            }
            if (now - nextStatus >= 0) {
                int c = 0;
                for (boolean b : closed) {
                    c += b ? 1 : 0;
                }
                System.out.println("STATUS " + (count - c) + " " + c + " " + answered408);
                System.out.flush();
                nextStatus = now + 1_000_000_000L;
            }
        }
    }
}
