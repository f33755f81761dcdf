package dev.braid.cli;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * One plain HTTP/1.x client connection for tests that write exact bytes (pipelining, HTTP/1.0,
 * malformed requests, Expect) and read exact responses with {@link HttpWire}. Reads time out after
 * {@link #TIMEOUT_MILLIS}, so a gateway that never answers fails the test instead of hanging it.
 */
final class WireClient implements AutoCloseable {

    static final int TIMEOUT_MILLIS = 30_000;

    /** A response as read off the wire. */
    record Response(HttpWire.Head head, byte[] body, HttpWire.Framing framing) {

        int status() {
            String[] parts = head.startLine().split(" ", 3);
            return Integer.parseInt(parts[1]);
        }

        String version() {
            return head.startLine().split(" ", 2)[0];
        }

        String header(String name) {
            return head.get(name);
        }

        boolean has(String name) {
            return head.has(name);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return head.startLine() + " " + head.fields() + " (" + body.length + " body bytes, " + framing + ")";
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    WireClient(InetSocketAddress address) throws IOException {
        this(address, 0);
    }

    /** @param receiveBuffer the socket's receive buffer in bytes (0: the system's default), to stall a server sooner */
    WireClient(InetSocketAddress address, int receiveBuffer) throws IOException {
        socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.setSoTimeout(TIMEOUT_MILLIS);
        socket.setTcpNoDelay(true);
        socket.connect(address, 5_000);
        in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
        out = socket.getOutputStream();
    }

    /** One request on a fresh connection that is closed afterwards; for admin endpoints and probes. */
    static Response fetch(InetSocketAddress address, String request, String method) throws IOException {
        try (WireClient c = new WireClient(address)) {
            return c.exchange(request, method);
        }
    }

    /** A plain {@code GET path} with Host 127.0.0.1 and Connection: close. */
    static Response get(InetSocketAddress address, String path) throws IOException {
        return fetch(address, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "GET");
    }

    void write(String ascii) throws IOException {
        write(ascii.getBytes(StandardCharsets.ISO_8859_1));
    }

    void write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    Response exchange(String request, String method) throws IOException {
        write(request);
        return read(method);
    }

    /**
     * Reads the next response.
     *
     * @param method the method of the request it answers ({@code HEAD} responses have no body)
     */
    Response read(String method) throws IOException {
        HttpWire.Head head = HttpWire.readHead(in);
        if (head == null) {
            throw new IOException("connection closed before a response");
        }
        if (!head.startLine().startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.x status line: " + head.startLine());
        }
        Response probe = new Response(head, new byte[0], HttpWire.Framing.NONE);
        int status = probe.status();
        if ("HEAD".equals(method) || status / 100 == 1 || status == 204 || status == 304) {
            return probe;
        }
        if (HttpWire.chunked(head)) {
            if (head.has("Content-Length")) {
                throw new IOException("response has both Transfer-Encoding and Content-Length: " + head.fields());
            }
            return new Response(head, HttpWire.readChunked(in), HttpWire.Framing.CHUNKED);
        }
        long length = HttpWire.contentLength(head);
        if (length >= 0) {
            return new Response(head, HttpWire.readFixed(in, length), HttpWire.Framing.LENGTH);
        }
        return new Response(head, HttpWire.readToEnd(in), HttpWire.Framing.CLOSE);
    }

    /** Reads and discards {@code n} bytes of whatever comes (part of a response, to leave in the middle of it). */
    void readSome(int n) throws IOException {
        if (in.readNBytes(n).length != n) {
            throw new IOException("connection closed before " + n + " bytes");
        }
    }

    /**
     * Whether the server closed the connection without sending anything more, within five seconds.
     * A reset counts as closed; a byte or a timeout does not.
     */
    boolean closedByPeer() throws IOException {
        int saved = socket.getSoTimeout();
        socket.setSoTimeout(5_000);
        try {
            return in.read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException reset) {
            return true;
        } finally {
            if (!socket.isClosed()) {
                socket.setSoTimeout(saved);
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
