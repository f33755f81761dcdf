package dev.braid.blender;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

import java.util.ArrayDeque;

/**
 * The connection buffer of one TMP stream (the seed's "TCP connection buffer"): bytes queued for
 * sending, in the ring of the stream's client class. Created by {@link Blender#open}; confined to
 * the link's event loop, like its blender.
 *
 * <p>A queue is <em>ready</em> when it holds bytes its flow-control credit lets it send, or only an
 * end of stream left to signal. Only ready queues are linked into their ring's round robin, so a
 * queue without credit costs the blend loop nothing until {@link #creditLimit(long)} raises its limit.
 *
 * <p>Ownership: {@link #enqueue} takes over the caller's reference to the buffer, also when it
 * throws. The queue hands its bytes out as retained slices to the {@link SubPacketSink}, which then
 * owns them, and releases each queued buffer once all its bytes have been handed out or on
 * {@link #close()}. The owner of the stream must call {@link #close()} when the stream ends (after
 * the end of stream was sent, or on reset), so that the ring forgets the queue.
 */
public final class BlendQueue {

    final Blender blender;
    final long streamId;
    int ring;
    final ArrayDeque<ByteBuf> chunks = new ArrayDeque<>(4);
    long queuedBytes;
    long sendOffset;
    long creditLimit;
    boolean finQueued;
    boolean finSent;
    boolean closed;

    /** Whether the queue is linked into its ring's ready list (its round robin). */
    boolean inReadyList;
    BlendQueue prevReady;
    BlendQueue nextReady;
    /** Links of the ring's list of every open queue, used only when rings are merged or all closed. */
    BlendQueue prevMember;
    BlendQueue nextMember;
    private Object attachment;

    BlendQueue(Blender blender, long streamId, int ring, long creditLimit) {
        this.blender = blender;
        this.streamId = streamId;
        this.ring = ring;
        this.creditLimit = creditLimit;
    }

    public long streamId() {
        return streamId;
    }

    /** The ring the queue is in, 0 the highest priority. */
    public int ring() {
        return ring;
    }

    /** Bytes queued and not yet handed out. */
    public long queuedBytes() {
        return queuedBytes;
    }

    /** Stream offset of the next byte to be handed out, which is the number of bytes handed out so far. */
    public long sendOffset() {
        return sendOffset;
    }

    /**
     * The flow-control limit: bytes at stream offsets below it may be sent. {@link Long#MAX_VALUE}
     * means the stream is not flow-controlled.
     */
    public long creditLimit() {
        return creditLimit;
    }

    public boolean isClosed() {
        return closed;
    }

    /** Whether {@link #finish()} has been called. */
    public boolean finQueued() {
        return finQueued;
    }

    /** Whether the end of stream has been handed out (in a sub-packet with {@code fin} set). */
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
     * Queues bytes at the end of the stream and takes ownership of {@code data} (its readable bytes);
     * an empty buffer is released at once.
     *
     * @throws IllegalStateException after {@link #finish()} or {@link #close()}; {@code data} is released
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

    /** Marks the end of the stream after the bytes queued so far. Idempotent; ignored after {@link #close()}. */
    public void finish() {
        if (closed || finQueued) {
            return;
        }
        finQueued = true;
        blender.onReadinessMaybeChanged(this);
    }

    /**
     * Raises the flow-control limit: the peer allows bytes at stream offsets below {@code maxOffset}.
     * Limits only grow (as in QUIC's MAX_STREAM_DATA); a value not above the current limit is ignored.
     * A queue opened without flow control ({@link Long#MAX_VALUE}) stays so.
     *
     * @throws IllegalArgumentException if {@code maxOffset} is negative
     */
    public void creditLimit(long maxOffset) {
        if (maxOffset < 0) {
            throw new IllegalArgumentException("stream " + streamId + ": creditLimit: " + maxOffset
                    + " (expected: >= 0)");
        }
        if (maxOffset > creditLimit && !closed) {
            creditLimit = maxOffset;
            blender.onReadinessMaybeChanged(this);
        }
    }

    /**
     * Moves the stream to another ring (its class changed) without losing or reordering its bytes; it
     * joins the new ring's round robin at the end. A ring beyond the last is clamped to the last.
     *
     * @throws IllegalArgumentException if {@code newRing} is negative
     */
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

    /**
     * Takes the next {@code n} bytes (0 < n <= queuedBytes) as one buffer: a retained slice of the head
     * chunk when it holds them all, else a composite of retained slices. Releases the chunks it empties.
     */
    ByteBuf take(int n, ByteBufAllocator alloc) {
        ByteBuf head = chunks.peekFirst();
        if (head.readableBytes() >= n) {
            ByteBuf slice = head.readRetainedSlice(n);
            if (!head.isReadable()) {
                chunks.pollFirst().release();
            }
            consumed(n);
            return slice;
        }
        // No component limit: a limit would make the composite copy its components together.
        CompositeByteBuf out = alloc.compositeBuffer(Integer.MAX_VALUE);
        int left = n;
        try {
            while (left > 0) {
                ByteBuf c = chunks.peekFirst();
                int k = Math.min(left, c.readableBytes());
                out.addComponent(true, c.readRetainedSlice(k));
                left -= k;
                if (!c.isReadable()) {
                    chunks.pollFirst().release();
                }
            }
        } catch (RuntimeException | Error e) {
            out.release();
            throw e;
        }
        consumed(n);
        return out;
    }

    private void consumed(int n) {
        queuedBytes -= n;
        sendOffset += n;
    }
}
