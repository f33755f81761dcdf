package dev.braid.perf.load;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * One persistent HTTP/1.1 client connection, as a browser keeps to one server: blocking, one
 * request at a time (no pipelining), Nagle off. It reads bodies framed by Content-Length, by
 * chunked transfer coding, or by the end of the connection, and reopens the connection by itself
 * when the server asked to close it. Bodies are counted and discarded, except when the caller
 * wants them (the HTML of a page).
 *
 * <p>Not thread-safe: one page-load worker owns each connection.
 */
final class HttpConnection implements AutoCloseable {

    /** A completed response: status, body bytes received, and the body when it was kept. */
    record Response(int status, long bodyBytes, byte[] body) {
    }

    private static final int MAX_LINE = 16 * 1024;

    private final InetSocketAddress server;
    private final String hostHeader;
    private final int timeoutMillis;
    private final String extraHeaders;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private int opened;
    /** The last response asked to close the connection (or could only end by closing it). */
    private boolean closeAfter;

    HttpConnection(InetSocketAddress server, String hostHeader, int timeoutMillis) {
        this(server, hostHeader, timeoutMillis, List.of());
    }

    /**
     * A connection whose every request also carries {@code extraHeaders}, each a whole
     * {@code Name: value} field (a class's cookie, say).
     */
    HttpConnection(InetSocketAddress server, String hostHeader, int timeoutMillis, List<String> extraHeaders) {
        this.server = server;
        this.hostHeader = hostHeader;
        this.timeoutMillis = timeoutMillis;
        StringBuilder sb = new StringBuilder();
        for (String h : extraHeaders) {
            if (h.indexOf(':') <= 0 || h.indexOf('\r') >= 0 || h.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("header: " + h + " (expected: Name: value on one line)");
            }
            sb.append(h).append("\r\n");
        }
        this.extraHeaders = sb.toString();
    }

    /** How many TCP connections this object has opened so far. */
    int opened() {
        return opened;
    }

    /** Sends GET {@code path} and reads the whole response; keeps the body only if asked. */
    Response get(String path, boolean keepBody) throws IOException {
        return get(path, keepBody, null);
    }

    /**
     * Sends GET {@code path} and reads the whole response; adds each body chunk to
     * {@code progress} (when given) as it arrives, so another thread can measure a rate over a
     * window while a long download is still running.
     */
    Response get(String path, boolean keepBody, LongAdder progress) throws IOException {
        if (socket == null) {
            open();
        }
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + hostHeader
                + "\r\nUser-Agent: braid-perf\r\nAccept: */*\r\n" + extraHeaders + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Response r = readResponse(in, keepBody, progress);
        if (r == null) {
            throw new EOFException("connection closed before a response to " + path);
        }
        if (closeAfter) {
            close();
        }
        return r;
    }

    private void open() throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(timeoutMillis);
        s.connect(server, timeoutMillis);
        socket = s;
        in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
        out = s.getOutputStream();
        opened++;
    }

    /** Reads one response from {@code in}; returns null on a clean end of stream before it starts. */
    Response readResponse(InputStream in, boolean keepBody) throws IOException {
        return readResponse(in, keepBody, null);
    }

    private Response readResponse(InputStream in, boolean keepBody, LongAdder progress) throws IOException {
        String statusLine = readLine(in);
        if (statusLine == null) {
            return null;
        }
        if (!statusLine.startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.x status line: " + statusLine);
        }
        int sp = statusLine.indexOf(' ');
        int status;
        try {
            status = Integer.parseInt(statusLine.substring(sp + 1, sp + 4));
        } catch (RuntimeException e) {
            throw new IOException("bad status line: " + statusLine);
        }
        long contentLength = -1;
        boolean chunked = false;
        closeAfter = statusLine.startsWith("HTTP/1.0");
        String line;
        while (!(line = requireLine(in)).isEmpty()) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException("bad header line: " + line);
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> contentLength = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> {
                    String v = value.toLowerCase(Locale.ROOT);
                    if (v.contains("close")) {
                        closeAfter = true;
                    } else if (v.contains("keep-alive")) {
                        closeAfter = false;
                    }
                }
                default -> {
                }
            }
        }
        Body body = new Body(keepBody, progress);
        if (status == 204 || status == 304 || status / 100 == 1) {
            // no body
        } else if (chunked) {
            for (;;) {
                String sizeLine = requireLine(in);
                int semi = sizeLine.indexOf(';');
                long size = Long.parseLong((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
                if (size == 0) {
                    while (!requireLine(in).isEmpty()) {
                        // trailers are read and ignored
                    }
                    break;
                }
                body.copy(in, size);
                if (!requireLine(in).isEmpty()) {
                    throw new IOException("chunk not followed by CRLF");
                }
            }
        } else if (contentLength >= 0) {
            body.copy(in, contentLength);
        } else {
            body.copy(in, Long.MAX_VALUE);
            closeAfter = true;
        }
        return new Response(status, body.count, body.bytes());
    }

    private static String requireLine(InputStream in) throws IOException {
        String line = readLine(in);
        if (line == null) {
            throw new EOFException("connection closed inside a response");
        }
        return line;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (;;) {
            int b = in.read();
            if (b < 0) {
                if (sb.length() == 0) {
                    return null;
                }
                throw new EOFException("connection closed inside a line");
            }
            if (b == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            if (sb.length() >= MAX_LINE) {
                throw new IOException("line longer than " + MAX_LINE + " bytes");
            }
            sb.append((char) b);
        }
    }

    /** Counts (and optionally keeps) body bytes. */
    private static final class Body {
        private final byte[] buf = new byte[64 * 1024];
        private final java.io.ByteArrayOutputStream kept;
        private final LongAdder progress;
        long count;

        Body(boolean keep, LongAdder progress) {
            kept = keep ? new java.io.ByteArrayOutputStream() : null;
            this.progress = progress;
        }

        void copy(InputStream in, long n) throws IOException {
            long left = n;
            while (left > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (r < 0) {
                    if (n == Long.MAX_VALUE) {
                        return;
                    }
                    throw new EOFException("connection closed with " + left + " body bytes missing");
                }
                count += r;
                left -= r;
                if (progress != null) {
                    progress.add(r);
                }
                if (kept != null) {
                    kept.write(buf, 0, r);
                }
            }
        }

        byte[] bytes() {
            return kept == null ? null : kept.toByteArray();
        }
    }

    @Override
    public void close() {
        Socket s = socket;
        socket = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing a socket we are done with; nothing to do about a failure
            }
        }
    }
}
