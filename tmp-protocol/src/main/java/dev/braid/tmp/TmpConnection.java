package dev.braid.tmp;

import dev.braid.tmp.noise.NoiseException;
import dev.braid.tmp.noise.NoiseIK;
import dev.braid.tmp.noise.PacketProtection;
import dev.braid.tmp.noise.ReplayWindow;
import dev.braid.tmp.noise.StatelessReset;
import dev.braid.tmp.noise.X25519Keys;
import dev.braid.tmp.security.PeerIdentity;
import dev.braid.tmp.security.PeerRejectedException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.EventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One end of a TMP link over datagrams, sans I/O: a state machine fed with the current time and
 * received datagrams, asked for datagrams to send and for its next timer ({@link DatagramEndpoint}).
 * It owns no socket, thread or clock: the Netty driver ({@code UdpCarrier}) runs it on real UDP
 * sockets, the network simulator in virtual time.
 *
 * <p>Layers: the packet header ({@link PacketHeader}: connection ids, version, packet number), the
 * handshake (HELLO in long-header INITIAL packets, version negotiation), acknowledgements (ACK
 * frames with ranges and ack delay), {@link Recovery} (RFC 9002 loss detection, probe timeouts, RTT)
 * with a pluggable {@link CongestionController} and a {@link Pacer}, QoS reports in both directions,
 * keepalive and idle timeout, and the carrier-independent {@link LinkCore} (streams, flow control,
 * the blender) whose frames are recorded per packet and re-sent, not the packets, when lost.
 *
 * <p>With {@link DatagramSettings#security()} set, the link is encrypted and authenticated
 * (docs/security.md): a Noise IK handshake (the initiator's INITIAL, a RETRY when the responder's
 * driver wants an address token, the responder's HANDSHAKE) carries both certificates, which the
 * {@code PeerVerifier} checks against the static keys Noise authenticated; then every packet is
 * sealed ({@link PacketProtection}), checked against a replay window ({@link ReplayWindow}), and
 * keys are updated by packet count and time. Packets that fail are dropped and counted
 * ({@link UdpSecurity.Drop}); the link goes on. Without it the link runs in plain text.
 *
 * <p>Confined to one thread, the driver's. Guarantees: a lost packet stalls only the streams whose
 * frames it carried; memory per link is bounded by the window (packets in flight), flow-control
 * credit (reassembly) and the bounded ACK ranges; every stream of a closed link is reset with the reason.
 */
public final class TmpConnection implements DatagramEndpoint {

    private static final Logger log = LoggerFactory.getLogger(TmpConnection.class);

    /** The protocol version this code speaks. */
    public static final int VERSION = TcpLinkHandler.PROTOCOL_VERSION;
    static final int[] SUPPORTED_VERSIONS = {VERSION};
    /** ACK frames report at most this many ranges; the receiver remembers at most this many. */
    static final int ACK_RANGES = 64;
    /**
     * Packets this far below one whose ACK the peer has acknowledged are dropped unread: the
     * receiver no longer remembers whether it saw them, and by then the sender has declared them
     * lost and re-sent their frames. (Later ones, if duplicates, are harmless: frames are idempotent.)
     */
    static final long STALE_PACKETS = 4096;
    /**
     * While streams wait on a link that has gone silent both ways, a PING goes out after this long:
     * a peer that died or lost its state is then found within a second (its stateless reset
     * answers the PING, or the dead-peer rule counts from it) instead of at the next keepalive.
     */
    static final long BUSY_PROBE_NANOS = 1_000_000_000L;
    /** PING-only packets (probes, keepalives) are padded to this many bytes: room for a stateless reset's answer. */
    static final int PROBE_BYTES = 64;
    /** Ack-eliciting packets received before an ACK is sent at once (RFC 9000 §13.2.2). */
    static final int ACK_EVERY = 2;

    /** What the connection tells its driver. */
    public interface Events {
        /** The handshake completed; streams can be opened on {@link #core()}. */
        void established(TmpConnection connection);

        /** The link is closed (by either side, idle timeout, handshake failure or protocol error). */
        void closed(TmpConnection connection, String reason);
    }

    private enum State { HANDSHAKE, ESTABLISHED, CLOSED }

    private final EventExecutor executor;
    private final LinkSettings settings;
    private final DatagramSettings dgram;
    private final boolean initiator;
    private final String localName;
    private final int localRole;
    private final LinkCore.Listener listener;
    private Events events;
    private final Random random;
    private Runnable wakeup = () -> { };

    private State state = State.HANDSHAKE;
    private String closeReason;
    private final long localCid;
    private long peerCid;
    /** The client's first destination id, which the server also answers to until the client learns its id. */
    private long initialDcid;
    private boolean peerKnown;
    private int version = VERSION;
    private int[] offeredVersions = SUPPORTED_VERSIONS;

    private LinkCore core;
    private final Recovery recovery;
    private final Pacer pacer;
    private final int maxDatagram;

    // Security (null / unused in plain text).
    private final UdpSecurity security;
    private final int tagBytes;
    private NoiseIK noise;
    /** Client: the INITIAL's Noise message 1; server: the HANDSHAKE's message 2. Re-sent until answered. */
    private byte[] handshakeMessage;
    private boolean handshakeMessagePending;
    private long handshakeResendAt = Long.MAX_VALUE;
    private long handshakeResendInterval;
    private byte[] retryToken = new byte[0];
    private int retries;
    private PacketProtection protection;
    private final ReplayWindow replay = new ReplayWindow();
    private PeerIdentity peerIdentity;
    /** The certificate the peer sent in its handshake: judged again by {@link #recheckPeer}. */
    private X509Certificate peerCertificate;
    /** This node's reset tokens (of its static key, or the plain-text ones), and the peer's token for its id. */
    private final StatelessReset resetTokens;
    private byte[] peerResetToken;
    /** The reason of a link closed by the peer's stateless reset. */
    static final String STATELESS_RESET = "peer lost its state: stateless reset";
    /** Retries a client follows per handshake; more means something answers with tokens that never work. */
    static final int MAX_RETRIES = 3;

    // Handshake.
    private byte[] hello;
    private boolean helloPending;
    private final long handshakeDeadline;
    private int pendingVersionNegotiation = -1;
    private long vnDcid;
    private long vnScid;

    // Receiving and acknowledging.
    private final AckRanges received = new AckRanges(ACK_RANGES);
    private long largestReceived = -1;
    private long largestReceivedTime;
    private long minAcceptedPn;
    private boolean ackPending;
    private boolean ackNow;
    private long ackDeadline = Long.MAX_VALUE;
    private int unackedEliciting;
    private boolean elicitingInPacket;
    private long now;

    // Timers.
    private long lastReceive;
    private long lastSend;
    private boolean pingPending;
    private long pacingBlockedUntil = Long.MAX_VALUE;
    private long nextQos;
    private byte[] closeFrame;

    // QoS.
    private QosReport localQos = QosReport.UNKNOWN;
    private volatile QosReport publishedLocalQos = QosReport.UNKNOWN;
    private volatile QosReport peerQos = QosReport.UNKNOWN;
    private long qosAt;
    private long qosLost;
    private long qosAcked;
    private long qosDelivered;

    private TmpConnection(EventExecutor executor, LinkSettings settings, boolean initiator, String localName,
                          int localRole, LinkCore.Listener listener, Events events, long nowNanos, Random random) {
        this.executor = executor;
        this.settings = settings;
        this.dgram = settings.datagram();
        this.initiator = initiator;
        this.localName = localName;
        this.localRole = localRole;
        this.listener = listener;
        this.events = events;
        this.random = random;
        this.localCid = random.nextLong();
        this.security = dgram.security();
        this.tagBytes = security != null ? PacketHeader.AEAD_TAG_BYTES : 0;
        this.resetTokens = security != null ? security.statelessReset() : StatelessReset.PLAIN_TEXT;
        this.maxDatagram = PacketHeader.LONG_HEADER_BYTES + settings.packetBytes() + tagBytes;
        CongestionController cc = dgram.congestionControl().create(dgram, maxDatagram);
        this.recovery = new Recovery(dgram, cc, new RecoveryEvents());
        this.pacer = new Pacer(dgram.pacingQuantum().toNanos(), maxDatagram);
        this.lastReceive = nowNanos;
        this.lastSend = nowNanos;
        this.now = nowNanos;
        this.handshakeDeadline = nowNanos + (initiator ? dgram.handshakeTimeout() : settings.handshakeTimeout()).toNanos();
        if (initiator) {
            this.peerCid = random.nextLong();
            this.initialDcid = peerCid;
            if (security != null) {
                if (security.peerStaticKey() == null) {
                    throw new IllegalArgumentException("security: " + security
                            + " (expected: the responder's static key, UdpSecurity.towards)");
                }
                startHandshake();
            } else {
                queueHello();
            }
        }
    }

    /** Noise's prologue: both sides must agree on the version and connection ids, or the handshake fails. */
    private static byte[] prologue(int version, long initialDcid, long clientCid) {
        byte[] tag = "braid tmp udp".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        ByteBuf b = io.netty.buffer.Unpooled.wrappedBuffer(new byte[tag.length + 4 + 16]).clear();
        b.writeBytes(tag).writeInt(version).writeLong(initialDcid).writeLong(clientCid);
        return b.array();
    }

    /** Client: a new Noise IK handshake and its message 1, carrying this node's certificate. */
    private void startHandshake() {
        UdpSecurity.Credentials own = security.credentials();
        noise = NoiseIK.initiator(prologue(version, initialDcid, localCid), own.staticKey,
                X25519Keys.generate(security.random()), security.peerStaticKey());
        try {
            handshakeMessage = noise.writeMessage(security.initiationPayload(own));
        } catch (NoiseException e) {
            // Only a low-order static key of the responder gets here; its certificate was checked.
            throw new IllegalArgumentException("security: responder static key unusable: " + e.getMessage(), e);
        }
        handshakeMessagePending = true;
        handshakeResendInterval = dgram.initialRtt().toNanos();
    }

    /**
     * The initiating end (the front-end's): sends its HELLO at once.
     *
     * @param random source of connection ids; seeded in simulations so runs repeat
     */
    public static TmpConnection client(EventExecutor executor, LinkSettings settings, String localName, int localRole,
                                       LinkCore.Listener listener, Events events, long nowNanos, Random random) {
        return new TmpConnection(executor, settings, true, localName, localRole, listener, events, nowNanos, random);
    }

    /** The accepting end (the back-end's): waits for a client's HELLO. */
    public static TmpConnection server(EventExecutor executor, LinkSettings settings, String localName, int localRole,
                                       LinkCore.Listener listener, Events events, long nowNanos, Random random) {
        return new TmpConnection(executor, settings, false, localName, localRole, listener, events, nowNanos, random);
    }

    /** Replaces the events receiver (the driver creates the connection before its own bookkeeping). */
    void setEvents(Events events) {
        this.events = events;
    }

    /** Called whenever the link core has something new to send (a stream was written, credit arrived). */
    public void setWakeup(Runnable wakeup) {
        this.wakeup = wakeup;
    }

    /** Test hook: the versions the client offers, most preferred first. */
    void offerVersions(int... versions) {
        this.offeredVersions = versions.clone();
        this.version = versions[0];
        queueHello();
    }

    private void queueHello() {
        ByteBuf b = io.netty.buffer.Unpooled.buffer(64);
        Frames.writeHello(b, version, localRole, localName, settings.linkWindowBytes(), settings.streamWindowBytes());
        // The token travels with the HELLO, so it is re-sent with it; sealed on an encrypted link.
        Frames.writeResetToken(b, resetTokens.token(localCid));
        hello = new byte[b.readableBytes()];
        b.readBytes(hello);
        helloPending = true;
    }

    // ------------------------------------------------------------------ accessors

    /** The link core once established (streams, flow control, blender), else null. */
    public LinkCore core() {
        return core;
    }

    public boolean isEstablished() {
        return state == State.ESTABLISHED;
    }

    public boolean isClosed() {
        return state == State.CLOSED;
    }

    public String closeReason() {
        return closeReason;
    }

    public boolean isInitiator() {
        return initiator;
    }

    /** The id peers put in packets for this end. */
    public long localConnectionId() {
        return localCid;
    }

    /** The client's first destination id, which the server answers to as well (0 before it is known). */
    public long initialConnectionId() {
        return initialDcid;
    }

    /** The stateless reset token the peer gave for its connection id, or null before its HELLO. */
    byte[] peerResetToken() {
        return peerResetToken;
    }

    /** The largest packet number received so far (the driver follows the peer's address on each new one). */
    public long largestReceived() {
        return largestReceived;
    }

    public int version() {
        return version;
    }

    /** Whether packets are encrypted (a {@link UdpSecurity} is configured). */
    public boolean isEncrypted() {
        return security != null;
    }

    /** The peer as its certificate names it once the handshake verified it; null in plain text. */
    public PeerIdentity peerIdentity() {
        return peerIdentity;
    }

    /**
     * Judges the peer's certificate again (new CRLs, a new trust bundle, expiry) and closes the link
     * with REFUSED when it no longer passes. On the connection's executor.
     *
     * @return whether the link was closed for it
     */
    boolean recheckPeer() {
        if (security == null || peerCertificate == null || isClosed()) {
            return false;
        }
        try {
            security.recheck(peerCertificate, !initiator);
            return false;
        } catch (PeerRejectedException e) {
            security.countRefusal(e.reason());
            log.warn("TMP link (udp) {} {}: refused at recheck: {} ({})", initiator ? "to" : "from", peerLabel(),
                    e.getMessage(), e.reason());
            close(ResetCode.REFUSED, "peer refused at recheck: " + e.getMessage());
            return true;
        }
    }

    /** Key updates made by this side and by the peer (0 in plain text). */
    public long keyUpdatesSent() {
        return protection == null ? 0 : protection.sendPhase();
    }

    public long keyUpdatesReceived() {
        return protection == null ? 0 : protection.receivePhase();
    }

    /** This side's measurement of its sending direction. Any thread. */
    public QosReport localQos() {
        return publishedLocalQos;
    }

    /** The peer's last QoS report (its sending direction). Any thread. */
    public QosReport peerQos() {
        return peerQos;
    }

    public String congestionControl() {
        return recovery.controller().name();
    }

    /** Congestion window in bytes. */
    public long congestionWindow() {
        return recovery.window();
    }

    public long bytesInFlight() {
        return recovery.bytesInFlight();
    }

    public long packetsSent() {
        return recovery.packetsSent();
    }

    public long packetsLost() {
        return recovery.packetsLost();
    }

    public long persistentCongestionEvents() {
        return recovery.persistentCongestionEvents();
    }

    public long smoothedRttNanos() {
        return recovery.rtt.smoothed();
    }

    /** Smoothed count of hosted streams (N). */
    public double hostedStreams() {
        return recovery.hostedStreams();
    }

    Recovery recovery() {
        return recovery;
    }

    // ------------------------------------------------------------------ receiving

    @Override
    public void receive(long nowNanos, ByteBuf datagram) {
        now = Math.max(now, nowNanos);
        try {
            if (state == State.CLOSED || !PacketHeader.isTmp(datagram)) {
                return;
            }
            receivePacket(datagram);
        } catch (TmpProtocolException e) {
            log.warn("TMP link (udp) {} {}: {} ({})", initiator ? "to" : "from", peerLabel(), e.getMessage(), e.code());
            closeLocally(e.code(), e.getMessage(), true);
        } finally {
            datagram.release();
        }
    }

    private void receivePacket(ByteBuf d) throws TmpProtocolException {
        if (security != null) {
            receiveProtected(d);
            return;
        }
        boolean longHeader = PacketHeader.isLong(d);
        long dcid = PacketHeader.destinationCid(d);
        if (longHeader) {
            int v = PacketHeader.version(d);
            long scid = PacketHeader.sourceCid(d);
            int type = d.getUnsignedByte(d.readerIndex()) & PacketHeader.TYPE_MASK;
            if (v == 0 && type == PacketHeader.TYPE_VERSION_NEGOTIATION) {
                versionNegotiation(d, dcid, scid);
                return;
            }
            if (!initiator && !peerKnown) {
                if (!isSupported(v)) {
                    // Answer with the versions spoken here; stay unbound for the client's next try.
                    pendingVersionNegotiation = v;
                    vnDcid = scid;
                    vnScid = dcid;
                    return;
                }
                version = v;
                peerCid = scid;
                initialDcid = dcid;
                peerKnown = true;
            } else if (dcid != localCid && dcid != initialDcid) {
                return;
            } else if (initiator && state == State.HANDSHAKE) {
                peerCid = scid; // the server's id, used from now on
            }
            if (v != version) {
                return;
            }
            d.skipBytes(PacketHeader.LONG_HEADER_BYTES - 4);
        } else {
            if (!peerKnown && !initiator || dcid != localCid && dcid != initialDcid) {
                statelessReset(d);
                return;
            }
            d.skipBytes(1 + PacketHeader.CID_BYTES);
        }
        long pn = PacketHeader.decodePacketNumber(largestReceived, d.readUnsignedInt());
        receiveFrames(d, pn);
    }

    /** The payload of an accepted packet (decrypted when encrypted): frames, then acknowledgement bookkeeping. */
    private void receiveFrames(ByteBuf d, long pn) throws TmpProtocolException {
        if (pn < minAcceptedPn || received.contains(pn)) {
            return; // a duplicate, or older than anything still acknowledged
        }
        elicitingInPacket = false;
        lastReceive = now;
        int frameBytes = d.readableBytes();
        Frames.decode(d, visitor);
        if (core != null) {
            core.countReceived(frameBytes);
        }
        if (state == State.CLOSED) {
            return;
        }
        received.add(pn);
        if (pn > largestReceived) {
            if (largestReceived >= 0 && pn != largestReceived + 1) {
                ackNow = true; // a gap: tell the sender at once (RFC 9000 §13.2.1)
            }
            largestReceived = pn;
            largestReceivedTime = now;
        } else {
            ackNow = true; // reordered: fills a gap
        }
        if (elicitingInPacket) {
            ackPending = true;
            if (++unackedEliciting >= ACK_EVERY) {
                ackNow = true;
            } else if (ackDeadline == Long.MAX_VALUE) {
                ackDeadline = now + ackDelay();
            }
        }
    }

    /**
     * How long a lone ack-eliciting packet waits for a second one before it is acknowledged: a
     * quarter of the minimum RTT, between 1 ms and {@code maxAckDelay} (25 ms). On a long path
     * that saves ACKs; on a short one a fixed 25 ms would hold the sender's window for many RTTs.
     */
    private long ackDelay() {
        long max = dgram.maxAckDelay().toNanos();
        RttEstimator rtt = recovery.rtt;
        if (!rtt.hasSample()) {
            return max;
        }
        return Math.max(Recovery.GRANULARITY, Math.min(max, rtt.min() / 4));
    }

    /** Encrypted link: handshake packets in long headers, sealed packets in short ones. */
    private void receiveProtected(ByteBuf d) throws TmpProtocolException {
        int start = d.readerIndex();
        int flags = d.getUnsignedByte(start);
        long dcid = PacketHeader.destinationCid(d);
        if ((flags & PacketHeader.FLAG_LONG) != 0) {
            if (d.readableBytes() < PacketHeader.LONG_HEADER_BYTES) {
                if (d.readableBytes() >= PacketHeader.LONG_HEADER_BYTES - 4
                        && PacketHeader.version(d) == 0 && (flags & PacketHeader.TYPE_MASK) == PacketHeader.TYPE_VERSION_NEGOTIATION) {
                    return; // an empty version list: nothing to pick from
                }
                security.count(UdpSecurity.Drop.TRUNCATED);
                return;
            }
            int v = PacketHeader.version(d);
            long scid = PacketHeader.sourceCid(d);
            int type = flags & PacketHeader.TYPE_MASK;
            if (v == 0 && type == PacketHeader.TYPE_VERSION_NEGOTIATION) {
                versionNegotiation(d, dcid, scid);
            } else if (type == PacketHeader.TYPE_INITIAL && !initiator) {
                initialReceived(d, v, dcid, scid);
            } else if (type == PacketHeader.TYPE_RETRY && initiator) {
                retryReceived(d, v, dcid, scid);
            } else if (type == PacketHeader.TYPE_HANDSHAKE && initiator) {
                handshakeReceived(d, v, dcid, scid);
            }
            return;
        }
        if (protection == null || dcid != localCid && dcid != initialDcid) {
            statelessReset(d);
            return; // not (yet) a link with keys: nothing to decrypt with
        }
        if (d.readableBytes() < PacketHeader.SHORT_HEADER_BYTES + tagBytes) {
            security.count(UdpSecurity.Drop.TRUNCATED);
            return;
        }
        long pn = PacketHeader.decodePacketNumber(largestReceived, d.getUnsignedInt(start + 1 + PacketHeader.CID_BYTES));
        if (replay.check(pn) != ReplayWindow.Verdict.NEW) {
            security.count(UdpSecurity.Drop.REPLAY);
            return;
        }
        if (!protection.open(d, start, PacketHeader.SHORT_HEADER_BYTES, pn, (flags & PacketHeader.KEY_PHASE) != 0, now)) {
            if (!statelessReset(d)) {
                security.count(UdpSecurity.Drop.UNDECRYPTABLE);
            }
            return;
        }
        replay.mark(pn);
        d.skipBytes(PacketHeader.SHORT_HEADER_BYTES);
        receiveFrames(d, pn);
    }

    /**
     * A short-header datagram this end cannot use (unknown id, or it does not authenticate): if it
     * ends in the peer's reset token, the peer lost the link's state (RFC 9000 §10.3.1), and the link
     * closes at once, its streams reset with LINK_LOST. Nothing is sent back: the peer has no keys.
     */
    private boolean statelessReset(ByteBuf d) {
        if (state == State.CLOSED || PacketHeader.isLong(d) || !StatelessReset.endsWith(d, peerResetToken)) {
            return false;
        }
        log.warn("TMP link (udp) {} {}: stateless reset received: the peer restarted or lost the link",
                initiator ? "to" : "from", peerLabel());
        if (security != null) {
            security.countReset(false);
        }
        closeLocally(ResetCode.LINK_LOST, STATELESS_RESET, false);
        return true;
    }

    /** Server: the client's INITIAL (Noise message 1), or a copy of it when our HANDSHAKE was lost. */
    private void initialReceived(ByteBuf d, int v, long dcid, long scid) {
        if (peerKnown) {
            if (dcid == initialDcid && scid == peerCid && handshakeMessage != null) {
                handshakeMessagePending = true; // the client did not get message 2: send it again
            }
            return;
        }
        if (!isSupported(v)) {
            pendingVersionNegotiation = v;
            vnDcid = scid;
            vnScid = dcid;
            return;
        }
        d.skipBytes(PacketHeader.LONG_HEADER_BYTES);
        if (d.readableBytes() < PacketHeader.TOKEN_LENGTH_BYTES
                || d.readableBytes() < PacketHeader.TOKEN_LENGTH_BYTES + d.getUnsignedShort(d.readerIndex())) {
            security.count(UdpSecurity.Drop.TRUNCATED);
            closeLocally(ResetCode.PROTOCOL_ERROR, "truncated INITIAL", false);
            return;
        }
        d.skipBytes(PacketHeader.TOKEN_LENGTH_BYTES + d.getUnsignedShort(d.readerIndex())); // the driver checked it
        byte[] message = new byte[d.readableBytes()];
        d.readBytes(message);
        byte[] prologue = prologue(v, dcid, scid);
        X25519Keys ephemeral = X25519Keys.generate(security.random());
        PeerIdentity id;
        X509Certificate cert;
        NoiseIK n = null;
        try {
            // Message 1 is encrypted to one of this node's static keys: the current one, or the one
            // before a renewal, still in the copy of its certificate an initiator may hold.
            byte[] payload = null;
            UdpSecurity.Credentials used = null;
            NoiseException failure = null;
            for (UdpSecurity.Credentials c : security.responderCredentials()) {
                NoiseIK attempt = NoiseIK.responder(prologue, c.staticKey, ephemeral);
                try {
                    payload = attempt.readMessage(message);
                    n = attempt;
                    used = c;
                    break;
                } catch (NoiseException e) {
                    failure = failure == null ? e : failure;
                }
            }
            if (n == null) {
                throw failure;
            }
            cert = UdpSecurity.peerCertificate(payload, true);
            id = security.verifyPeer(cert, n.remoteStatic(), true);
            if (!security.freshInitiation(n.remoteStatic(), payload)) {
                security.count(UdpSecurity.Drop.REPLAY);
                closeLocally(ResetCode.PROTOCOL_ERROR, "handshake replayed: message 1 of " + id
                        + " not newer than one accepted before", false);
                return;
            }
            handshakeMessage = n.writeMessage(UdpSecurity.certificatePayload(used));
        } catch (NoiseException e) {
            security.count(UdpSecurity.Drop.HANDSHAKE);
            closeLocally(ResetCode.PROTOCOL_ERROR, "handshake failed: " + e.getMessage(), false);
            return;
        } catch (PeerRejectedException e) {
            security.countRefusal(e.reason());
            log.warn("TMP link (udp) from {}: refused: {} ({})", Long.toHexString(scid), e.getMessage(), e.reason());
            closeLocally(ResetCode.PROTOCOL_ERROR, "peer refused: " + e.getMessage(), false);
            return;
        }
        version = v;
        peerCid = scid;
        initialDcid = dcid;
        peerKnown = true;
        peerIdentity = id;
        peerCertificate = cert;
        handshakeMessagePending = true;
        protection = new PacketProtection(n.split(), security.keyUpdatePackets(),
                security.keyUpdateInterval().toNanos(), maxDatagram, now);
    }

    /** Client: the server wants an address token first; send message 1 again with it. */
    private void retryReceived(ByteBuf d, int v, long dcid, long scid) {
        if (protection != null || state != State.HANDSHAKE || dcid != localCid || scid != initialDcid || v != version) {
            return;
        }
        if (++retries > MAX_RETRIES) {
            return; // the handshake timeout ends it
        }
        d.skipBytes(PacketHeader.LONG_HEADER_BYTES);
        if (d.readableBytes() > 255) {
            security.count(UdpSecurity.Drop.HANDSHAKE);
            return;
        }
        retryToken = new byte[d.readableBytes()];
        d.readBytes(retryToken);
        handshakeMessagePending = true;
    }

    /** Client: the server's message 2; with it the keys, and the server's certificate to check. */
    private void handshakeReceived(ByteBuf d, int v, long dcid, long scid) {
        if (protection != null || noise == null || dcid != localCid || v != version) {
            return; // a copy after the first one, or not ours
        }
        d.skipBytes(PacketHeader.LONG_HEADER_BYTES);
        byte[] message = new byte[d.readableBytes()];
        d.readBytes(message);
        try {
            byte[] payload = noise.readMessage(message);
            X509Certificate cert = UdpSecurity.peerCertificate(payload, false);
            peerIdentity = security.verifyPeer(cert, noise.remoteStatic(), false);
            peerCertificate = cert;
        } catch (NoiseException e) {
            security.count(UdpSecurity.Drop.HANDSHAKE);
            closeLocally(ResetCode.PROTOCOL_ERROR, "handshake failed: " + e.getMessage(), false);
            return;
        } catch (PeerRejectedException e) {
            security.countRefusal(e.reason());
            log.warn("TMP link (udp) to {}: refused: {} ({})", security.peerName(), e.getMessage(), e.reason());
            closeLocally(ResetCode.PROTOCOL_ERROR, "peer refused: " + e.getMessage(), false);
            return;
        }
        protection = new PacketProtection(noise.split(), security.keyUpdatePackets(),
                security.keyUpdateInterval().toNanos(), maxDatagram, now);
        noise = null;
        handshakeMessage = null;
        handshakeMessagePending = false;
        handshakeResendAt = Long.MAX_VALUE;
        peerCid = scid;
        lastReceive = now;
        queueHello();
    }

    private void versionNegotiation(ByteBuf d, long dcid, long scid) throws TmpProtocolException {
        if (!initiator || state != State.HANDSHAKE || dcid != localCid || scid != initialDcid) {
            return;
        }
        d.skipBytes(PacketHeader.LONG_HEADER_BYTES - 4);
        List<Integer> theirs = new ArrayList<>();
        while (d.readableBytes() >= 4) {
            theirs.add(d.readInt());
        }
        for (int mine : offeredVersions) {
            if (mine != version && theirs.contains(mine)) {
                log.info("TMP link (udp) to {}: peer speaks versions {}; retrying with {}", peerLabel(), theirs, mine);
                version = mine;
                if (security != null) {
                    startHandshake();
                } else {
                    queueHello();
                }
                wakeup.run();
                return;
            }
        }
        throw new TmpProtocolException(ResetCode.VERSION_MISMATCH, "peer speaks TMP versions " + theirs
                + " (expected one of: " + java.util.Arrays.toString(offeredVersions) + ")");
    }

    private static boolean isSupported(int v) {
        for (int s : SUPPORTED_VERSIONS) {
            if (s == v) {
                return true;
            }
        }
        return false;
    }

    private String peerLabel() {
        return core != null ? core.peerName() : Long.toHexString(peerCid);
    }

    private final Frames.Visitor visitor = new Frames.Visitor() {
        @Override
        public void hello(int v, int role, String nodeName, long maxData, long streamWindow) throws TmpProtocolException {
            elicitingInPacket = true;
            if (v != version) {
                throw new TmpProtocolException(ResetCode.VERSION_MISMATCH, "HELLO for version " + v
                        + " in a packet of version " + version);
            }
            if (peerIdentity != null && !peerIdentity.name().equals(nodeName)) {
                throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "HELLO names node " + nodeName
                        + ", the certificate " + peerIdentity.name());
            }
            if (streamWindow < 1024) {
                throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "stream window " + streamWindow
                        + " (expected: >= 1024)");
            }
            if (core != null) {
                if (!initiator) {
                    helloPending = true; // the client did not get ours yet
                }
                return;
            }
            core = new LinkCore(executor, settings, initiator, nodeName, maxData, streamWindow, listener,
                    TmpConnection.this::coreWakeup, true);
            state = State.ESTABLISHED;
            qosAt = now;
            nextQos = now + dgram.qosInterval().toNanos();
            if (initiator) {
                helloPending = false;
            } else {
                queueHello();
            }
            log.info("TMP link (udp) {} {} established ({} congestion control, {})", initiator ? "to" : "from", nodeName,
                    recovery.controller().name(), security != null ? "encrypted" : "PLAIN TEXT");
            events.established(TmpConnection.this);
        }

        private LinkCore core() throws TmpProtocolException {
            elicitingInPacket = true;
            if (core == null) {
                throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "frames before HELLO");
            }
            return core;
        }

        @Override
        public void streamOpen(long streamId, int ring, int flags, String clientClass) throws TmpProtocolException {
            core().streamOpen(streamId, ring, flags, clientClass);
        }

        @Override
        public void data(long streamId, long offset, ByteBuf payload, boolean fin) throws TmpProtocolException {
            if (core == null) {
                payload.release();
            }
            core().data(streamId, offset, payload, fin);
        }

        @Override
        public void reset(long streamId, ResetCode code, String reason) throws TmpProtocolException {
            core().reset(streamId, code, reason);
        }

        @Override
        public void maxStreamData(long streamId, long maxOffset) throws TmpProtocolException {
            core().maxStreamData(streamId, maxOffset);
        }

        @Override
        public void maxData(long maxOffset) throws TmpProtocolException {
            core().maxData(maxOffset);
        }

        @Override
        public void ping(long opaque, boolean ack) throws TmpProtocolException {
            elicitingInPacket = true;
        }

        @Override
        public void goaway(long lastStreamId, ResetCode code, String reason) throws TmpProtocolException {
            core().goaway(lastStreamId, code, reason);
        }

        @Override
        public void ack(AckRanges ranges, long ackDelayMicros) throws TmpProtocolException {
            if (!recovery.onAck(now, ranges, Math.min(ackDelayMicros, 1_000_000L) * 1000)) {
                throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "ACK of packet " + ranges.largest()
                        + ", never sent");
            }
        }

        @Override
        public void qos(QosReport report) {
            peerQos = report;
        }

        @Override
        public void resetToken(byte[] token) {
            elicitingInPacket = true;
            peerResetToken = token;
        }

        @Override
        public void close(ResetCode code, String reason) {
            closeLocally(code, "peer closed the link: " + code + ": " + reason, false);
        }
    };

    private void coreWakeup() {
        wakeup.run();
    }

    // ------------------------------------------------------------------ sending

    private boolean hasElicitingWork() {
        if (state == State.HANDSHAKE) {
            return helloPending;
        }
        return helloPending || pingPending || recovery.probesToSend() > 0 || core.hasOutput();
    }

    @Override
    public ByteBuf poll(long nowNanos, ByteBufAllocator alloc) {
        now = Math.max(now, nowNanos);
        pacingBlockedUntil = Long.MAX_VALUE;
        if (pendingVersionNegotiation >= 0) {
            pendingVersionNegotiation = -1;
            ByteBuf out = alloc.directBuffer(PacketHeader.LONG_HEADER_BYTES + 4 * SUPPORTED_VERSIONS.length);
            out.writeByte(PacketHeader.FLAG_LONG | PacketHeader.FLAG_FIXED | PacketHeader.TYPE_VERSION_NEGOTIATION);
            out.writeInt(0);
            out.writeLong(vnDcid);
            out.writeLong(vnScid);
            for (int v : SUPPORTED_VERSIONS) {
                out.writeInt(v);
            }
            return out;
        }
        if (state == State.CLOSED) {
            if (closeFrame == null || security != null && protection == null) {
                closeFrame = null; // without keys the peer could not read it
                return null;
            }
            ByteBuf out = alloc.directBuffer(PacketHeader.LONG_HEADER_BYTES + closeFrame.length + tagBytes);
            long pn = recovery.nextPacketNumber();
            writeHeader(out, pn);
            out.writeBytes(closeFrame);
            closeFrame = null;
            seal(out, pn);
            return out;
        }
        if (handshakeMessagePending) {
            return handshakePacket(alloc);
        }
        if (!initiator && !peerKnown || security != null && protection == null) {
            return null;
        }
        boolean ackDue = ackPending && (ackNow || now >= ackDeadline);
        boolean qosDue = state == State.ESTABLISHED && now >= nextQos;
        boolean eliciting = false;
        if (hasElicitingWork()) {
            if (recovery.windowAllows(maxDatagram)) {
                long release = recovery.probesToSend() > 0 ? now
                        : pacer.releaseTime(now, pacingRate(), maxDatagram);
                if (release <= now) {
                    eliciting = true;
                } else {
                    pacingBlockedUntil = release;
                }
            }
        } else if (state == State.ESTABLISHED) {
            recovery.markAppLimited();
        }
        if (!eliciting && !ackDue && !qosDue) {
            return null;
        }
        ByteBuf out = alloc.directBuffer(maxDatagram);
        long pn = recovery.nextPacketNumber();
        writeHeader(out, pn);
        int frameStart = out.writerIndex();
        long ackLargest = -1;
        if (ackPending && !received.isEmpty()) {
            long delayMicros = (now - largestReceivedTime) / 1000;
            Frames.writeAck(out, received, delayMicros, ACK_RANGES);
            ackLargest = received.largest();
            ackPending = false;
            ackNow = false;
            ackDeadline = Long.MAX_VALUE;
            unackedEliciting = 0;
        }
        if (qosDue) {
            updateLocalQos();
            Frames.writeQos(out, localQos);
            nextQos = now + dgram.qosInterval().toNanos();
        }
        List<SentFrame> frames = List.of();
        boolean wroteEliciting = false;
        int coreBytes = 0;
        if (eliciting) {
            if (helloPending && hello != null) {
                out.writeBytes(hello);
                helloPending = false;
                wroteEliciting = true;
            }
            if (state == State.ESTABLISHED) {
                frames = new ArrayList<>(4);
                int room = settings.packetBytes() - (out.writerIndex() - frameStart);
                coreBytes = room > Frames.MAX_DATA_HEADER_BYTES + 16 ? core.writePacket(out, room, frames) : 0;
                if (coreBytes > 0) {
                    wroteEliciting = true;
                }
            }
            if (!wroteEliciting && (pingPending || recovery.probesToSend() > 0)) {
                Frames.writePing(out, random.nextLong(), false);
                // Long enough to be answered with a stateless reset (always shorter than what it answers),
                // should the peer have restarted: a probe is what reaches a peer that lost the link.
                int datagram = out.writerIndex() - out.readerIndex() + tagBytes;
                if (datagram < PROBE_BYTES) {
                    Frames.writePadding(out, PROBE_BYTES - datagram);
                }
                wroteEliciting = true;
            }
            pingPending = false;
        }
        if (out.writerIndex() == frameStart) {
            out.release();
            return null;
        }
        if (core != null) {
            core.countSent(out.writerIndex() - frameStart - coreBytes); // ACK, QOS, PING, HELLO
        }
        seal(out, pn);
        int bytes = out.readableBytes();
        recovery.onPacketSent(now, bytes, wroteEliciting, frames, wroteEliciting ? ackLargest : -1);
        if (wroteEliciting) {
            pacer.onSent(now, pacingRate(), bytes);
        }
        lastSend = now;
        return out;
    }

    /** The controller's pacing rate, under the operator's cap ({@link LinkSettings#maxSendBytesPerSecond()}). */
    private double pacingRate() {
        double rate = recovery.pacingRate();
        long cap = settings.maxSendBytesPerSecond();
        return cap > 0 ? Math.min(rate, cap) : rate;
    }

    /** Encrypted link: seals the packet just written (header as associated data), appending the tag. */
    private void seal(ByteBuf out, long pn) {
        if (protection != null) {
            protection.seal(out, out.readerIndex(), PacketHeader.SHORT_HEADER_BYTES, pn);
        }
    }

    /** The handshake message due: the client's INITIAL (with its token), or the server's HANDSHAKE. */
    private ByteBuf handshakePacket(ByteBufAllocator alloc) {
        handshakeMessagePending = false;
        ByteBuf out = alloc.directBuffer(PacketHeader.LONG_HEADER_BYTES + PacketHeader.TOKEN_LENGTH_BYTES
                + retryToken.length + handshakeMessage.length);
        if (initiator) {
            PacketHeader.writeLong(out, PacketHeader.TYPE_INITIAL, version, initialDcid, localCid, 0);
            out.writeShort(retryToken.length);
            out.writeBytes(retryToken);
            handshakeResendAt = now + handshakeResendInterval;
            handshakeResendInterval *= 2;
        } else {
            PacketHeader.writeLong(out, PacketHeader.TYPE_HANDSHAKE, version, peerCid, localCid, 0);
        }
        out.writeBytes(handshakeMessage);
        lastSend = now;
        return out;
    }

    private void writeHeader(ByteBuf out, long pn) {
        if (protection != null) {
            long phase = protection.sendPhase();
            PacketHeader.writeShort(out, peerCid, pn, protection.sendKeyPhase(now, pn, recovery.largestAcked()));
            if (protection.sendPhase() != phase) {
                security.countKeyUpdate();
            }
            return;
        }
        boolean longHeader = state == State.HANDSHAKE || helloPending;
        if (longHeader) {
            PacketHeader.writeLong(out, PacketHeader.TYPE_INITIAL, version, peerCid, localCid, pn);
        } else {
            PacketHeader.writeShort(out, peerCid, pn);
        }
    }

    private void updateLocalQos() {
        long lost = recovery.packetsLost() - qosLost;
        long acked = recovery.packetsAcked() - qosAcked;
        long delivered = recovery.delivered() - qosDelivered;
        long elapsed = Math.max(1, now - qosAt);
        RttEstimator rtt = recovery.rtt;
        localQos = new QosReport(lost + acked == 0 ? 0 : (double) lost / (lost + acked),
                rtt.hasSample() ? Math.max(1, rtt.smoothed() / 1000) : 0, rtt.variance() / 1000,
                rtt.hasSample() ? rtt.min() / 1000 : 0, (long) (delivered * 1e9 / elapsed), recovery.hostedStreams());
        publishedLocalQos = localQos;
        qosLost = recovery.packetsLost();
        qosAcked = recovery.packetsAcked();
        qosDelivered = recovery.delivered();
        qosAt = now;
    }

    // ------------------------------------------------------------------ timers

    @Override
    public long nextTimeoutNanos() {
        if (pendingVersionNegotiation >= 0) {
            return now;
        }
        if (state == State.CLOSED) {
            return closeFrame != null ? now : Long.MAX_VALUE;
        }
        if (handshakeMessagePending) {
            return now;
        }
        long t = state == State.HANDSHAKE ? handshakeDeadline : lastReceive + settings.idleTimeout().toNanos();
        long deadPeer = recovery.deadPeerDeadline(dgram.deadPeerTimeout().toNanos());
        if (state == State.ESTABLISHED && deadPeer > now) {
            // Once past it, each probe timeout checks again, until enough of them expired.
            t = Math.min(t, deadPeer);
        }
        if (noise != null) {
            t = Math.min(t, handshakeResendAt);
        }
        t = Math.min(t, recovery.lossDetectionTimer());
        if (ackPending) {
            t = Math.min(t, ackNow ? now : ackDeadline);
        }
        if (pacingBlockedUntil != Long.MAX_VALUE) {
            t = Math.min(t, pacingBlockedUntil);
        }
        if (state == State.ESTABLISHED) {
            t = Math.min(t, nextQos);
            if (!pingPending) {
                // A pending PING waits for the window or the pacer, whose own deadlines wake it.
                t = Math.min(t, lastSend + settings.keepalive().toNanos());
                if (core != null && core.activeStreams() > 0) {
                    t = Math.min(t, Math.max(lastSend, lastReceive) + BUSY_PROBE_NANOS);
                }
                if (protection != null && recovery.bytesInFlight() == 0) {
                    long due = protection.updateDueNanos();
                    if (due > now) {
                        t = Math.min(t, due);
                    } else if (protection.updateWaitsForAck(now, recovery.largestAcked())) {
                        t = now; // onTimeout asks for a PING
                    }
                }
            }
        }
        return t;
    }

    @Override
    public void onTimeout(long nowNanos) {
        now = Math.max(now, nowNanos);
        if (state == State.CLOSED) {
            return;
        }
        if (state == State.HANDSHAKE && now >= handshakeDeadline) {
            closeLocally(ResetCode.TIMEOUT, "no handshake within "
                    + (initiator ? dgram.handshakeTimeout() : settings.handshakeTimeout()).toMillis() + " ms", false);
            return;
        }
        if (state == State.ESTABLISHED && now - lastReceive >= settings.idleTimeout().toNanos()) {
            closeLocally(ResetCode.TIMEOUT, "nothing received for " + settings.idleTimeout().toMillis() + " ms", true);
            return;
        }
        if (noise != null && now >= handshakeResendAt) {
            handshakeMessagePending = true; // no answer to message 1 yet
        }
        if (now >= recovery.lossDetectionTimer()) {
            recovery.onLossDetectionTimeout(now);
            if (recovery.probesToSend() > 0 && initiator && state == State.HANDSHAKE) {
                helloPending = true; // nothing was acknowledged: the HELLO itself is the probe
            }
        }
        if (state == State.ESTABLISHED && recovery.peerSeemsDead(now, dgram.deadPeerTimeout().toNanos())) {
            closeLocally(ResetCode.LINK_LOST, "no acknowledgement for " + dgram.deadPeerTimeout().toMillis()
                    + " ms with data in flight (" + recovery.ptoCount() + " probe timeouts): peer unreachable", true);
            return;
        }
        if (state == State.ESTABLISHED && now - lastSend >= settings.keepalive().toNanos()) {
            pingPending = true;
        }
        if (state == State.ESTABLISHED && core != null && core.activeStreams() > 0
                && now - Math.max(lastSend, lastReceive) >= BUSY_PROBE_NANOS) {
            pingPending = true; // streams wait on a silent link: ask the peer whether it is still there
        }
        if (state == State.ESTABLISHED && protection != null && recovery.bytesInFlight() == 0
                && protection.updateWaitsForAck(now, recovery.largestAcked())) {
            pingPending = true; // a quiet link: get one packet of this phase acknowledged, then update
        }
    }

    // ------------------------------------------------------------------ closing

    /**
     * Closes the link now: every open stream is reset with {@link ResetCode#LINK_LOST} and the reason,
     * and one CLOSE packet tells the peer (the next {@link #poll}). Idempotent.
     */
    public void close(ResetCode code, String reason) {
        closeLocally(code, reason, true);
    }

    private void closeLocally(ResetCode code, String reason, boolean tellPeer) {
        if (state == State.CLOSED) {
            return;
        }
        boolean wasEstablished = state == State.ESTABLISHED;
        state = State.CLOSED;
        closeReason = reason;
        if (tellPeer && (peerKnown || initiator)) {
            ByteBuf b = io.netty.buffer.Unpooled.buffer(64);
            Frames.writeClose(b, code, reason);
            closeFrame = new byte[b.readableBytes()];
            b.readBytes(closeFrame);
        }
        if (core != null) {
            core.close(reason);
        }
        recovery.abandon();
        if (wasEstablished) {
            log.info("TMP link (udp) {} {} closed: {}", initiator ? "to" : "from", peerLabel(), reason);
        }
        events.closed(this, reason);
        wakeup.run();
    }

    private final class RecoveryEvents implements Recovery.Listener {
        @Override
        public void framesAcked(List<SentFrame> frames) {
            if (core != null) {
                core.framesAcked(frames);
            } else {
                frames.forEach(SentFrame::release);
            }
        }

        @Override
        public void framesLost(List<SentFrame> frames) {
            if (core != null) {
                core.framesLost(frames);
            } else {
                frames.forEach(SentFrame::release);
            }
        }

        @Override
        public void ackAcknowledged(long largest) {
            // The peer has our ACK up to `largest`: older ranges need not be repeated, and packets
            // below it are too old to matter (their frames were handled or are retransmitted anew).
            received.removeBelow(largest);
            minAcceptedPn = Math.max(minAcceptedPn, largest - STALE_PACKETS);
        }

        @Override
        public int roundStreams() {
            return core == null ? 0 : core.takeRoundStreams();
        }
    }

    @Override
    public String toString() {
        return "TMP connection (udp) " + (initiator ? "to " : "from ") + peerLabel() + " [" + state + "]";
    }
}
