package dev.braid.tmp;

import dev.braid.blender.BlendQueue;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.EventExecutor;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One stream of a TMP link: an ordered, flow-controlled byte exchange in each direction, sent at
 * the priority of its client class. By default one HTTP request and its response.
 *
 * <p>Public methods are thread-safe: called off the link's event loop they are handed over as
 * queued commands, so their effects keep the order of the calls. Events arrive at the stream's
 * {@link TmpStreamHandler} on the link's event loop.
 */
public final class TmpStream {

    private final LinkCore core;
    private volatile int ring;
    private volatile String clientClass;
    private volatile boolean compressible;
    final TmpStreamHandler handler;
    final boolean local;

    long id = -1;
    BlendQueue sendQueue;
    /** Bytes written by the application and not yet taken by the blender (any thread adds, the loop subtracts). */
    final AtomicLong pendingSend = new AtomicLong();
    private volatile boolean writable = true;
    boolean notifyWritable;

    // Receive side, confined to the link's loop.
    long recvDelivered;
    long recvHighest;
    long recvConsumed;
    long recvAdvertised;
    long recvFinOffset = -1;
    boolean recvDone;
    TreeMap<Long, ByteBuf> outOfOrder;

    boolean localEnded;
    boolean finished;
    /** Ended by a reset (either side) or a broken link: its lost data is not re-sent. */
    boolean aborted;
    /** False while a peer stream is known only from frames that overtook its STREAM_OPEN. */
    boolean opened = true;
    /** The hosted-streams round in which the stream last sent. */
    long activeRound = -1;

    TmpStream(LinkCore core, int ring, String clientClass, boolean compressible, TmpStreamHandler handler,
              boolean local) {
        this.core = core;
        this.ring = ring;
        this.clientClass = clientClass;
        this.compressible = compressible;
        this.handler = handler;
        this.local = local;
    }

    /** The stream's id on the link, or -1 until the link's event loop has opened it. */
    public long id() {
        return id;
    }

    /** Blender ring (0 is the highest priority). */
    public int ring() {
        return ring;
    }

    public String clientClass() {
        return clientClass;
    }

    /** Whether this side compresses what it sends on the stream (LZ4, per DATA frame, where it saves 10%). */
    public boolean compressible() {
        return compressible;
    }

    /**
     * Sets whether this side's bytes are worth compressing, e.g. once the response's Content-Type is
     * known. Takes effect for the next DATA frames.
     */
    public void compressible(boolean value) {
        this.compressible = value;
    }

    void setOpenAttributes(int ring, String clientClass, boolean compressible) {
        this.ring = ring;
        this.clientClass = clientClass;
        this.compressible = compressible;
    }

    /** The link's event loop, where the handler runs. */
    public EventExecutor executor() {
        return core.executor();
    }

    /** The name the peer node gave in its HELLO. */
    public String peerName() {
        return core.peerName();
    }

    /**
     * Whether the application should keep writing. False once more than the link's send high-water
     * mark is queued; {@link TmpStreamHandler#onWritable} follows when it drains below the low one.
     */
    public boolean isWritable() {
        return writable;
    }

    /** Queues bytes for sending. Takes ownership of {@code data}; after an end or reset it is released. */
    public void write(ByteBuf data) {
        int n = data.readableBytes();
        if (pendingSend.addAndGet(n) > core.settings().sendHighWaterBytes() && writable) {
            writable = false;
        }
        core.run(() -> core.write(this, data, false));
    }

    /** Queues bytes and the end of the stream. Takes ownership of {@code data}. */
    public void writeAndEnd(ByteBuf data) {
        pendingSend.addAndGet(data.readableBytes());
        core.run(() -> core.write(this, data, true));
    }

    /** Ends the sending direction after the bytes queued so far. */
    public void end() {
        core.run(() -> core.write(this, null, true));
    }

    /** Aborts the stream in both directions and tells the peer why. Idempotent. */
    public void reset(ResetCode code, String reason) {
        core.run(() -> core.resetLocally(this, code, reason));
    }

    /** Returns flow-control credit for {@code bytes} received bytes the application is done with. */
    public void consumed(int bytes) {
        if (bytes > 0) {
            core.run(() -> core.consumed(this, bytes));
        }
    }

    void drained(long n) {
        long left = pendingSend.addAndGet(-n);
        if (!writable && left <= core.settings().sendLowWaterBytes()) {
            writable = true;
            notifyWritable = true;
        }
    }

    /** Datagram carriers: received bytes are gathered here, so a held stream pins few buffers. */
    private io.netty.buffer.ByteBuf gatherChunk;
    private int gatherSize = 2048;

    /**
     * Copies a received payload (a slice of one datagram) into the stream's current gathering
     * chunk and returns a slice of it, releasing the datagram. Chunks grow from 2 KiB to 64 KiB as
     * the stream receives, so a bulk stream held by a slow application pins a 64 KiB buffer per
     * 64 KiB instead of one per datagram, and a small stream costs no more than its bytes.
     */
    io.netty.buffer.ByteBuf gather(io.netty.buffer.ByteBuf payload) {
        try {
            int n = payload.readableBytes();
            if (gatherChunk == null || gatherChunk.writableBytes() < n) {
                if (gatherChunk != null) {
                    gatherChunk.release();
                    gatherSize = Math.min(64 * 1024, gatherSize * 2);
                }
                gatherChunk = payload.alloc().buffer(Math.max(gatherSize, n), Math.max(gatherSize, n));
            }
            int at = gatherChunk.writerIndex();
            gatherChunk.writeBytes(payload, payload.readerIndex(), n);
            return gatherChunk.retainedSlice(at, n);
        } finally {
            payload.release();
        }
    }

    void releaseReceived() {
        if (gatherChunk != null) {
            gatherChunk.release();
            gatherChunk = null;
        }
        if (outOfOrder != null) {
            for (Map.Entry<Long, ByteBuf> e : outOfOrder.entrySet()) {
                e.getValue().release();
            }
            outOfOrder = null;
        }
    }

    @Override
    public String toString() {
        return "stream " + id + " (" + clientClass + ", ring " + ring + ") to " + core.peerName();
    }
}
