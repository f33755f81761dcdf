package dev.braid.cli;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An origin for tests that must see what reached the origin: it records every request exactly as
 * it arrived (head fields in order, body) and answers each with a fixed, chunked response that
 * carries hop-by-hop fields a gateway must remove on the way back. Plain blocking sockets, one
 * thread per connection, keep-alive; independent of Netty so that it judges Braid from outside.
 */
final class RecordingOrigin implements AutoCloseable {

    /** The body every response carries. */
    static final String BODY = "hello from the recording origin\n";

    /** A request as it reached this origin. */
    record Recorded(HttpWire.Head head, byte[] body, InetSocketAddress from) {
        String header(String name) {
            return head.get(name);
        }

        List<String> all(String name) {
            return head.all(name);
        }
    }

    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Socket> connections = new ArrayList<>();
    private final BlockingQueue<Recorded> requests = new LinkedBlockingQueue<>();
    private volatile boolean closed;

    RecordingOrigin() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::accept, "recording-origin-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    String url() {
        return "http://127.0.0.1:" + address().getPort();
    }

    /** The next request that arrived, waiting up to {@code seconds}; null when none came. */
    Recorded next(long seconds) throws InterruptedException {
        return requests.poll(seconds, TimeUnit.SECONDS);
    }

    private void accept() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            synchronized (connections) {
                if (closed) {
                    closeQuietly(s);
                    return;
                }
                connections.add(s);
            }
            Thread t = new Thread(() -> serve(s), "recording-origin-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                HttpWire.Head head = HttpWire.readHead(in);
                if (head == null) {
                    return;
                }
                byte[] body;
                if (HttpWire.chunked(head)) {
                    body = HttpWire.readChunked(in);
                } else {
                    long length = HttpWire.contentLength(head);
                    body = length > 0 ? HttpWire.readFixed(in, length) : new byte[0];
                }
                requests.add(new Recorded(head, body, (InetSocketAddress) s.getRemoteSocketAddress()));
                out.write(response(head.startLine().startsWith("HEAD ")));
                out.flush();
            }
        } catch (IOException e) {
            // The peer went away or broke framing; the connection ends either way.
        }
    }

    /**
     * 200 with a chunked body (so an HTTP/1.0 client needs it re-framed), an end-to-end field of its
     * own, and hop-by-hop fields: Keep-Alive, and X-Origin-Hop, which Connection names.
     */
    private static byte[] response(boolean head) {
        byte[] body = BODY.getBytes(StandardCharsets.US_ASCII);
        StringBuilder r = new StringBuilder()
                .append("HTTP/1.1 200 OK\r\n")
                .append("Content-Type: text/plain; charset=utf-8\r\n")
                .append("Cache-Control: no-cache\r\n")
                .append("X-Origin: recording\r\n")
                .append("Connection: keep-alive, X-Origin-Hop\r\n")
                .append("Keep-Alive: timeout=30\r\n")
                .append("X-Origin-Hop: must not pass\r\n")
                .append("Transfer-Encoding: chunked\r\n\r\n");
        if (!head) {
            r.append(Integer.toHexString(body.length)).append("\r\n").append(BODY).append("\r\n0\r\n\r\n");
        }
        return r.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        synchronized (connections) {
            connections.forEach(RecordingOrigin::closeQuietly);
            connections.clear();
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
