package dev.braid.tmp;

import dev.braid.runtime.Transport;
import dev.braid.tmp.security.LinkTls;
import dev.braid.tmp.security.NodeTls;
import dev.braid.tmp.security.PeerIdentity;
import dev.braid.tmp.security.PeerRejectedException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The TCP carrier of a TMP link: packets travel as {@code [u16 length][frames]} on one TCP
 * connection, the kernel provides reliability, and this handler only runs the HELLO handshake and
 * moves packets between the socket and the {@link LinkCore}. Packets are pulled from the core only
 * while the socket is writable, so unsent data waits in the blender where priority still acts.
 *
 * <p>With {@link LinkTls} the connection is TLS 1.3 with both ends' certificates checked
 * ({@link NodeTls}): HELLO is sent only once the handshake succeeded, so a
 * refused peer never sees a TMP byte; the peer's HELLO must carry the name and role of its
 * certificate, else the link is refused with GOAWAY {@link ResetCode#REFUSED}; the established link
 * is registered for re-checks (revocation, expiry, trust changes). Every refusal is logged and
 * counted with its reason by {@link LinkTls}.
 */
final class TcpLinkHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(TcpLinkHandler.class);

    static final int PROTOCOL_VERSION = 1;
    static final int MAX_PACKET = 65_535;
    /** Packets are gathered into socket writes of about this size. */
    private static final int WRITE_CHUNK = 64 * 1024;
    /**
     * The most bytes the kernel holds unsent on a link's socket. Without a bound the kernel's
     * send buffer (autotuned to megabytes) becomes one unprioritised FIFO in front of the
     * blender: a gold response would wait behind every bronze byte already handed over. In-flight
     * bytes are not counted, so the congestion window is not capped.
     */
    static final long KERNEL_UNSENT_BYTES = 32 * 1024;
    /**
     * Netty's own queue in front of the socket: the link pulls packets while it is below the high
     * mark. Small for the same reason; large enough to refill the kernel at once when it drains.
     */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 128 * 1024);

    /**
     * The socket options of a link's TCP connection, on both ends. Where the transport cannot
     * bound the kernel's unsent bytes (NIO) priority still holds in the blender, but bytes already
     * in the kernel's send buffer go out first.
     */
    static Map<ChannelOption<?>, Object> socketOptions(Transport transport) {
        Map<ChannelOption<?>, Object> options = new LinkedHashMap<>();
        options.put(ChannelOption.TCP_NODELAY, true);
        options.put(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK);
        ChannelOption<Long> unsent = transport.tcpNotSentLowWater();
        if (unsent != null) {
            options.put(unsent, KERNEL_UNSENT_BYTES);
        }
        return options;
    }

    private final boolean initiator;
    private final String localName;
    private final int localRole;
    private final LinkSettings settings;
    private final LinkCore.Listener listener;
    private final Consumer<TmpLink> onEstablished;
    /** TLS, or null for a clear-text connection. */
    private final LinkTls tls;
    /** How logs name the other end before its HELLO: the node dialled, or the address. */
    private final String expectedPeer;

    private ChannelHandlerContext ctx;
    /** The peer's certificate, once the TLS handshake succeeded. */
    private PeerIdentity certified;
    private boolean refused;
    private LinkCore core;
    private TmpLink link;
    private boolean flushScheduled;
    /** Send-rate cap ({@link LinkSettings#maxSendBytesPerSecond()}): a token bucket refilled from the clock. */
    private double tokens;
    private long tokensAt;
    private boolean rateWaitScheduled;
    private ScheduledFuture<?> handshakeTimeout;
    private String closeReason = "connection closed";

    TcpLinkHandler(boolean initiator, String localName, int localRole, LinkSettings settings,
                   LinkCore.Listener listener, Consumer<TmpLink> onEstablished) {
        this(initiator, localName, localRole, settings, listener, onEstablished, null, null);
    }

    /**
     * @param tls          TLS for the connection, or null for clear text
     * @param expectedPeer the initiator's peer: the node name its certificate must carry (null: any
     *                     node of an accepted role); ignored by the accepting side
     */
    TcpLinkHandler(boolean initiator, String localName, int localRole, LinkSettings settings,
                   LinkCore.Listener listener, Consumer<TmpLink> onEstablished, LinkTls tls, String expectedPeer) {
        this.tls = tls;
        this.expectedPeer = expectedPeer;
        this.initiator = initiator;
        this.localName = localName;
        this.localRole = localRole;
        this.settings = settings;
        this.listener = listener;
        this.onEstablished = onEstablished;
    }

    /** Adds the carrier's handlers (TLS first when the handler has it) to a fresh TCP channel's pipeline. */
    static void install(io.netty.channel.Channel ch, TcpLinkHandler handler, LinkSettings settings) {
        if (handler.tls != null) {
            ch.pipeline().addLast(handler.initiator
                    ? handler.tls.tls().newClientHandler(ch.alloc(), handler.expectedPeer)
                    : handler.tls.tls().newServerHandler(ch.alloc()));
        }
        ch.pipeline().addLast(
                new IdleStateHandler(settings.idleTimeout().toMillis(), settings.keepalive().toMillis(), 0,
                        TimeUnit.MILLISECONDS),
                new LengthFieldBasedFrameDecoder(MAX_PACKET + 2, 0, 2, 0, 2),
                handler);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (tls == null) {
            sendHello();
        }
        // With TLS, HELLO waits for the handshake (NodeTls bounds it); the HELLO timer starts then.
        ctx.fireChannelActive();
    }

    private void sendHello() {
        ByteBuf hello = ctx.alloc().buffer(64);
        hello.writeShort(0);
        Frames.writeHello(hello, PROTOCOL_VERSION, localRole, localName, settings.linkWindowBytes(),
                settings.streamWindowBytes());
        hello.setShort(0, hello.readableBytes() - 2);
        ctx.writeAndFlush(hello);
        handshakeTimeout = ctx.executor().schedule(() -> {
            if (core == null) {
                fail("no HELLO from the peer within " + settings.handshakeTimeout().toMillis() + " ms");
            }
        }, settings.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The peer as logs name it: its certificate's identity when known, else whom we dialled, and the address. */
    private String peerLabel() {
        String who = certified != null ? certified.toString() : expectedPeer != null && initiator ? expectedPeer : "peer";
        return who + " at " + ctx.channel().remoteAddress();
    }

    private void tlsHandshakeDone(SslHandshakeCompletionEvent event) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (!event.isSuccess()) {
            refuseHandshake(event.cause());
            return;
        }
        if (!ctx.channel().isActive()) {
            // NodeTls closed it: the peer failed the check once more at the handshake's end.
            Optional<PeerRejectedException> why = tls.tls().recheck(ssl);
            refused = true;
            tls.refused("tcp", LinkTls.Stage.HANDSHAKE, why.map(r -> LinkTls.label(r.reason()))
                    .orElse(LinkTls.HANDSHAKE_FAILED), peerLabel(), why.map(Throwable::getMessage).orElse("closed"));
            return;
        }
        certified = NodeTls.peer(ssl);
        sendHello();
    }

    /** A failed TLS handshake: our verdict on the peer when we refused it, else what the peer or the wire said. */
    private void refuseHandshake(Throwable cause) {
        if (refused) {
            return;
        }
        refused = true;
        PeerRejectedException rejected = find(cause, PeerRejectedException.class);
        String reason;
        String message;
        if (rejected != null) {
            reason = LinkTls.label(rejected.reason());
            message = rejected.getMessage();
        } else {
            SSLException ssl = find(cause, SSLException.class);
            message = ssl != null ? ssl.getMessage() : String.valueOf(cause);
            reason = message != null && message.contains("fatal alert") ? LinkTls.PEER_ALERT : LinkTls.HANDSHAKE_FAILED;
        }
        tls.refused("tcp", LinkTls.Stage.HANDSHAKE, reason, peerLabel(), message);
        fail("TLS handshake: " + reason + ": " + message);
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (int depth = 0; t != null && depth < 10; t = t.getCause(), depth++) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf packet = (ByteBuf) msg;
        try {
            if (core == null) {
                handshake(packet);
            } else {
                core.receive(packet);
            }
        } catch (TmpProtocolException e) {
            if (!refused) {
                // A refused peer was logged with its reason already.
                log.warn("link to {}: {} ({})", core != null ? core.peerName() : ctx.channel().remoteAddress(),
                        e.getMessage(), e.code());
            }
            goawayAndClose(e.code(), e.getMessage());
        } finally {
            packet.release();
        }
    }

    private void handshake(ByteBuf packet) throws TmpProtocolException {
        HelloCapture hello = new HelloCapture();
        Frames.decode(packet, hello);
        if (!hello.seen) {
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "first packet is not a HELLO");
        }
        if (hello.version != PROTOCOL_VERSION) {
            throw new TmpProtocolException(ResetCode.VERSION_MISMATCH, "peer speaks TMP version " + hello.version
                    + " (expected: " + PROTOCOL_VERSION + ")");
        }
        if (hello.streamWindow < 1024) {
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "stream window " + hello.streamWindow
                    + " (expected: >= 1024)");
        }
        if (certified != null) {
            String announced = roleName(hello.role);
            if (!certified.name().equals(hello.name) || !certified.role().equals(announced)) {
                String why = "HELLO announces " + announced + " " + hello.name + " but the certificate (serial "
                        + certified.serial().toString(16) + ") names " + certified;
                refused = true;
                tls.refused("tcp", LinkTls.Stage.HELLO, LinkTls.HELLO_MISMATCH, peerLabel(), why);
                throw new TmpProtocolException(ResetCode.REFUSED, why);
            }
        }
        handshakeTimeout.cancel(false);
        core = new LinkCore(ctx.executor(), settings, initiator, hello.name, hello.maxData, hello.streamWindow,
                listener, this::wakeup);
        link = new TmpLink(core, ctx.channel(), "tcp");
        if (certified != null) {
            String peer = peerLabel();
            tls.track(ctx.channel(), ctx.pipeline().get(SslHandler.class), peer,
                    reason -> ctx.executor().execute(() -> goawayAndClose(ResetCode.REFUSED, reason)));
            log.info("TMP link (tcp, TLS) {} {} established (certificate {}, expires {})", initiator ? "to" : "from",
                    peer, certified.serial().toString(16), certified.notAfter());
        } else {
            log.info("TMP link (tcp) {} {} established", initiator ? "to" : "from", hello.name);
        }
        onEstablished.accept(link);
    }

    private void wakeup() {
        if (!flushScheduled) {
            flushScheduled = true;
            ctx.executor().execute(this::flushOut);
        }
    }

    private void flushOut() {
        flushScheduled = false;
        if (core == null || !ctx.channel().isActive() || rateWaitScheduled) {
            return;
        }
        int packetBytes = settings.packetBytes();
        long rate = settings.maxSendBytesPerSecond();
        if (rate > 0) {
            refillTokens(rate, packetBytes);
        }
        boolean wrote = false;
        while (ctx.channel().isWritable() && core.hasOutput()) {
            if (rate > 0 && tokens < packetBytes + 2) {
                waitForTokens(rate, packetBytes);
                break;
            }
            ByteBuf out = ctx.alloc().ioBuffer(WRITE_CHUNK);
            while (out.writableBytes() >= packetBytes + 2 + 4096 && core.hasOutput()
                    && (rate == 0 || tokens >= packetBytes + 2)) {
                int lengthAt = out.writerIndex();
                out.writeShort(0);
                int n = core.writePacket(out, packetBytes);
                if (n == 0) {
                    out.writerIndex(lengthAt);
                    break;
                }
                out.setShort(lengthAt, n);
                tokens -= n + 2;
            }
            if (out.isReadable()) {
                ctx.write(out);
                wrote = true;
            } else {
                out.release();
                break;
            }
        }
        if (wrote) {
            ctx.flush();
        }
    }

    private void refillTokens(long rate, int packetBytes) {
        long now = System.nanoTime();
        // A burst of 10 ms at the cap, and never less than a few packets, keeps 1 ms timers sufficient.
        double burst = Math.max(4.0 * (packetBytes + 2), rate / 100.0);
        if (tokensAt == 0) {
            tokens = burst;
        } else {
            tokens = Math.min(burst, tokens + (now - tokensAt) * (rate / 1e9));
        }
        tokensAt = now;
    }

    private void waitForTokens(long rate, int packetBytes) {
        double missing = packetBytes + 2 - tokens;
        long waitNanos = Math.max(1_000_000L, (long) (missing * 1e9 / rate));
        rateWaitScheduled = true;
        ctx.executor().schedule(() -> {
            rateWaitScheduled = false;
            flushOut();
        }, waitNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && core != null) {
            // Later, not from inside the event: it can fire in the middle of a flush (SslHandler's
            // too), and writing from there would re-enter it.
            wakeup();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done && tls != null) {
            tlsHandshakeDone(done);
            return;
        }
        if (evt instanceof IdleStateEvent idle) {
            switch (idle.state()) {
                case WRITER_IDLE -> {
                    if (core != null) {
                        core.ping(ThreadLocalRandom.current().nextLong());
                    }
                }
                case READER_IDLE -> fail("nothing received for " + settings.idleTimeout().toMillis() + " ms");
                default -> {
                }
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        if (core != null) {
            log.info("TMP link (tcp) {} {} closed: {}", initiator ? "to" : "from", core.peerName(), closeReason);
            core.close(closeReason);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (tls != null && core == null && find(cause, SSLException.class) != null) {
            // The peer refused us after our side of the handshake completed (TLS 1.3 verifies the
            // client last), or the handshake failed: either way, no link and a reason to count.
            refuseHandshake(cause);
            return;
        }
        fail(cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }

    private static String roleName(int role) {
        return switch (role) {
            case TmpServer.ROLE_FRONT_END -> PeerIdentity.FRONT_END;
            case TmpServer.ROLE_BACK_END -> PeerIdentity.BACK_END;
            default -> "role " + role;
        };
    }

    private void fail(String reason) {
        closeReason = reason;
        ctx.close();
    }

    private void goawayAndClose(ResetCode code, String reason) {
        if (!ctx.channel().isActive()) {
            return;
        }
        closeReason = code + ": " + reason;
        ByteBuf out = ctx.alloc().buffer(64);
        out.writeShort(0);
        Frames.writeGoaway(out, 0, code, reason);
        out.setShort(0, out.readableBytes() - 2);
        ctx.writeAndFlush(out).addListener(f -> ctx.close());
    }

    /** Reads the peer's HELLO; any other frame before it is a protocol error. */
    private static final class HelloCapture implements Frames.Visitor {
        boolean seen;
        int version;
        int role;
        String name;
        long maxData;
        long streamWindow;

        @Override
        public void hello(int version, int role, String nodeName, long maxData, long streamWindow) {
            this.seen = true;
            this.version = version;
            this.role = role;
            this.name = nodeName;
            this.maxData = maxData;
            this.streamWindow = streamWindow;
        }

        private static TmpProtocolException early(String frame) {
            return new TmpProtocolException(ResetCode.PROTOCOL_ERROR, frame + " before HELLO");
        }

        @Override
        public void streamOpen(long streamId, int ring, int flags, String clientClass) throws TmpProtocolException {
            throw early("STREAM_OPEN");
        }

        @Override
        public void data(long streamId, long offset, ByteBuf payload, boolean fin) throws TmpProtocolException {
            payload.release();
            throw early("DATA");
        }

        @Override
        public void reset(long streamId, ResetCode code, String reason) throws TmpProtocolException {
            throw early("RESET");
        }

        @Override
        public void maxStreamData(long streamId, long maxOffset) throws TmpProtocolException {
            throw early("MAX_STREAM_DATA");
        }

        @Override
        public void maxData(long maxOffset) throws TmpProtocolException {
            throw early("MAX_DATA");
        }

        @Override
        public void ping(long opaque, boolean ack) throws TmpProtocolException {
            throw early("PING");
        }

        @Override
        public void goaway(long lastStreamId, ResetCode code, String reason) throws TmpProtocolException {
            throw new TmpProtocolException(code, "peer refused the link: " + reason);
        }
    }
}
