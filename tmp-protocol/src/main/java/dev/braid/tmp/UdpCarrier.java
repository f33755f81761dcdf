package dev.braid.tmp;

import dev.braid.tmp.noise.RetryTokens;
import dev.braid.tmp.noise.StatelessReset;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramChannelConfig;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.DefaultPromise;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The thin Netty driver of the UDP carrier: runs {@link TmpConnection}s on one datagram channel and
 * its event loop. It reads datagrams, finds their link by destination connection id (never by
 * address, so a peer whose NAT rebinds keeps its link; the peer's address follows the newest
 * packet), feeds the connection with {@code System.nanoTime()}, writes what it polls, and arms one
 * timer per connection at its next deadline. Pacing needs no finer timers than the event loop's:
 * connections release packets in quanta of about a millisecond.
 *
 * <p>A server instance accepts links: an unknown connection id in a long-header packet creates a
 * connection. A client instance carries one link to one address.
 *
 * <p>Encrypted ({@link DatagramSettings#security()} set), a server creates a connection only for an
 * INITIAL that echoes a valid address token ({@link RetryTokens}): any other INITIAL gets a RETRY
 * with a fresh token, and a version it does not speak a version negotiation, both written at once
 * and nothing kept, so a spoofed-source flood costs one MAC per packet and no memory. A token is
 * asked for always, not only under load: links are long-lived, so the extra round trip is paid once
 * per link, and the responder never has to guess when it is under attack. A connection whose
 * first message then fails (Noise, certificate) is discarded at once.
 *
 * <p>Stateless reset ({@link StatelessReset}): a server answers a short-header packet for a
 * connection id it does not know (its previous run's link, before a crash) with a reset ending in
 * that id's token, rate-limited and always shorter than the packet answered; a datagram with an
 * unknown id that ends in the reset token a peer gave goes to that peer's connection, which closes.
 */
final class UdpCarrier extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(UdpCarrier.class);
    /** Connections still in their handshake that one server channel holds at most (each costs a little memory). */
    static final int MAX_HANDSHAKES = 1024;

    /** What happens to a connection the carrier drives. */
    interface Observer {
        void established(TmpLink link);

        /** The connection closed; {@code link} is null when its handshake never completed. */
        void closed(TmpLink link, String reason);
    }

    private final boolean server;
    private final String localName;
    private final int localRole;
    private final LinkSettings settings;
    private final LinkCore.Listener listener;
    private final Observer observer;
    private final Map<Long, Entry> byCid = new HashMap<>();
    private final List<Entry> entries = new ArrayList<>();
    /** Connections that received datagrams in the current read batch; flushed once at its end. */
    private final List<Entry> readBatch = new ArrayList<>();
    private ChannelHandlerContext ctx;
    private int handshakes;
    private final UdpSecurity security;
    private final RetryTokens tokens;
    private final byte[] tokenScratch = new byte[RetryTokens.TOKEN_BYTES];
    private int receiveBufferBytes = -1;
    /** Answers packets of unknown links (servers only: a client's socket dies with its process). */
    private final StatelessReset.Responder resets;
    /** Connections by the reset token their peer gave, to recognise a reset whatever id it carries. */
    private final Map<java.nio.ByteBuffer, Entry> byResetToken = new HashMap<>();

    UdpCarrier(boolean server, String localName, int localRole, LinkSettings settings, LinkCore.Listener listener,
               Observer observer) {
        this.server = server;
        this.localName = localName;
        this.localRole = localRole;
        this.settings = settings;
        this.listener = listener;
        this.observer = observer;
        this.security = settings.datagram().security();
        this.tokens = security != null && server ? new RetryTokens(new java.security.SecureRandom()) : null;
        this.resets = !server ? null : new StatelessReset.Responder(
                security != null ? security.statelessReset() : StatelessReset.PLAIN_TEXT, new java.security.SecureRandom());
    }

    /** Judges every established link's peer again, on this channel's loop (called from any thread). */
    private final Runnable recheck = () -> {
        ChannelHandlerContext c = ctx;
        if (c != null) {
            c.executor().execute(this::recheckLinks);
        }
    };

    private void recheckLinks() {
        for (Entry e : new ArrayList<>(entries)) {
            if (e.connection.recheckPeer()) {
                flush(e);
            }
        }
    }

    /** Connections on this channel (handshaking or established). */
    int connections() {
        return entries.size();
    }

    /** The socket's receive buffer as the kernel granted it (it may cap what was asked), -1 before binding. */
    int receiveBufferBytes() {
        return receiveBufferBytes;
    }

    /** Datagrams the kernel dropped for want of receive buffer (per socket where Linux says, else host-wide). */
    long receiveDrops() {
        if (ctx == null || !(ctx.channel().localAddress() instanceof InetSocketAddress local)) {
            return -1;
        }
        return UdpSocketStats.receiveDrops(local.getPort());
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        DatagramChannelConfig config = (DatagramChannelConfig) ctx.channel().config();
        receiveBufferBytes = config.getReceiveBufferSize();
        if (receiveBufferBytes < settings.datagram().socketBufferBytes()) {
            log.info("UDP receive buffer of {} is {} bytes ({} asked; raise net.core.rmem_max)",
                    ctx.channel().localAddress(), receiveBufferBytes, settings.datagram().socketBufferBytes());
        }
        if (security != null) {
            security.addRecheckHook(recheck);
        }
        if (security == null) {
            log.warn("UDP carrier on {} runs in PLAIN TEXT: no node identity is configured, so TMP over UDP is "
                    + "neither encrypted nor authenticated (docs/security.md)", ctx.channel().localAddress());
        }
        ctx.fireChannelActive();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Starts a client connection to {@code remote}; runs on the channel's loop. */
    void connect(InetSocketAddress remote) {
        TmpConnection c = TmpConnection.client(ctx.executor(), settings, localName, localRole, listener, null,
                System.nanoTime(), new java.util.Random(ThreadLocalRandom.current().nextLong()));
        Entry e = new Entry(remote);
        e.attach(c);
        flush(e);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ctx.fireChannelRead(msg);
            return;
        }
        ByteBuf content = packet.content();
        if (!PacketHeader.isTmp(content)) {
            packet.release();
            return;
        }
        long dcid = PacketHeader.destinationCid(content);
        Entry e = byCid.get(dcid);
        if (e == null && !PacketHeader.isLong(content)) {
            e = resetFor(content);
            if (e == null) {
                if (server) {
                    answerUnknown(ctx, dcid, content.readableBytes(), packet.sender());
                }
                packet.release();
                return;
            }
        }
        if (e == null) {
            if (!server || !PacketHeader.isLong(content) || handshakes >= MAX_HANDSHAKES
                    || security != null && !admit(ctx, content, packet.sender())) {
                packet.release();
                return;
            }
            TmpConnection c = TmpConnection.server(ctx.executor(), settings, localName, localRole, listener, null,
                    System.nanoTime(), new java.util.Random(ThreadLocalRandom.current().nextLong()));
            e = new Entry(packet.sender());
            e.attach(c);
            byCid.put(dcid, e);
            handshakes++;
            e.handshaking = true;
        }
        long before = e.connection.largestReceived();
        e.connection.receive(System.nanoTime(), content);
        if (e.connection.largestReceived() > before && !packet.sender().equals(e.peer)) {
            if (e.link != null) {
                log.info("{}: peer address now {} (was {})", e.link, packet.sender(), e.peer);
            }
            e.peer = packet.sender();
        }
        if (e.resetToken == null && e.connection.peerResetToken() != null) {
            e.resetToken = java.nio.ByteBuffer.wrap(e.connection.peerResetToken());
            byResetToken.put(e.resetToken, e);
        }
        long initial = e.connection.initialConnectionId();
        if (initial != 0 && !byCid.containsKey(initial)) {
            byCid.put(initial, e);
        }
        // Answer once per read batch, not per datagram: one ACK then covers every packet of the
        // batch, and the data their frames released (credit, requests) leaves in full packets.
        if (!e.inReadBatch) {
            e.inReadBatch = true;
            readBatch.add(e);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        for (int i = 0; i < readBatch.size(); i++) {
            Entry e = readBatch.get(i);
            e.inReadBatch = false;
            flush(e);
        }
        readBatch.clear();
        ctx.fireChannelReadComplete();
    }

    /** The connection whose peer's reset token ends this datagram, or null. */
    private Entry resetFor(ByteBuf d) {
        if (byResetToken.isEmpty() || d.readableBytes() < StatelessReset.MIN_RESET_BYTES) {
            return null;
        }
        byte[] tail = new byte[StatelessReset.TOKEN_BYTES];
        d.getBytes(d.writerIndex() - tail.length, tail);
        return byResetToken.get(java.nio.ByteBuffer.wrap(tail));
    }

    /** Server: a short-header packet for a link this node does not have gets a stateless reset, if one may go. */
    private void answerUnknown(ChannelHandlerContext ctx, long dcid, int bytes, InetSocketAddress sender) {
        if (!ctx.channel().isWritable()) {
            return;
        }
        ByteBuf reset = resets.answer(dcid, bytes, System.nanoTime(), ctx.alloc());
        if (reset != null) {
            if (security != null) {
                security.countReset(true);
            }
            log.debug("UDP carrier on {}: stateless reset to {} for unknown connection id {}",
                    ctx.channel().localAddress(), sender, Long.toHexString(dcid));
            ctx.writeAndFlush(new DatagramPacket(reset, sender));
        }
    }

    /**
     * Encrypted server, unknown connection id: whether this datagram may create a connection, that
     * is, an INITIAL of a version spoken here with a valid address token. Answers the others
     * statelessly (RETRY, version negotiation).
     */
    private boolean admit(ChannelHandlerContext ctx, ByteBuf d, InetSocketAddress sender) {
        int at = d.readerIndex();
        if ((d.getUnsignedByte(at) & PacketHeader.TYPE_MASK) != PacketHeader.TYPE_INITIAL) {
            return false;
        }
        if (d.readableBytes() < PacketHeader.LONG_HEADER_BYTES + PacketHeader.TOKEN_LENGTH_BYTES) {
            security.count(UdpSecurity.Drop.TRUNCATED);
            return false;
        }
        int version = PacketHeader.version(d);
        long dcid = PacketHeader.destinationCid(d);
        long scid = PacketHeader.sourceCid(d);
        // Answers are written only while the socket takes them: a flood that fills it gets no
        // answers rather than a queue of them.
        boolean writable = ctx.channel().isWritable();
        if (version != TmpConnection.VERSION) {
            if (!writable) {
                return false;
            }
            ByteBuf vn = ctx.alloc().directBuffer(PacketHeader.LONG_HEADER_BYTES - 4 + 4 * TmpConnection.SUPPORTED_VERSIONS.length);
            vn.writeByte(PacketHeader.FLAG_LONG | PacketHeader.FLAG_FIXED | PacketHeader.TYPE_VERSION_NEGOTIATION);
            vn.writeInt(0);
            vn.writeLong(scid);
            vn.writeLong(dcid);
            for (int v : TmpConnection.SUPPORTED_VERSIONS) {
                vn.writeInt(v);
            }
            ctx.writeAndFlush(new DatagramPacket(vn, sender));
            return false;
        }
        int tokenLength = d.getUnsignedShort(at + PacketHeader.LONG_HEADER_BYTES);
        int tokenAt = at + PacketHeader.LONG_HEADER_BYTES + PacketHeader.TOKEN_LENGTH_BYTES;
        long nowMillis = System.currentTimeMillis();
        if (tokenLength == RetryTokens.TOKEN_BYTES && d.writerIndex() - tokenAt >= tokenLength) {
            d.getBytes(tokenAt, tokenScratch);
            if (tokens.check(tokenScratch, 0, tokenLength, sender, nowMillis)) {
                return true;
            }
        }
        security.count(UdpSecurity.Drop.NO_TOKEN);
        if (!writable) {
            return false;
        }
        byte[] token = tokens.mint(sender, nowMillis);
        ByteBuf retry = ctx.alloc().directBuffer(PacketHeader.LONG_HEADER_BYTES + token.length);
        PacketHeader.writeLong(retry, PacketHeader.TYPE_RETRY, version, scid, dcid, 0);
        retry.writeBytes(token);
        ctx.writeAndFlush(new DatagramPacket(retry, sender));
        return false;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (Entry e : new ArrayList<>(entries)) {
                flush(e);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (security != null) {
            security.removeRecheckHook(recheck);
        }
        for (Entry e : new ArrayList<>(entries)) {
            e.connection.close(ResetCode.LINK_LOST, "UDP socket closed");
            e.finish();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A datagram socket reports ICMP errors and the like here; links ride them out (or time out).
        log.debug("UDP carrier on {}: {}", ctx.channel().localAddress(), cause.toString());
    }

    private void flush(Entry e) {
        e.flushScheduled = false;
        Channel ch = ctx.channel();
        boolean wrote = false;
        while (ch.isWritable() || e.connection.isClosed()) {
            ByteBuf d = e.connection.poll(System.nanoTime(), ctx.alloc());
            if (d == null) {
                break;
            }
            ctx.write(new DatagramPacket(d, e.peer));
            wrote = true;
        }
        if (wrote) {
            ctx.flush();
        }
        if (e.connection.isClosed()) {
            e.finish();
            return;
        }
        e.arm(e.connection.nextTimeoutNanos());
    }

    /** One connection on this channel; also the link's carrier. */
    private final class Entry implements TmpLink.Carrier, TmpConnection.Events {
        TmpConnection connection;
        InetSocketAddress peer;
        TmpLink link;
        ScheduledFuture<?> timer;
        long timerAt = Long.MAX_VALUE;
        boolean flushScheduled;
        boolean inReadBatch;
        boolean handshaking;
        boolean finished;
        /** The reset token the peer gave, once known. */
        java.nio.ByteBuffer resetToken;
        final Promise<Void> closed;

        Entry(InetSocketAddress peer) {
            this.peer = peer;
            this.closed = new DefaultPromise<>(ctx.executor());
        }

        void attach(TmpConnection c) {
            connection = c;
            c.setEvents(this);
            c.setWakeup(() -> {
                if (!flushScheduled) {
                    flushScheduled = true;
                    ctx.executor().execute(() -> flush(this));
                }
            });
            byCid.put(c.localConnectionId(), this);
            entries.add(this);
        }

        void arm(long at) {
            if (at == Long.MAX_VALUE) {
                return;
            }
            if (timer != null && timerAt <= at) {
                return;
            }
            if (timer != null) {
                timer.cancel(false);
            }
            timerAt = at;
            long delay = Math.max(0, at - System.nanoTime());
            timer = ctx.executor().schedule(() -> {
                timer = null;
                timerAt = Long.MAX_VALUE;
                if (!finished) {
                    connection.onTimeout(System.nanoTime());
                    flush(this);
                }
            }, delay, TimeUnit.NANOSECONDS);
        }

        void finish() {
            if (finished) {
                return;
            }
            finished = true;
            if (timer != null) {
                timer.cancel(false);
            }
            if (handshaking) {
                handshakes--;
            }
            byCid.values().removeIf(x -> x == this);
            if (resetToken != null) {
                byResetToken.remove(resetToken, this);
            }
            entries.remove(this);
            observer.closed(link, connection.closeReason());
            closed.trySuccess(null);
        }

        @Override
        public void established(TmpConnection c) {
            if (handshaking) {
                handshaking = false;
                handshakes--;
            }
            link = new TmpLink(c.core(), this, "udp");
            observer.established(link);
        }

        @Override
        public void closed(TmpConnection c, String reason) {
            // finish() runs after the CLOSE packet went out, from flush.
            if (!flushScheduled) {
                flushScheduled = true;
                ctx.executor().execute(() -> flush(this));
            }
        }

        @Override
        public boolean isActive() {
            return !connection.isClosed() && ctx.channel().isActive();
        }

        @Override
        public SocketAddress remoteAddress() {
            return peer;
        }

        @Override
        public void close(ResetCode code, String reason) {
            connection.close(code, reason);
            flush(this);
        }

        @Override
        public Future<?> closeFuture() {
            return closed;
        }

        @Override
        public QosReport localQos() {
            return connection.localQos();
        }

        @Override
        public QosReport peerQos() {
            return connection.peerQos();
        }

        @Override
        public long congestionWindow() {
            return connection.congestionWindow();
        }

        @Override
        public String congestionControl() {
            return connection.congestionControl();
        }

        @Override
        public long udpReceiveBufferBytes() {
            return receiveBufferBytes;
        }

        @Override
        public long udpReceiveDrops() {
            return receiveDrops();
        }
    }
}
