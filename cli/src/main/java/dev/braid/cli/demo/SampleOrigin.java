package dev.braid.cli.demo;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.StrictHttp;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;

/**
 * The demo's origin web server: a small shop page, downloadable objects of fixed sizes, a slow
 * endpoint and an echo endpoint, served over HTTP/1.1 with keep-alive and pipelining.
 *
 * <p>Resources:
 * <ul>
 *   <li>{@code GET /}: the shop page (HTML; {@code Cache-Control: max-age=60}, ETag, Last-Modified).</li>
 *   <li>{@code GET /objects/{size}}: {@code size} bytes of deterministic content, {@code size} written
 *       as {@code 1k}, {@code 10k}, {@code 100k}, {@code 1m}, {@code 10m} (binary units) or a byte count,
 *       from {@link #MIN_OBJECT_SIZE} to {@link #MAX_OBJECT_SIZE}. Byte {@code i} is
 *       {@link #byteAt(long, long) byteAt(size, i)}; the content is pseudo-random, hence incompressible.</li>
 *   <li>{@code GET /slow?ms=N}: answers after N milliseconds (at most {@link #MAX_SLOW_MILLIS}).</li>
 *   <li>{@code POST /echo} and {@code POST /form}: the request body back, with the request's
 *       Content-Type and {@code X-Echo-Length}; bodies up to {@link #MAX_ECHO_BYTES}, 413 beyond.</li>
 *   <li>{@code GET /form}: an HTML form that posts to {@code /echo}.</li>
 * </ul>
 * HEAD works wherever GET does; conditional GETs ({@code If-None-Match}, {@code If-Modified-Since}) on
 * the page, the form and the objects get 304. Unknown paths get 404, a wrong method 405 with
 * {@code Allow}, and a request the strict decoder refuses gets 400, 413, 414 or 431 and a closed
 * connection.
 *
 * <p>Guarantees: object bodies are produced a chunk at a time, only while the connection is writable,
 * so a slow reader pins at most the write-buffer high-water mark plus one chunk; pipelined requests are
 * answered one at a time, in order, and the connection stops reading while a response is in progress;
 * all per-connection state lives on the connection's event loop. The server does not own the event
 * loops it runs on.
 */
