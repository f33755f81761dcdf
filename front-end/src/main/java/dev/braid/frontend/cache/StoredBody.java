package dev.braid.frontend.cache;

import io.netty.buffer.ByteBuf;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The body of a stored response: one pooled direct buffer and the count of its owners (the cache
 * entries that hold it; a 304 update makes a second entry share it until the first is gone).
 *
 * <p>Readers on any thread take what they send as a retained slice through {@link #lease}: the
 * count is raised only while it is above zero, so a body that eviction has just released is never
 * touched again (a plain {@code ByteBuf.retain()} could not promise that, since pooled buffer
 * objects are recycled). The slices keep the memory alive until the channel has written them.
 */
final class StoredBody {

    private final ByteBuf buf;
    private final AtomicInteger owners = new AtomicInteger(1);

    /** Takes ownership of {@code buf}; the caller becomes the first owner. */
    StoredBody(ByteBuf buf) {
        this.buf = buf;
    }

    int length() {
        return buf.readableBytes();
    }

    /** Memory the body pins, in bytes. */
    int capacity() {
        return buf.capacity();
    }

    /** Adds an owner unless the body is already released; true when it was added. */
    boolean tryRetain() {
        for (;;) {
            int n = owners.get();
            if (n <= 0) {
                return false;
            }
            if (owners.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Drops an owner; the last one frees the buffer. */
    void release() {
        if (owners.decrementAndGet() == 0) {
            buf.release();
        }
    }

    /** A retained slice of {@code length} bytes from {@code offset}, or null when the body is already released. */
    ByteBuf lease(long offset, long length) {
        if (!tryRetain()) {
            return null;
        }
        try {
            return buf.retainedSlice(buf.readerIndex() + (int) offset, (int) length);
        } finally {
            release();
        }
    }

    boolean isReleased() {
        return owners.get() <= 0;
    }
}
