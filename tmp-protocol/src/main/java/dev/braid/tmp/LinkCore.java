package dev.braid.tmp;

import dev.braid.blender.BlendQueue;
import dev.braid.blender.Blender;
import dev.braid.blender.BlenderSettings;
import io.netty.buffer.ByteBuf;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.collection.LongObjectMap;
import io.netty.util.concurrent.EventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The carrier-independent heart of a TMP link: the stream table, per-stream and per-link flow
 * control, the blender that orders outgoing data by priority, and the frame logic. It does no I/O:
 * a carrier feeds it received packets ({@link #receive}) and pulls packets to send
 * ({@link #writePacket}) whenever its window or socket allows, after {@link #wakeup} tells it
 * there is something. Confined to the link's event loop.
 *
 * <p>Stream ids: streams opened by the side that initiated the link are even, the others odd.
 */
public final class LinkCore implements Frames.Visitor {

    private static final Logger log = LoggerFactory.getLogger(LinkCore.class);

    /** What the link tells its owner. */
    public interface Listener {
        /** The peer opened a stream; the returned handler receives its events. Return null to refuse it. */
        TmpStreamHandler onStreamOpened(TmpStream stream);

        /** The peer sent GOAWAY: no new streams should be opened on this link. */
        default void onGoaway(ResetCode code, String reason) {
        }
    }

    private final EventExecutor executor;
    private final LinkSettings settings;
    private final boolean initiator;
    private final String peerName;
    private final Listener listener;
    private final Runnable wakeup;
    private final Blender blender;
    private final LongObjectMap<TmpStream> streams = new LongObjectHashMap<>();
    private final ArrayDeque<byte[]> control = new ArrayDeque<>();
    /** Datagram carriers: stream data of lost packets, re-sent at its offsets ahead of new data. */
    private final ArrayDeque<SentFrame> retransmit = new ArrayDeque<>();
    /** Datagram carriers: whether frames may arrive out of order, duplicated or lost (and are recorded per packet). */
    private final boolean datagram;
    /** Rounds for counting hosted streams: streams that sent in the current round. */
    private long round;
    private int roundStreams;
    private List<SentFrame> record;
    private long compressedSaved;
    private final List<TmpStream> writableNotices = new ArrayList<>();

    private long nextLocalStreamId;
    private long highestPeerStreamId = -1;

    // Link-level flow control.
    private long sendMax;
    private long sent;
    private final long peerStreamWindow;
    private long recvMax;
    private long recvTotal;
    private long recvConsumed;

    private boolean closed;
    private boolean goawayReceived;
    private long bytesSent;
    private long bytesReceived;
    /** Stream payload bytes sent per ring: what the blender gave each priority. */
    private long[] sentByRing = new long[8];

    /** Encodes one control frame at a time; wraps an array, so it needs no release. */
    private final ByteBuf scratchControl = io.netty.buffer.Unpooled.wrappedBuffer(new byte[4096]).clear();
    private ByteBuf packetOut;

    public LinkCore(EventExecutor executor, LinkSettings settings, boolean initiator, String peerName,
                    long peerMaxData, long peerStreamWindow, Listener listener, Runnable wakeup) {
        this(executor, settings, initiator, peerName, peerMaxData, peerStreamWindow, listener, wakeup, false);
    }

    /**
     * @param datagram true for a carrier that loses, duplicates and reorders packets (UDP): frames
     *                 are then recorded per packet for retransmission, streams open implicitly when
     *                 their data overtakes their STREAM_OPEN, and duplicates are ignored
     */
    public LinkCore(EventExecutor executor, LinkSettings settings, boolean initiator, String peerName,
                    long peerMaxData, long peerStreamWindow, Listener listener, Runnable wakeup, boolean datagram) {
        this.datagram = datagram;
        this.executor = executor;
        this.settings = settings;
        this.initiator = initiator;
        this.peerName = peerName;
        this.listener = listener;
        this.wakeup = wakeup;
        this.blender = new Blender(settings.blender());
        this.nextLocalStreamId = initiator ? 0 : 1;
        this.sendMax = peerMaxData;
        this.peerStreamWindow = peerStreamWindow;
        this.recvMax = settings.linkWindowBytes();
    }

    public EventExecutor executor() {
        return executor;
    }

    public LinkSettings settings() {
        return settings;
    }

    public String peerName() {
        return peerName;
    }

    public boolean isClosed() {
        return closed;
    }

    /** Whether the peer asked for no new streams. */
    public boolean goawayReceived() {
        return goawayReceived;
    }

    public int activeStreams() {
        return streams.size();
    }

    public long bytesSent() {
        return bytesSent;
    }

    public long bytesReceived() {
        return bytesReceived;
    }

    /** Stream payload bytes sent so far per ring, ring 0 first (a copy). */
    public long[] sentBytesByRing() {
        return java.util.Arrays.copyOf(sentByRing, Math.max(blender.rings(), 1));
    }

    public Blender blender() {
        return blender;
    }

    /** Applies new blender weights live; queued data keeps its order. */
    public void updateBlender(BlenderSettings newSettings) {
        run(() -> blender.update(newSettings));
    }

    void run(Runnable task) {
        if (executor.inEventLoop()) {
            task.run();
        } else {
            executor.execute(task);
        }
    }

    /**
     * Opens a stream at the given priority. Thread-safe; the stream's id is assigned on the link's
     * loop. If the link is closed by then, the handler gets {@link ResetCode#LINK_LOST}.
     */
    public TmpStream openStream(int ring, String clientClass, boolean compressible, TmpStreamHandler handler) {
        TmpStream s = new TmpStream(this, ring, clientClass, compressible, handler, true);
        run(() -> {
            if (closed || goawayReceived) {
                s.finished = true;
                handler.onReset(s, closed ? ResetCode.LINK_LOST : ResetCode.REFUSED,
                        closed ? "link to " + peerName + " is closed" : "link to " + peerName + " is going away");
                return;
            }
            s.id = nextLocalStreamId;
            nextLocalStreamId += 2;
            register(s);
            scratchControl.clear();
            Frames.writeStreamOpen(scratchControl, s.id, ring, compressible ? Frames.FLAG_COMPRESSIBLE : 0,
                    clientClass);
            queueControl();
        });
        return s;
    }

    private void register(TmpStream s) {
        s.sendQueue = blender.open(s.id, s.ring(), peerStreamWindow);
        s.sendQueue.attach(s);
        s.recvAdvertised = settings.streamWindowBytes();
        streams.put(s.id, s);
    }

    void write(TmpStream s, ByteBuf data, boolean end) {
        if (s.finished || s.localEnded || closed) {
            if (data != null) {
                s.drained(data.readableBytes());
                data.release();
            }
            return;
        }
        if (data != null) {
            s.sendQueue.enqueue(data);
        }
        if (end) {
            s.localEnded = true;
            s.sendQueue.finish();
        }
        if (s.sendQueue.isReady()) {
            wakeup.run();
        }
    }

    void resetLocally(TmpStream s, ResetCode code, String reason) {
        if (s.finished) {
            return;
        }
        if (s.id >= 0 && !closed) {
            scratchControl.clear();
            Frames.writeReset(scratchControl, s.id, code, reason);
            queueControl();
        }
        finish(s);
    }

    void consumed(TmpStream s, int bytes) {
        if (closed) {
            return;
        }
        returnLinkCredit(bytes);
        if (s.finished || s.recvDone) {
            return;
        }
        s.recvConsumed += bytes;
        long window = settings.streamWindowBytes();
        if (s.recvAdvertised - s.recvConsumed < window / 2) {
            s.recvAdvertised = s.recvConsumed + window;
            scratchControl.clear();
            Frames.writeMaxStreamData(scratchControl, s.id, s.recvAdvertised);
            queueControl();
        }
    }

    private void returnLinkCredit(long bytes) {
        recvConsumed += bytes;
        long window = settings.linkWindowBytes();
        if (recvMax - recvConsumed < window / 2) {
            recvMax = recvConsumed + window;
            scratchControl.clear();
            Frames.writeMaxData(scratchControl, recvMax);
            queueControl();
        }
    }

    /** Queues a PING; the carrier's keepalive calls it when the link has been quiet. */
    public void ping(long opaque) {
        if (closed) {
            return;
        }
        scratchControl.clear();
        Frames.writePing(scratchControl, opaque, false);
        queueControl();
    }

    /** Queues a GOAWAY: the peer should open no new streams; existing ones finish. */
    public void goaway(ResetCode code, String reason) {
        if (closed) {
            return;
        }
        scratchControl.clear();
        Frames.writeGoaway(scratchControl, highestPeerStreamId + 1, code, reason);
        queueControl();
    }

    private void queueControl() {
        byte[] frame = new byte[scratchControl.readableBytes()];
        scratchControl.readBytes(frame);
        control.add(frame);
        wakeup.run();
    }

    /** Whether {@link #writePacket} would write anything. */
    public boolean hasOutput() {
        return !closed && (!control.isEmpty() || !retransmit.isEmpty() || (blender.hasReady() && sent < sendMax));
    }

    /** Bytes saved by LZ4 on DATA frames sent so far. */
    public long compressionSavedBytes() {
        return compressedSaved;
    }

    /**
     * Ends a round for counting hosted streams and returns the streams that had data in it: those
     * that sent stream data (new or re-sent) during the round, or at least those ready in the
     * blender now (with data and credit), whichever is more.
     */
    public int takeRoundStreams() {
        int ready = 0;
        for (int r = 0; r < blender.rings(); r++) {
            ready += blender.ready(r);
        }
        int n = Math.max(roundStreams, ready);
        roundStreams = 0;
        round++;
        return n;
    }

    /**
     * Datagram carriers: like {@link #writePacket(ByteBuf, int)}, and adds to {@code frames} a
     * record of every retransmittable frame written, which then owns the data it holds until
     * {@link #framesAcked} or {@link #framesLost}.
     */
    public int writePacket(ByteBuf out, int packetBytes, List<SentFrame> frames) {
        record = frames;
        try {
            return writePacket(out, packetBytes);
        } finally {
            record = null;
        }
    }

    /** The packet carrying these frames was acknowledged: they need nothing more. */
    public void framesAcked(List<SentFrame> frames) {
        for (SentFrame f : frames) {
            f.release();
        }
    }

    /**
     * The packet carrying these frames was declared lost: stream data is queued for re-sending at
     * its original offsets unless its stream was reset; control frames are re-queued, credit updates
     * with their current values.
     */
    public void framesLost(List<SentFrame> frames) {
        boolean any = false;
        for (SentFrame f : frames) {
            if (closed) {
                f.release();
                continue;
            }
            switch (f.type) {
                case Frames.DATA -> {
                    if (f.stream.aborted) {
                        f.release();
                    } else {
                        retransmit.add(f);
                        any = true;
                    }
                }
                case Frames.MAX_DATA -> {
                    scratchControl.clear();
                    Frames.writeMaxData(scratchControl, recvMax);
                    queueControl();
                }
                case Frames.MAX_STREAM_DATA -> {
                    TmpStream s = streams.get(f.streamId);
                    if (s != null && !s.finished && !s.recvDone) {
                        scratchControl.clear();
                        Frames.writeMaxStreamData(scratchControl, s.id, s.recvAdvertised);
                        queueControl();
                    }
                }
                default -> {
                    control.addFirst(f.encoded);
                    any = true;
                }
            }
        }
        if (any) {
            wakeup.run();
        }
    }

    /**
     * Writes the frames of one packet into {@code out}: control frames first, then sub-packets as
     * the blender orders them, at most {@code packetBytes} in all (a control frame larger than that
     * travels alone). Returns the bytes written, 0 when there was nothing to send.
     */
    public int writePacket(ByteBuf out, int packetBytes) {
        if (closed) {
            return 0;
        }
        int start = out.writerIndex();
        while (!control.isEmpty()) {
            byte[] frame = control.peek();
            int used = out.writerIndex() - start;
            if (used > 0 && used + frame.length > packetBytes) {
                break;
            }
            out.writeBytes(control.poll());
            if (record != null) {
                recordControl(frame);
            }
        }
        packetOut = out;
        while (!retransmit.isEmpty()) {
            int room = packetBytes - (out.writerIndex() - start) - Frames.MAX_DATA_HEADER_BYTES;
            SentFrame f = retransmit.peek();
            if (room <= 0 || room < f.dataBytes() && room < 64) {
                break;
            }
            retransmit.poll();
            if (f.stream.aborted) {
                f.release();
                continue;
            }
            if (f.dataBytes() > room) {
                // Split at the packet's end: the rest keeps its place at the head of the queue.
                ByteBuf head = f.data.readRetainedSlice(room);
                SentFrame rest = SentFrame.data(f.stream, f.offset + room, f.data, f.fin);
                f.data = null;
                retransmit.addFirst(rest);
                writeDataFrame(f.stream, f.offset, head, false);
            } else {
                ByteBuf d = f.data;
                f.data = null;
                writeDataFrame(f.stream, f.offset, d, f.fin);
            }
        }
        int room = packetBytes - (out.writerIndex() - start);
        if (room > Frames.MAX_DATA_HEADER_BYTES && sent < sendMax) {
            packetOut = out;
            try {
                blender.nextPacket(room, sendMax - sent, Frames.MAX_DATA_HEADER_BYTES, this::writeSubPacket);
            } finally {
                packetOut = null;
            }
            fireWritable();
        }
        int written = out.writerIndex() - start;
        bytesSent += written;
        return written;
    }

    private void recordControl(byte[] frame) {
        int type = frame[0] & 0xFF;
        switch (type) {
            case Frames.PING, Frames.PING_ACK -> {
                // Keepalives are not worth re-sending: the next one follows.
            }
            case Frames.MAX_DATA -> record.add(SentFrame.maxData());
            case Frames.MAX_STREAM_DATA -> {
                try {
                    record.add(SentFrame.maxStreamData(VarInt.read(io.netty.buffer.Unpooled.wrappedBuffer(frame, 1,
                            frame.length - 1))));
                } catch (TmpProtocolException e) {
                    throw new IllegalStateException("own MAX_STREAM_DATA frame unreadable", e);
                }
            }
            default -> record.add(SentFrame.control(frame));
        }
    }

    /**
     * Writes one DATA frame, LZ4-compressed when the stream is compressible and it saves enough, and
     * passes {@code data} on: to the packet's record on a datagram carrier, else releases it.
     */
    private void writeDataFrame(TmpStream s, long offset, ByteBuf data, boolean fin) {
        try {
            int n = data.readableBytes();
            int block = s.compressible() && settings.compression() ? Lz4Blocks.compress(data) : -1;
            if (block >= 0) {
                Frames.writeCompressedDataHeader(packetOut, s.id, offset, block, fin, n);
                packetOut.writeBytes(Lz4Blocks.lastBlock(), 0, block);
                compressedSaved += n - block;
            } else {
                Frames.writeDataHeader(packetOut, s.id, offset, n, fin);
                packetOut.writeBytes(data, data.readerIndex(), n);
            }
            if (s.activeRound != round) {
                s.activeRound = round;
                roundStreams++;
            }
            if (record != null) {
                record.add(SentFrame.data(s, offset, data, fin));
                data = null;
            }
        } finally {
            if (data != null) {
                data.release();
            }
        }
    }

    private void writeSubPacket(BlendQueue queue, long offset, ByteBuf data, boolean fin) {
        TmpStream s = (TmpStream) queue.attachment();
        int n = data.readableBytes();
        writeDataFrame(s, offset, data, fin);
        {
            sent += n;
            int ring = queue.ring();
            if (ring >= sentByRing.length) {
                sentByRing = java.util.Arrays.copyOf(sentByRing, ring + 1);
            }
            sentByRing[ring] += n;
            s.drained(n);
            if (s.notifyWritable) {
                writableNotices.add(s);
            }
            if (fin) {
                maybeComplete(s);
            }
        }
    }

    private void fireWritable() {
        if (writableNotices.isEmpty()) {
            return;
        }
        for (TmpStream s : writableNotices) {
            if (s.notifyWritable && !s.finished) {
                s.notifyWritable = false;
                try {
                    s.handler.onWritable(s);
                } catch (RuntimeException e) {
                    log.warn("{}: writability handler failed", s, e);
                }
            }
        }
        writableNotices.clear();
    }

    /**
     * Processes one received packet. Does not release it (DATA payloads handed on are retained slices).
     *
     * @throws TmpProtocolException when the peer broke the protocol; the carrier then closes the link
     */
    /** Datagram carriers decode packets themselves and count what reaches the core here. */
    void countReceived(int bytes) {
        bytesReceived += bytes;
    }

    /** Datagram carriers count the frames they write around the core's (ACK, QOS, PING) here. */
    void countSent(int bytes) {
        bytesSent += bytes;
    }

    public void receive(ByteBuf packet) throws TmpProtocolException {
        if (closed) {
            return;
        }
        bytesReceived += packet.readableBytes();
        Frames.decode(packet, this);
    }

    @Override
    public void hello(int version, int role, String nodeName, long maxData, long streamWindow)
            throws TmpProtocolException {
        throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "HELLO after the handshake");
    }

    @Override
    public void streamOpen(long streamId, int ring, int flags, String clientClass) throws TmpProtocolException {
        boolean peerParity = (streamId & 1) == (initiator ? 1 : 0);
        if (datagram && peerParity) {
            openEarly(streamId);
            TmpStream pending = streams.get(streamId);
            if (pending == null || pending.opened) {
                return; // closed already, refused, or a duplicate STREAM_OPEN
            }
            pending.opened = true;
            pending.setOpenAttributes(ring, clientClass, (flags & Frames.FLAG_COMPRESSIBLE) != 0);
            pending.sendQueue.moveToRing(ring);
            accept(pending);
            if (!pending.finished) {
                drainInOrder(pending);
            }
            return;
        }
        if (!peerParity || streamId <= highestPeerStreamId) {
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "STREAM_OPEN with id " + streamId
                    + " (expected: a new " + (initiator ? "odd" : "even") + " id above " + highestPeerStreamId + ")");
        }
        highestPeerStreamId = streamId;
        if (streams.size() >= settings.maxStreams()) {
            scratchControl.clear();
            Frames.writeReset(scratchControl, streamId, ResetCode.STREAM_LIMIT_ERROR,
                    "more than " + settings.maxStreams() + " concurrent streams");
            queueControl();
            return;
        }
        TmpStream s = new TmpStreamRef(this, ring, clientClass, (flags & Frames.FLAG_COMPRESSIBLE) != 0).stream;
        s.id = streamId;
        register(s);
        accept(s);
    }

    /**
     * Datagram carriers: frames of a peer stream may overtake its STREAM_OPEN, so any frame naming a
     * new peer stream opens it, and every lower peer id not yet seen, as pending (as QUIC opens
     * streams implicitly): its data is held, within its credit, until STREAM_OPEN says who it is.
     */
    private void openEarly(long streamId) throws TmpProtocolException {
        if (streamId <= highestPeerStreamId) {
            return;
        }
        long newStreams = (streamId - Math.max(highestPeerStreamId, -1)) / 2;
        if (newStreams > settings.maxStreams()) {
            throw new TmpProtocolException(ResetCode.STREAM_LIMIT_ERROR, "stream id " + streamId + " skips "
                    + newStreams + " streams (expected: at most " + settings.maxStreams() + ")");
        }
        long first = highestPeerStreamId < 0 ? (initiator ? 1 : 0) : highestPeerStreamId + 2;
        highestPeerStreamId = streamId;
        for (long id = first; id <= streamId; id += 2) {
            if (streams.size() >= settings.maxStreams()) {
                scratchControl.clear();
                Frames.writeReset(scratchControl, id, ResetCode.STREAM_LIMIT_ERROR,
                        "more than " + settings.maxStreams() + " concurrent streams");
                queueControl();
                continue;
            }
            TmpStream s = new TmpStreamRef(this, blender.rings() - 1, "", false).stream;
            s.id = id;
            s.opened = false;
            register(s);
        }
    }

    private void accept(TmpStream s) {
        long streamId = s.id;
        TmpStreamHandler h;
        try {
            h = listener.onStreamOpened(s);
        } catch (RuntimeException e) {
            log.warn("stream {} from {}: accepting failed", streamId, peerName, e);
            h = null;
        }
        if (h == null) {
            resetLocally(s, ResetCode.REFUSED, "stream refused by " + "the receiver");
            return;
        }
        ((DeferredHandler) s.handler).target = h;
    }

    @Override
    public void data(long streamId, long offset, ByteBuf payload, boolean fin) throws TmpProtocolException {
        if (datagram && (streamId & 1) == (initiator ? 1 : 0) && streamId > highestPeerStreamId) {
            try {
                openEarly(streamId);
            } catch (TmpProtocolException e) {
                payload.release();
                throw e;
            }
        }
        TmpStream s = streams.get(streamId);
        if (s == null) {
            payload.release();
            if (!isKnownClosed(streamId)) {
                throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "DATA for unknown stream " + streamId);
            }
            return;
        }
        int n = payload.readableBytes();
        long end = offset + n;
        if (end > s.recvAdvertised) {
            payload.release();
            throw new TmpProtocolException(ResetCode.FLOW_CONTROL_ERROR, "stream " + streamId + " sent up to offset "
                    + end + " beyond its credit " + s.recvAdvertised);
        }
        if (s.recvFinOffset >= 0 && end > s.recvFinOffset || fin && (end < s.recvHighest
                || s.recvFinOffset >= 0 && s.recvFinOffset != end)) {
            payload.release();
            throw new TmpProtocolException(ResetCode.PROTOCOL_ERROR, "stream " + streamId + " data beyond its end");
        }
        if (end > s.recvHighest) {
            long fresh = end - s.recvHighest;
            if (recvTotal + fresh > recvMax) {
                payload.release();
                throw new TmpProtocolException(ResetCode.FLOW_CONTROL_ERROR, "link credit exceeded: "
                        + (recvTotal + fresh) + " > " + recvMax);
            }
            recvTotal += fresh;
            s.recvHighest = end;
        }
        if (fin) {
            s.recvFinOffset = end;
        }
        if (s.finished || s.recvDone) {
            payload.release();
            return;
        }
        if (datagram && payload.isReadable()) {
            payload = s.gather(payload);
        }
        if (offset > s.recvDelivered || !s.opened) {
            if (s.outOfOrder == null) {
                s.outOfOrder = new TreeMap<>();
            }
            ByteBuf old = s.outOfOrder.get(offset);
            if (old != null && old.readableBytes() >= payload.readableBytes()) {
                payload.release(); // a duplicate: keep the longer copy
                return;
            }
            s.outOfOrder.put(offset, payload);
            if (old != null) {
                old.release();
            }
            return;
        }
        deliver(s, offset, payload);
        drainInOrder(s);
    }

    private void drainInOrder(TmpStream s) {
        while (s.outOfOrder != null && !s.outOfOrder.isEmpty() && !s.finished) {
            Map.Entry<Long, ByteBuf> next = s.outOfOrder.firstEntry();
            if (next.getKey() > s.recvDelivered) {
                break;
            }
            s.outOfOrder.pollFirstEntry();
            deliver(s, next.getKey(), next.getValue());
        }
        if (s.outOfOrder != null && s.outOfOrder.isEmpty()) {
            s.outOfOrder = null;
        }
    }

    /** Hands the in-order part of a segment to the handler, trimming bytes already delivered. */
    private void deliver(TmpStream s, long offset, ByteBuf payload) {
        long skip = s.recvDelivered - offset;
        if (skip > 0) {
            if (skip >= payload.readableBytes()) {
                boolean finNow = s.recvFinOffset >= 0 && s.recvDelivered == s.recvFinOffset && !s.recvDone;
                payload.release();
                if (!finNow) {
                    return;
                }
                payload = io.netty.buffer.Unpooled.EMPTY_BUFFER;
            } else {
                payload.skipBytes((int) skip);
            }
        }
        s.recvDelivered += payload.readableBytes();
        boolean fin = s.recvFinOffset >= 0 && s.recvDelivered == s.recvFinOffset;
        if (fin) {
            s.recvDone = true;
        }
        try {
            s.handler.onData(s, payload, fin);
        } catch (RuntimeException e) {
            log.warn("{}: data handler failed", s, e);
            resetLocally(s, ResetCode.INTERNAL_ERROR, "receiver failed: " + e);
            return;
        }
        if (fin) {
            maybeComplete(s);
        }
    }

    @Override
    public void reset(long streamId, ResetCode code, String reason) throws TmpProtocolException {
        if (datagram && (streamId & 1) == (initiator ? 1 : 0)) {
            openEarly(streamId);
        }
        TmpStream s = streams.get(streamId);
        if (s == null || s.finished) {
            return;
        }
        finish(s);
        try {
            s.handler.onReset(s, code, reason);
        } catch (RuntimeException e) {
            log.warn("{}: reset handler failed", s, e);
        }
    }

    @Override
    public void maxStreamData(long streamId, long maxOffset) throws TmpProtocolException {
        if (datagram && (streamId & 1) == (initiator ? 1 : 0)) {
            openEarly(streamId);
        }
        TmpStream s = streams.get(streamId);
        if (s != null && !s.finished) {
            s.sendQueue.creditLimit(maxOffset);
            if (s.sendQueue.isReady()) {
                wakeup.run();
            }
        }
    }

    @Override
    public void maxData(long maxOffset) {
        if (maxOffset > sendMax) {
            sendMax = maxOffset;
            if (blender.hasReady()) {
                wakeup.run();
            }
        }
    }

    @Override
    public void ping(long opaque, boolean ack) {
        if (!ack) {
            scratchControl.clear();
            Frames.writePing(scratchControl, opaque, true);
            queueControl();
        }
    }

    @Override
    public void goaway(long lastStreamId, ResetCode code, String reason) {
        goawayReceived = true;
        log.info("link to {}: peer is going away ({}: {})", peerName, code, reason);
        listener.onGoaway(code, reason);
    }

    private boolean isKnownClosed(long streamId) {
        boolean local = (streamId & 1) == (initiator ? 0 : 1);
        return local ? streamId < nextLocalStreamId : streamId <= highestPeerStreamId;
    }

    private void maybeComplete(TmpStream s) {
        if (!s.finished && s.recvDone && s.sendQueue.finSent()) {
            streams.remove(s.id);
            s.finished = true;
            s.sendQueue.close();
            s.releaseReceived();
        }
    }

    /** Ends a stream locally: stops sending, drops what is queued, returns unconsumed credit. */
    private void finish(TmpStream s) {
        if (s.finished) {
            return;
        }
        s.finished = true;
        s.aborted = true;
        if (s.id >= 0) {
            streams.remove(s.id);
        }
        if (s.sendQueue != null) {
            long dropped = s.sendQueue.queuedBytes();
            s.sendQueue.close();
            s.drained(dropped);
        }
        s.releaseReceived();
        long unconsumed = s.recvHighest - s.recvConsumed;
        if (unconsumed > 0 && !closed) {
            s.recvConsumed = s.recvHighest;
            returnLinkCredit(unconsumed);
        }
    }

    /**
     * The carrier is gone: every open stream is reset with {@link ResetCode#LINK_LOST} and the
     * reason, so no exchange is silently dropped. Idempotent.
     */
    public void close(String reason) {
        if (closed) {
            return;
        }
        closed = true;
        List<TmpStream> open = new ArrayList<>(streams.values());
        streams.clear();
        control.clear();
        while (!retransmit.isEmpty()) {
            retransmit.poll().release();
        }
        for (TmpStream s : open) {
            finish(s);
            try {
                s.handler.onReset(s, ResetCode.LINK_LOST, "link to " + peerName + " lost: " + reason);
            } catch (RuntimeException e) {
                log.warn("{}: reset handler failed", s, e);
            }
        }
    }

    /** Visits each open stream (for metrics and tests). */
    public void forEachStream(Consumer<TmpStream> action) {
        streams.values().forEach(action);
    }

    /** Lets a peer-opened stream exist before the application has chosen its handler. */
    private static final class DeferredHandler implements TmpStreamHandler {
        TmpStreamHandler target;

        @Override
        public void onData(TmpStream stream, ByteBuf data, boolean fin) {
            if (target == null) {
                data.release();
                return;
            }
            target.onData(stream, data, fin);
        }

        @Override
        public void onReset(TmpStream stream, ResetCode code, String reason) {
            if (target != null) {
                target.onReset(stream, code, reason);
            }
        }

        @Override
        public void onWritable(TmpStream stream) {
            if (target != null) {
                target.onWritable(stream);
            }
        }
    }

    private static final class TmpStreamRef {
        final TmpStream stream;

        TmpStreamRef(LinkCore core, int ring, String clientClass, boolean compressible) {
            this.stream = new TmpStream(core, ring, clientClass, compressible, new DeferredHandler(), false);
        }
    }
}
