package dev.braid.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Checks what Netty's HTTP/1.1 decoder normalises away before anyone can see it, on the raw
 * bytes of each request head, and passes the bytes on unchanged to the decoder. It refuses:
 *
 * <ul>
 *   <li>a request line other than {@code method SP target SP HTTP/d.d}: a tab or two spaces as a
 *       separator, or a lower-case {@code http/1.1} (RFC 9112 §3);</li>
 *   <li>obs-fold, a field line starting with a space or tab (RFC 9112 §5.2 lets a server refuse
 *       it; nginx does);</li>
 *   <li>a tab in the value of {@code Transfer-Encoding} or {@code Content-Length}, which some
 *       servers do not strip as whitespace (nginx answers 501) and so read differently.</li>
 * </ul>
 *
 * A refused head is not passed on: a {@link Refusal} message goes down the pipeline in its place,
 * behind the requests before it, and everything after it on the connection is discarded.
 *
 * <p>To know where the next head starts it follows each request's framing (Content-Length, or
 * chunked with its chunk-size lines and trailer), holding at most one head's bytes (up to
 * {@code maxHeadBytes}) until the head is complete. Whatever it cannot follow (a head over the
 * limit, a bare LF, a malformed length or chunk line) it stops checking and passes on as it is for
 * the rest of the connection: the decoder refuses such input itself, and closes the connection.
 */
final class HeadSyntax extends ByteToMessageDecoder {

