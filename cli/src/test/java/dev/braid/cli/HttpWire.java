package dev.braid.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * HTTP/1.x framing read straight off a socket, for tests that must see exactly what a server
 * sent: every header line in order (duplicates included), and how the body was delimited. It is
 * strict where the gateway must be: a line that does not end in CRLF, a malformed chunk or a body
 * cut short is an {@link IOException}, never silently accepted.
 */
final class HttpWire {

    /** Longest head line a test accepts; a server sending more is broken. */
    private static final int MAX_LINE = 64 * 1024;

    private HttpWire() {
    }

    /** How a message body was delimited on the wire. */
    enum Framing { NONE, LENGTH, CHUNKED, CLOSE }

    /** A message head: its first line and its header fields in order, names as sent. */
    record Head(String startLine, List<Map.Entry<String, String>> fields) {

        /** Every value of {@code name} (case-insensitive), in order. */
        List<String> all(String name) {
            List<String> values = new ArrayList<>();
            for (Map.Entry<String, String> f : fields) {
                if (f.getKey().equalsIgnoreCase(name)) {
                    values.add(f.getValue());
                }
            }
            return values;
        }

        /** The values of {@code name} joined by ", " (RFC 9110 §5.3), or null when absent. */
        String get(String name) {
            List<String> values = all(name);
            return values.isEmpty() ? null : String.join(", ", values);
        }

        boolean has(String name) {
            return !all(name).isEmpty();
        }

        /** Whether a comma-separated field (Connection, Transfer-Encoding) lists {@code token}. */
        boolean lists(String name, String token) {
            for (String value : all(name)) {
                for (String t : value.split(",")) {
                    if (t.trim().equalsIgnoreCase(token)) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /**
     * Reads a message head; null when the stream ends before its first byte.
     *
     * @throws IOException when the stream ends inside the head or a line is not CRLF-terminated
     */
    static Head readHead(InputStream in) throws IOException {
        String start = readLine(in, true);
        if (start == null) {
            return null;
        }
        List<Map.Entry<String, String>> fields = new ArrayList<>();
        for (String line = readLine(in, false); !line.isEmpty(); line = readLine(in, false)) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException("header line without a name: " + line);
            }
            fields.add(Map.entry(line.substring(0, colon), line.substring(colon + 1).trim()));
        }
        return new Head(start, List.copyOf(fields));
    }

    /** Reads exactly {@code length} body bytes. */
    static byte[] readFixed(InputStream in, long length) throws IOException {
        if (length > Integer.MAX_VALUE - 16) {
            throw new IOException("body of " + length + " bytes is too large for a test");
        }
        byte[] body = in.readNBytes((int) length);
        if (body.length != length) {
            throw new IOException("body ended after " + body.length + " of " + length + " bytes");
        }
        return body;
    }

    /** Reads a chunked body, trailers included (and discarded). */
    static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine(in, false);
            int semicolon = sizeLine.indexOf(';');
            String hex = (semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim();
            long size;
            try {
                size = Long.parseLong(hex, 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size line: " + sizeLine);
            }
            if (size == 0) {
                while (!readLine(in, false).isEmpty()) {
                    // trailer fields
                }
                return body.toByteArray();
            }
            body.write(readFixed(in, size));
            if (!readLine(in, false).isEmpty()) {
                throw new IOException("chunk data not followed by CRLF");
            }
        }
    }

    /** Reads the rest of the stream (a close-delimited body). */
    static byte[] readToEnd(InputStream in) throws IOException {
        return in.readAllBytes();
    }

    /** The message's Content-Length, or -1 when it has none; several differing values are an error. */
    static long contentLength(Head head) throws IOException {
        List<String> values = head.all("Content-Length");
        if (values.isEmpty()) {
            return -1;
        }
        long length = -1;
        for (String v : values) {
            for (String part : v.split(",")) {
                long n;
                try {
                    n = Long.parseLong(part.trim());
                } catch (NumberFormatException e) {
                    throw new IOException("bad Content-Length: " + v);
                }
                if (length >= 0 && n != length) {
                    throw new IOException("conflicting Content-Length values: " + values);
                }
                length = n;
            }
        }
        return length;
    }

    static boolean chunked(Head head) {
        return head.lists("Transfer-Encoding", "chunked");
    }

    /**
     * Reads one CRLF-terminated line in ISO-8859-1.
     *
     * @param eofAllowed whether the end of the stream before the first byte returns null
     */
    static String readLine(InputStream in, boolean eofAllowed) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != '\n') {
            if (b == -1) {
                if (eofAllowed && line.size() == 0) {
                    return null;
                }
                throw new IOException("stream ended inside a line: " + line.toString(StandardCharsets.ISO_8859_1));
            }
            if (line.size() >= MAX_LINE) {
                throw new IOException("line longer than " + MAX_LINE + " bytes");
            }
            line.write(b);
        }
        String text = line.toString(StandardCharsets.ISO_8859_1);
        if (!text.endsWith("\r")) {
            throw new IOException("line ends with a bare LF: " + text);
        }
        return text.substring(0, text.length() - 1);
    }
}