public final class SampleOrigin implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SampleOrigin.class);

    /** The port the demo binds the origin to, on 127.0.0.1. */
    public static final int DEFAULT_PORT = 8000;
    /** Smallest object {@code /objects/} serves, in bytes. */
    public static final long MIN_OBJECT_SIZE = 1024;
    /** Largest object {@code /objects/} serves, in bytes (10 MiB). */
    public static final long MAX_OBJECT_SIZE = 10L * 1024 * 1024;
    /** Largest request body {@code /echo} accepts, in bytes (16 MiB); larger ones get 413. */
    public static final int MAX_ECHO_BYTES = 16 * 1024 * 1024;
    /** Longest wait {@code /slow} grants, in milliseconds; larger values are capped to it. */
    public static final long MAX_SLOW_MILLIS = 30_000;

    /** Bytes per object body chunk; a multiple of 8 so chunks fill whole pattern words. */
    static final int CHUNK_BYTES = 16 * 1024;
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 128 * 1024);
    /**
     * Components an echo body may have before it is consolidated (copied into one buffer); a full-size
     * body in decoder-sized pieces needs about a quarter of this.
     */
    private static final int ECHO_MAX_COMPONENTS = 4096;
    private static final String GET_HEAD = "GET, HEAD";
    private static final String HTML = "text/html; charset=utf-8";
    private static final String TEXT = "text/plain; charset=utf-8";
    private static final String OCTETS = "application/octet-stream";
    private static final String SERVER = "braid-sample-origin";

    private final Channel serverChannel;
    private final ChannelGroup connections;
    private final LongAdder requests = new LongAdder();
    private final LongAdder accepted = new LongAdder();
    private final ConcurrentHashMap<String, LongAdder> requestsByPath = new ConcurrentHashMap<>();
    private final long lastModifiedMillis;
    private final String lastModified;
    private final StaticPage home;
    private final StaticPage form;

    private SampleOrigin(EventLoops loops, InetSocketAddress address) {
        // HTTP dates have whole seconds; truncating keeps If-Modified-Since comparisons exact.
        this.lastModifiedMillis = System.currentTimeMillis() / 1000 * 1000;
        this.lastModified = DateFormatter.format(new Date(lastModifiedMillis));
        this.home = new StaticPage(homePage());
        this.form = new StaticPage(formPage());
        this.connections = new DefaultChannelGroup("sample-origin", loops.group().next());
        ChannelFuture bind = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.transport().serverSocketChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        accepted.increment();
                        connections.add(ch);
                        ch.pipeline().addLast(new HttpServerCodec(StrictHttp.decoderConfig()),
                                new ChunkedWriteHandler(),
                                new Exchange());
                    }
                })
                .bind(address).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            throw new IllegalStateException("sample origin: cannot listen on " + address.getHostString() + ":"
                    + address.getPort() + " (" + bind.cause().getMessage() + ")", bind.cause());
        }
        this.serverChannel = bind.channel();
    }

    /**
     * Starts the origin on the given loops and address (port 0 picks a free port) and returns once it
     * listens.
     *
     * @throws IllegalStateException naming the address when it cannot be bound
     */
    public static SampleOrigin start(EventLoops loops, InetSocketAddress address) {
        SampleOrigin origin = new SampleOrigin(loops, address);
        log.info("sample origin listening on http://{}:{}/", origin.localAddress().getHostString(),
                origin.localAddress().getPort());
        return origin;
    }

    /** 127.0.0.1:{@value #DEFAULT_PORT}, where the demo runs the origin. */
    public static InetSocketAddress defaultAddress() {
        return new InetSocketAddress("127.0.0.1", DEFAULT_PORT);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Requests received so far on every path, unknown ones included; requests the decoder refused are not counted. */
    public long requestCount() {
        return requests.sum();
    }

    /**
     * Requests so far that reached the resource at {@code path}, as the client wrote the path, without the
     * query ({@code "/objects/1k"} and {@code "/objects/1024"} count apart). Requests answered 404 or 405
     * are not counted.
     */
    public long requestCount(String path) {
        LongAdder n = requestsByPath.get(path);
        return n == null ? 0 : n.sum();
    }

    /** Connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
    public long connectionCount() {
        return accepted.sum();
    }

    /** Stops listening and closes every open connection; waits for both. */
    @Override
    public void close() {
        serverChannel.close().awaitUninterruptibly();
        connections.close().awaitUninterruptibly();
    }

    // ---------------------------------------------------------------- object content

    /**
     * Byte {@code index} of the object of {@code size} bytes. Each 8-byte word is a SplitMix64 mix of
     * the size and the word's position, written big-endian, so a lost, repeated or misplaced chunk
     * shows up at its first byte and objects of different sizes differ.
     *
     * @throws IllegalArgumentException unless {@code 0 <= index < size}
     */
    public static byte byteAt(long size, long index) {
        if (index < 0 || index >= size) {
            throw new IllegalArgumentException("index: " + index + " (expected: 0.." + (size - 1) + ")");
        }
        return (byte) (patternWord(size, index >>> 3) >>> (56 - 8 * (int) (index & 7)));
    }

    /**
     * The whole content of the object of {@code size} bytes, as {@code GET /objects/{size}} sends it.
     *
     * @throws IllegalArgumentException unless {@code 0 <= size <= }{@link #MAX_OBJECT_SIZE}
     */
    public static byte[] expectedObjectBytes(long size) {
        if (size < 0 || size > MAX_OBJECT_SIZE) {
            throw new IllegalArgumentException("size: " + size + " (expected: 0.." + MAX_OBJECT_SIZE + ")");
        }
        byte[] bytes = new byte[(int) size];
        ByteBuf target = Unpooled.wrappedBuffer(bytes);
        target.writerIndex(0);
        fillPattern(size, 0, bytes.length, target);
        return bytes;
    }

    private static long patternWord(long size, long word) {
        long z = size * 0x9E3779B97F4A7C15L + (word + 1) * 0xD1B54A32D192ED03L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Writes {@code length} pattern bytes of the object starting at {@code offset} (a multiple of 8). */
    private static void fillPattern(long size, long offset, int length, ByteBuf target) {
        long word = offset >>> 3;
        int whole = length >>> 3;
        for (int i = 0; i < whole; i++) {
            target.writeLong(patternWord(size, word++));
        }
        for (long index = offset + ((long) whole << 3); index < offset + length; index++) {
            target.writeByte(byteAt(size, index));
        }
    }

    /**
     * Parses the {@code {size}} of {@code /objects/{size}}: digits with an optional {@code k} (×1024) or
     * {@code m} (×1024²) suffix, in range. Returns -1 when it is not a valid object size.
     */
    static long parseObjectSize(String text) {
        if (text.isEmpty() || text.length() > 9) {
            return -1;
        }
        long unit = 1;
        String digits = text;
        char last = Character.toLowerCase(text.charAt(text.length() - 1));
        if (last == 'k' || last == 'm') {
            unit = last == 'k' ? 1024 : 1024 * 1024;
            digits = text.substring(0, text.length() - 1);
        }
        if (digits.isEmpty() || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        long size = Long.parseLong(digits) * unit;
        return size >= MIN_OBJECT_SIZE && size <= MAX_OBJECT_SIZE ? size : -1;
    }

    /**
     * Parses {@code /slow}'s {@code ms} parameter: a non-negative integer, capped at
     * {@link #MAX_SLOW_MILLIS}.
     *
     * @throws IllegalArgumentException naming the value and what was expected
     */
    static long slowMillis(String text) {
        String expected = " (expected: an integer number of milliseconds, 0.." + MAX_SLOW_MILLIS + ")";
        if (text == null) {
            throw new IllegalArgumentException("ms: missing" + expected);
        }
        if (text.isEmpty() || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("ms: " + text + expected);
        }
        return text.length() > 9 ? MAX_SLOW_MILLIS : Math.min(Long.parseLong(text), MAX_SLOW_MILLIS);
    }

    // ---------------------------------------------------------------- pages

    private static String homePage() {
        StringBuilder items = new StringBuilder();
        String[][] products = {
                {"1k", "Sticker", "1 KiB"}, {"10k", "Postcard", "10 KiB"}, {"100k", "Poster", "100 KiB"},
                {"1m", "Photo book", "1 MiB"}, {"10m", "Video", "10 MiB"}};
        for (String[] p : products) {
            items.append("      <li><a href=\"/objects/").append(p[0]).append("\">").append(p[1])
                    .append("</a> <span class=\"size\">").append(p[2]).append("</span></li>\n");
        }
        return """
                <!DOCTYPE html>
                <html lang="en">
                <head>
                  <meta charset="utf-8">
                  <title>Braid demo shop</title>
                  <style>
                    body { font-family: sans-serif; max-width: 40em; margin: 2em auto; color: #222; }
                    h1 { color: #2a5d8f; }
                    .size { color: #888; font-size: smaller; }
                  </style>
                </head>
                <body>
                  <h1>Braid demo shop</h1>
                  <p>Served by the sample origin. Fetched through a front-end, it crossed the TMP link
                  from the back-end; the Via and X-Cache response headers say how.</p>
                  <h2>Catalogue</h2>
                  <ul>
                %s  </ul>
                  <h2>More</h2>
                  <ul>
                    <li><a href="/form">Order form</a> (posts to /echo)</li>
                    <li><a href="/slow?ms=500">A slow page</a> (half a second)</li>
                  </ul>
                </body>
                </html>
                """.formatted(items);
    }

    private static String formPage() {
        return """
                <!DOCTYPE html>
                <html lang="en">
                <head>
                  <meta charset="utf-8">
                  <title>Order form - Braid demo shop</title>
                </head>
                <body>
                  <h1>Order form</h1>
                  <form method="post" action="/echo">
                    <p><label>Item <input name="item" value="Poster"></label></p>
                    <p><label>Quantity <input name="quantity" type="number" value="1" min="1"></label></p>
                    <p><label>Note <textarea name="note"></textarea></label></p>
                    <p><button type="submit">Order</button></p>
                  </form>
                  <p><a href="/">Back to the shop</a></p>
                </body>
                </html>
                """;
    }

    /** An HTML page with its validator. */
    private static final class StaticPage {
        final byte[] body;
        final String etag;

        StaticPage(String html) {
            this.body = html.getBytes(StandardCharsets.UTF_8);
            CRC32 crc = new CRC32();
            crc.update(body);
            this.etag = "\"p-" + Long.toHexString(crc.getValue()) + "\"";
        }
    }

    /** Object bodies, generated a chunk at a time as the connection asks for more. */
    private static final class ObjectBody implements ChunkedInput<ByteBuf> {
        private final long size;
        private long offset;

        ObjectBody(long size) {
            this.size = size;
        }

        @Override
        public boolean isEndOfInput() {
            return offset >= size;
        }

        @Override
        public void close() {
            // Nothing held between chunks.
        }

        @Deprecated
        @Override
        public ByteBuf readChunk(ChannelHandlerContext ctx) {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(ByteBufAllocator allocator) {
            if (isEndOfInput()) {
                return null;
            }
            int length = (int) Math.min(CHUNK_BYTES, size - offset);
            ByteBuf chunk = allocator.buffer(length);
            try {
                fillPattern(size, offset, length, chunk);
            } catch (RuntimeException e) {
                chunk.release();
                throw e;
            }
            offset += length;
            return chunk;
        }

        @Override
        public long length() {
            return size;
        }

        @Override
        public long progress() {
            return offset;
        }
    }

    // ---------------------------------------------------------------- one connection

    /** What the connection does with the body of the request being read. */
    private enum Inbound {
        /** Between requests. */
        IDLE,
        /** The request is already answered; its body, if any, is dropped. */
        DISCARD,
        /** Echo: the body is collected and sent back when complete. */
        COLLECT
    }

    /**
     * One connection's exchanges, one request at a time. A request that arrives while a response is
     * still being written waits in {@code backlog}, and reading stops until the response is done.
     */
    private final class Exchange extends ChannelInboundHandlerAdapter {
        private final ArrayDeque<Object> backlog = new ArrayDeque<>();
        private Inbound inbound = Inbound.IDLE;
        private boolean responding;
        private boolean closing;
        /** The request being answered is HTTP/1.0, which needs keep-alive spelled out. */
        private boolean http10;
        private CompositeByteBuf echoBody;
        private String echoContentType;
        private boolean echoKeepAlive;
        private ScheduledFuture<?> slowTimer;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (closing) {
                ReferenceCountUtil.release(msg);
            } else if (!backlog.isEmpty() || (responding && msg instanceof HttpRequest)) {
                backlog.add(msg);
                ctx.channel().config().setAutoRead(false);
            } else {
                handle(ctx, msg);
            }
        }

        private void handle(ChannelHandlerContext ctx, Object msg) {
            try {
                if (!(msg instanceof HttpObject object)) {
                    return;
                }
                if (object.decoderResult().isFailure()) {
                    if (inbound == Inbound.DISCARD && !(msg instanceof HttpRequest)) {
                        // The request has its answer already; a broken body can only end the connection.
                        closing = true;
                        if (!responding) {
                            ctx.close();
                        }
                    } else {
                        refuse(ctx, object.decoderResult().cause());
                    }
                    return;
                }
                if (msg instanceof HttpRequest request) {
                    onRequest(ctx, request);
                }
                if (msg instanceof HttpContent content && !closing) {
                    onContent(ctx, content);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void refuse(ChannelHandlerContext ctx, Throwable cause) {
            int status = cause instanceof TooLongHttpLineException ? 414
                    : cause instanceof TooLongHttpHeaderException ? 431
                    : cause instanceof TooLongFrameException ? 413 : 400;
            log.debug("sample origin: refused a request from {}: {}", ctx.channel().remoteAddress(), cause.toString());
            releaseEcho();
            send(ctx, text(HttpResponseStatus.valueOf(status), "bad request: " + cause.getMessage() + "\n"),
                    null, false);
        }

        private void onRequest(ChannelHandlerContext ctx, HttpRequest request) {
            requests.increment();
            inbound = Inbound.DISCARD;
            http10 = HttpVersion.HTTP_1_0.equals(request.protocolVersion());
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpMethod method = request.method();
            boolean readable = HttpMethod.HEAD.equals(method) || HttpMethod.GET.equals(method);

            QueryStringDecoder target = target(request.uri());
            if (target == null) {
                send(ctx, text(HttpResponseStatus.BAD_REQUEST, "request target: " + request.uri()
                        + " (expected: origin-form /path or absolute-form http://host/path)\n"), null, false);
                return;
            }
            String path = target.path();
            boolean echo = HttpMethod.POST.equals(method) && (path.equals("/echo") || path.equals("/form"));
            String expect = request.headers().get(HttpHeaderNames.EXPECT);
            if (expect != null && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect)) {
                send(ctx, text(HttpResponseStatus.EXPECTATION_FAILED,
                        "expect: " + expect + " (expected: 100-continue)\n"), null, false);
                return;
            }
            // A client waiting for 100 Continue holds its body back; when the request is answered
            // without it, closing is the only way to keep that body from being read as the next request.
            if (expect != null && !echo) {
                keepAlive = false;
            }

            if (echo) {
                count(path);
                startEcho(ctx, request, keepAlive);
                return;
            }
            switch (path) {
                case "/" -> page(ctx, request, path, home, keepAlive, readable, GET_HEAD);
                case "/form" -> page(ctx, request, path, form, keepAlive, readable, "GET, HEAD, POST");
                case "/echo" -> notAllowed(ctx, method, path, "POST", keepAlive);
                case "/slow" -> {
                    if (readable) {
                        count(path);
                        slow(ctx, target, keepAlive);
                    } else {
                        notAllowed(ctx, method, path, GET_HEAD, keepAlive);
                    }
                }
                default -> {
                    boolean objects = path.startsWith("/objects/");
                    long size = objects ? parseObjectSize(path.substring("/objects/".length())) : -1;
                    if (size < 0) {
                        String hint = objects
                                ? " (expected: /objects/{size}, size 1k, 10k, 100k, 1m, 10m or a byte count "
                                + MIN_OBJECT_SIZE + ".." + MAX_OBJECT_SIZE + ")"
                                : "";
                        send(ctx, text(HttpResponseStatus.NOT_FOUND, "not found: " + path + hint + "\n"),
                                null, keepAlive);
                    } else if (!readable) {
                        notAllowed(ctx, method, path, GET_HEAD, keepAlive);
                    } else {
                        count(path);
                        object(ctx, request, size, keepAlive);
                    }
                }
            }
        }

        private void count(String path) {
            requestsByPath.computeIfAbsent(path, p -> new LongAdder()).increment();
        }

        private void page(ChannelHandlerContext ctx, HttpRequest request, String path, StaticPage page,
                          boolean keepAlive, boolean readable, String allow) {
            if (!readable) {
                notAllowed(ctx, request.method(), path, allow, keepAlive);
                return;
            }
            count(path);
            HttpHeaders validators = validators(page.etag, "max-age=60");
            if (notModified(request, page.etag)) {
                send(ctx, bodiless(HttpResponseStatus.NOT_MODIFIED, validators), null, keepAlive);
                return;
            }
            FullHttpResponse response = full(HttpResponseStatus.OK, HTML, page.body);
            response.headers().add(validators);
            send(ctx, response, null, keepAlive);
        }

        private void object(ChannelHandlerContext ctx, HttpRequest request, long size, boolean keepAlive) {
            String etag = "\"o-" + size + "\"";
            HttpHeaders validators = validators(etag, "public, max-age=300");
            if (notModified(request, etag)) {
                send(ctx, bodiless(HttpResponseStatus.NOT_MODIFIED, validators), null, keepAlive);
                return;
            }
            HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            response.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, OCTETS)
                    .set(HttpHeaderNames.CONTENT_LENGTH, size)
                    .add(validators);
            boolean head = HttpMethod.HEAD.equals(request.method());
            send(ctx, response, head ? null : new ObjectBody(size), keepAlive);
        }

        private void slow(ChannelHandlerContext ctx, QueryStringDecoder target, boolean keepAlive) {
            List<String> values = target.parameters().get("ms");
            long millis;
            try {
                millis = slowMillis(values == null || values.isEmpty() ? null : values.get(0));
            } catch (IllegalArgumentException e) {
                send(ctx, text(HttpResponseStatus.BAD_REQUEST, e.getMessage() + "\n"), null, keepAlive);
                return;
            }
            // Hold the connection's turn while waiting, so pipelined requests stay behind this one.
            responding = true;
            slowTimer = ctx.executor().schedule(() -> {
                slowTimer = null;
                FullHttpResponse response = text(HttpResponseStatus.OK, "waited " + millis + " ms\n");
                send(ctx, response, null, keepAlive);
            }, millis, TimeUnit.MILLISECONDS);
        }

        private void startEcho(ChannelHandlerContext ctx, HttpRequest request, boolean keepAlive) {
            long declared = HttpUtil.getContentLength(request, -1L);
            if (declared > MAX_ECHO_BYTES) {
                tooLarge(ctx, declared);
                return;
            }
            if (HttpUtil.is100ContinueExpected(request)) {
                ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                        Unpooled.EMPTY_BUFFER));
            }
            String contentType = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
            echoContentType = contentType != null ? contentType : OCTETS;
            echoKeepAlive = keepAlive;
            echoBody = ctx.alloc().compositeBuffer(ECHO_MAX_COMPONENTS);
            inbound = Inbound.COLLECT;
        }

        private void tooLarge(ChannelHandlerContext ctx, long bytes) {
            releaseEcho();
            // The rest of the body is never read: closing is the only safe way on from here.
            send(ctx, text(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body: " + bytes
                    + " bytes or more (expected: at most " + MAX_ECHO_BYTES + ")\n"), null, false);
        }

        private void onContent(ChannelHandlerContext ctx, HttpContent content) {
            boolean last = content instanceof LastHttpContent;
            switch (inbound) {
                case COLLECT -> {
                    ByteBuf data = content.content();
                    long total = (long) echoBody.readableBytes() + data.readableBytes();
                    if (total > MAX_ECHO_BYTES) {
                        tooLarge(ctx, total);
                        return;
                    }
                    if (data.isReadable()) {
                        echoBody.addComponent(true, data.retain());
                    }
                    if (last) {
                        inbound = Inbound.IDLE;
                        echo(ctx);
                    }
                }
                case DISCARD -> {
                    if (last) {
                        inbound = Inbound.IDLE;
                    }
                }
                case IDLE -> {
                    // The decoder always sends the request before its content; nothing to do.
                }
            }
        }

        private void echo(ChannelHandlerContext ctx) {
            CompositeByteBuf body = echoBody;
            echoBody = null;
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
            response.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, echoContentType)
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                    .set("X-Echo-Length", body.readableBytes())
                    .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
            send(ctx, response, null, echoKeepAlive);
        }

        private void notAllowed(ChannelHandlerContext ctx, HttpMethod method, String path, String allow,
                                boolean keepAlive) {
            FullHttpResponse response = text(HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "method " + method + " not allowed on " + path + " (allowed: " + allow + ")\n");
            response.headers().set(HttpHeaderNames.ALLOW, allow);
            send(ctx, response, null, keepAlive);
        }

        private HttpHeaders validators(String etag, String cacheControl) {
            HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().newHeaders();
            headers.set(HttpHeaderNames.CACHE_CONTROL, cacheControl)
                    .set(HttpHeaderNames.ETAG, etag)
                    .set(HttpHeaderNames.LAST_MODIFIED, lastModified);
            return headers;
        }

        /** RFC 9110 §13.1.2 and §13.2.2: If-None-Match decides when present, else If-Modified-Since. */
        private boolean notModified(HttpRequest request, String etag) {
            String noneMatch = request.headers().get(HttpHeaderNames.IF_NONE_MATCH);
            if (noneMatch != null) {
                for (String tag : noneMatch.split(",")) {
                    String t = tag.trim();
                    if (t.equals("*") || (t.startsWith("W/") ? t.substring(2) : t).equals(etag)) {
                        return true;
                    }
                }
                return false;
            }
            String since = request.headers().get(HttpHeaderNames.IF_MODIFIED_SINCE);
            if (since == null) {
                return false;
            }
            Date date = DateFormatter.parseHttpDate(since);
            return date != null && lastModifiedMillis <= date.getTime();
        }

        /**
         * Writes a response. A {@code body} is streamed after the head as the connection drains;
         * otherwise the response is complete. The next request is taken up once the write is done.
         * Answers to HEAD keep their Content-Length; the server codec drops their content.
         */
        private void send(ChannelHandlerContext ctx, HttpResponse response, ChunkedInput<ByteBuf> body,
                          boolean keepAlive) {
            responding = true;
            response.headers()
                    .set(HttpHeaderNames.DATE, DateFormatter.format(new Date()))
                    .set(HttpHeaderNames.SERVER, SERVER);
            if (!keepAlive) {
                closing = true;
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (http10) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            ChannelFuture done;
            if (response instanceof FullHttpResponse) {
                done = ctx.writeAndFlush(response);
            } else if (body != null) {
                ctx.write(response);
                done = ctx.writeAndFlush(new HttpChunkedInput(body));
            } else {
                // A HEAD answer or another bodiless head: the message still has to be ended.
                ctx.write(response);
                done = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            }
            done.addListener(f -> {
                if (!f.isSuccess() || closing) {
                    if (!f.isSuccess()) {
                        log.debug("sample origin: response to {} failed", ctx.channel().remoteAddress(), f.cause());
                    }
                    closing = true;
                    ctx.close();
                    return;
                }
                responding = false;
                // Taking up queued requests from the loop's task queue, not from inside this listener,
                // keeps the stack flat however many requests a client pipelined.
                ctx.executor().execute(() -> takeUpBacklog(ctx));
            });
        }

        private void takeUpBacklog(ChannelHandlerContext ctx) {
            while (!responding && !closing && !backlog.isEmpty()) {
                handle(ctx, backlog.poll());
            }
            if (!responding && !closing && backlog.isEmpty() && !ctx.channel().config().isAutoRead()) {
                ctx.channel().config().setAutoRead(true);
            }
        }

        private FullHttpResponse text(HttpResponseStatus status, String text) {
            FullHttpResponse response = full(status, TEXT, text.getBytes(StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
            return response;
        }

        private FullHttpResponse full(HttpResponseStatus status, String contentType, byte[] body) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.wrappedBuffer(body));
            response.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, contentType)
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            return response;
        }

        private FullHttpResponse bodiless(HttpResponseStatus status, HttpHeaders headers) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
            response.headers().add(headers);
            return response;
        }

        private void releaseEcho() {
            if (echoBody != null) {
                echoBody.release();
                echoBody = null;
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            cleanUp();
            ctx.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            cleanUp();
        }

        private void cleanUp() {
            closing = true;
            if (slowTimer != null) {
                slowTimer.cancel(false);
                slowTimer = null;
            }
            releaseEcho();
            Object queued;
            while ((queued = backlog.poll()) != null) {
                ReferenceCountUtil.release(queued);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("sample origin: connection from {} failed", ctx.channel().remoteAddress(), cause);
            ctx.close();
        }
    }

    /**
     * The request target as path and query: origin-form as is, absolute-form (RFC 9112 §3.2.2) reduced
     * to its path; {@code null} for anything else (asterisk-form, authority-form, junk).
     */
    private static QueryStringDecoder target(String uri) {
        if (uri.startsWith("/")) {
            return new QueryStringDecoder(uri);
        }
        String lower = uri.toLowerCase(Locale.ROOT);
        if (!lower.startsWith("http://") && !lower.startsWith("https://")) {
            return null;
        }
        try {
            URI parsed = new URI(uri);
            String path = parsed.getRawPath() == null || parsed.getRawPath().isEmpty() ? "/" : parsed.getRawPath();
            return new QueryStringDecoder(parsed.getRawQuery() == null ? path : path + "?" + parsed.getRawQuery());
        } catch (URISyntaxException e) {
            return null;
        }
    }
}