    // Compiled once: String.matches and a two-character split compile their pattern on every call,
    // and these run for every request head.
    private static final Pattern CRLF = Pattern.compile("\r\n");
    private static final Pattern REQUEST_LINE = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \t]+ HTTP/[0-9]\\.[0-9]");
    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,18}");
    private static final Pattern HEX = Pattern.compile("[0-9a-fA-F]{1,15}");

    /** Sent down the pipeline in place of a head this handler refused. */
    record Refusal(String reason) {
    }

    private enum State { HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER, PASS, REFUSED }

    private final int maxHeadBytes;
    private State state = State.HEAD;
    private long remaining;

    /** @param maxHeadBytes the request line and header section together, at most */
    HeadSyntax(int maxHeadBytes) {
        this.maxHeadBytes = maxHeadBytes;
    }

    /** Bytes of a head held back until it is complete. */
    int heldBytes() {
        return state == State.HEAD ? actualReadableBytes() : 0;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int pos = start;
        int end = in.writerIndex();
        String refusal = null;
        loop:
        while (pos < end) {
            switch (state) {
                case PASS -> pos = end;
                case REFUSED -> {
                    in.skipBytes(end - in.readerIndex());
                    return;
                }
                case HEAD -> {
                    // Empty lines before a request line are ignored (RFC 9112 §2.2), as the decoder does.
                    while (pos < end && (in.getByte(pos) == '\r' || in.getByte(pos) == '\n')) {
                        pos++;
                    }
                    if (pos == end) {
                        break loop;
                    }
                    int headEnd = headEnd(in, pos, end);
                    if (headEnd < 0) {
                        if (end - pos > maxHeadBytes) {
                            state = State.PASS;
                            continue;
                        }
                        break loop;
                    }
                    if (headEnd == Integer.MAX_VALUE) {
                        // A bare LF: the decoder refuses it.
                        state = State.PASS;
                        continue;
                    }
                    String head = in.toString(pos, headEnd - pos, StandardCharsets.ISO_8859_1);
                    refusal = check(head);
                    if (refusal != null) {
                        state = State.REFUSED;
                        break loop;
                    }
                    pos = headEnd;
                }
                case BODY -> {
                    int n = (int) Math.min(remaining, end - pos);
                    pos += n;
                    remaining -= n;
                    if (remaining == 0) {
                        state = State.HEAD;
                    }
                }
                case CHUNK_SIZE, TRAILER -> {
                    int lf = in.indexOf(pos, end, (byte) '\n');
                    if (lf < 0) {
                        if (end - pos > maxHeadBytes) {
                            state = State.PASS;
                            continue;
                        }
                        break loop;
                    }
                    if (lf == pos || in.getByte(lf - 1) != '\r') {
                        state = State.PASS;
                        continue;
                    }
                    String line = in.toString(pos, lf - 1 - pos, StandardCharsets.ISO_8859_1);
                    pos = lf + 1;
                    if (state == State.TRAILER) {
                        if (line.isEmpty()) {
                            state = State.HEAD;
                        }
                        continue;
                    }
                    long size = chunkSize(line);
                    if (size < 0) {
                        state = State.PASS;
                    } else if (size == 0) {
                        state = State.TRAILER;
                    } else {
                        remaining = size;
                        state = State.CHUNK_DATA;
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, end - pos);
                    pos += n;
                    remaining -= n;
                    if (remaining == 0) {
                        state = State.CHUNK_END;
                        remaining = 2;
                    }
                }
                case CHUNK_END -> {
                    // The CRLF after chunk data; anything else is the decoder's to refuse.
                    int n = (int) Math.min(remaining, end - pos);
                    pos += n;
                    remaining -= n;
                    if (remaining == 0) {
                        state = State.CHUNK_SIZE;
                    }
                }
                default -> throw new IllegalStateException(state.name());
            }
        }
        if (pos > start) {
            out.add(in.readRetainedSlice(pos - start));
        }
        if (refusal != null) {
            out.add(new Refusal(refusal));
            in.skipBytes(in.readableBytes());
        }
    }

    /**
     * The index just past the empty line ending the head that starts at {@code from}; -1 when it is
     * not complete yet; {@link Integer#MAX_VALUE} when a line ends in a bare LF.
     */
    private static int headEnd(ByteBuf in, int from, int end) {
        int lineStart = from;
        for (int i = from; i < end; i++) {
            if (in.getByte(i) != '\n') {
                continue;
            }
            if (i == from || in.getByte(i - 1) != '\r') {
                return Integer.MAX_VALUE;
            }
            if (i - 1 == lineStart) {
                return i + 1;
            }
            lineStart = i + 1;
        }
        return -1;
    }

    /** Why the head is refused, or null; sets up the framing of the body that follows it. */
    private String check(String head) {
        String[] lines = CRLF.split(head);
        String requestLine = lines[0];
        if (!REQUEST_LINE.matcher(requestLine).matches()) {
            return "malformed request line (expected: method SP target SP HTTP/d.d, single spaces, upper-case HTTP)";
        }
        long contentLength = 0;
        boolean chunked = false;
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                return "obs-fold (a field line starting with whitespace) is not accepted";
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                // The decoder refuses it; the body framing after it is not ours to guess.
                state = State.PASS;
                return null;
            }
            String name = line.substring(0, colon);
            String value = line.substring(colon + 1);
            boolean te = name.equalsIgnoreCase("Transfer-Encoding");
            boolean cl = name.equalsIgnoreCase("Content-Length");
            if ((te || cl) && value.indexOf('\t') >= 0) {
                return "a tab in the value of " + name + " is not accepted";
            }
            if (te) {
                String[] codings = value.split(",");
                chunked = codings[codings.length - 1].trim().equalsIgnoreCase("chunked");
            } else if (cl) {
                String v = value.trim();
                if (!DIGITS.matcher(v).matches() || contentLength != 0 && contentLength != Long.parseLong(v)) {
                    state = State.PASS;
                    return null;
                }
                contentLength = Long.parseLong(v);
            }
        }
        if (chunked) {
            state = State.CHUNK_SIZE;
        } else if (contentLength > 0) {
            state = State.BODY;
            remaining = contentLength;
        } else {
            state = State.HEAD;
        }
        return null;
    }

    /** The size of a chunk-size line, extensions ignored; -1 when it is not plain hex. */
    private static long chunkSize(String line) {
        int semi = line.indexOf(';');
        String hex = semi >= 0 ? line.substring(0, semi) : line;
        if (!HEX.matcher(hex).matches()) {
            return -1;
        }
        return Long.parseLong(hex, 16);
    }
}
