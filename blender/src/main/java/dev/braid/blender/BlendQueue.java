package dev.braid.blender;

import io.netty.buffer.ByteBuf;

import java.util.ArrayDeque;

/**
 * The connection buffer of one TMP stream: bytes queued for sending, in the ring of the stream's
 * client class. A queue is ready when it holds bytes its flow-control credit allows it to send,
 * or only an end of stream to signal. Confined to the link's event loop, like its {@link Blender}.
 *
 * <p>Ownership: {@link #enqueue} takes over the caller's reference; the queue releases what it
 * holds when its bytes have all been handed out as sub-packets or on {@link #close()}.
 */
public final class BlendQueue {

    final Blender blender;
    final long streamId;
    int ring;
    final ArrayDeque<ByteBuf> chunks = new ArrayDeque<>();
    long queuedBytes;
    /** Stream offset of the next byte to hand out. */
    long sendOffset;
    /** Flow-control limit: bytes at offsets below it may be sent. */
    long creditLimit = Long.MAX_VALUE;
    boolean finQueued;
    boolean finSent;
    boolean closed;
    /** Whether the queue is linked into its ring's ready list. */
    boolean inReadyList;
    BlendQueue prevReady;
    BlendQueue nextReady;
    private Object attachment;

    BlendQueue(Blender blender, long streamId, int ring) {
        this.blender = blender;
        this.streamId = streamId;
        this.ring = ring;
    }

    public long streamId() {
        return streamId;
    }

    public int ring() {
        return ring;
    }

    /** Bytes queued and not yet handed out. */
    public long queuedBytes() {
        return queuedBytes;
    }

    /** Stream offset of the next byte to be handed out (bytes handed out so far). */
    public long sendOffset() {
        return sendOffset;
    }

    public long creditLimit() {
        return creditLimit;
    }

    public boolean isClosed() {
        return closed;
    }

    /** Whether the end of stream has been handed out. */
    public boolean finSent() {
        return finSent;
    }

    /** Arbitrary state of the owner (the link's stream). */
    public Object attachment() {
        return attachment;
    }

    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    /** Whether the blender could take a sub-packet from this queue now. */
    public boolean isReady() {
        if (closed || finSent) {
            return false;
        }
        if (queuedBytes > 0) {
            return sendOffset < creditLimit;
        }
        return finQueued;
    }

    /**
     * Queues bytes at the end of the stream. Takes ownership of {@code data}.
     *
     * @throws IllegalStateException after {@link #finish()} or {@link #close()} (the buffer is released)
     */
    public void enqueue(ByteBuf data) {
        if (closed || finQueued) {
            data.release();
            throw new IllegalStateException("stream " + streamId + ": enqueue after "
                    + (closed ? "close" : "finish"));
        }
        int n = data.readableBytes();
        if (n == 0) {
            data.release();
            return;
        }
        chunks.addLast(data);
        queuedBytes += n;
        blender.onQueued(this, n);
    }

    /** Marks the end of the stream after the bytes queued so far. */
    public void finish() {
        if (closed || finQueued) {
            return;
        }
        finQueued = true;
        blender.onReadinessMaybeChanged(this);
    }

    /**
     * Sets the flow-control limit: the peer allows bytes at stream offsets below {@code maxOffset}.
     * Limits only grow; a smaller value is ignored.
     */
    public void creditLimit(long maxOffset) {
        if (maxOffset > creditLimit || creditLimit == Long.MAX_VALUE && maxOffset != Long.MAX_VALUE) {
            creditLimit = maxOffset;
            blender.onReadinessMaybeChanged(this);
        }
    }

    /** Moves the stream to another ring (its class changed) without losing or reordering its bytes. */
    public void moveToRing(int newRing) {
        blender.move(this, newRing);
    }

    /** Removes the queue from its ring and releases every byte it still holds. Idempotent. */
    public void close() {
        if (closed) {
            return;
        }
        blender.remove(this);
        closed = true;
        ByteBuf b;
        while ((b = chunks.pollFirst()) != null) {
            b.release();
        }
        queuedBytes = 0;
    }

    /** Takes up to {@code max} bytes from the head as a retained slice, releasing consumed chunks. */
    ByteBuf take(int max, io.netty.buffer.ByteBufAllocator alloc) {
        ByteBuf head = chunks.peekFirst();
        int n = Math.min(max, head.readableBytes());
        ByteBuf slice = head.readRetainedSlice(n);
        if (!head.isReadable()) {
            chunks.pollFirst().release();
        }
        queuedBytes -= n;
        sendOffset += n;
        return slice;
    }
}
