package dev.braid.blender;

import io.netty.buffer.ByteBuf;

/**
 * Receives the sub-packets of one TMP packet from {@link Blender#nextPacket}, in packet order.
 *
 * <p>Ownership: {@code data} is a retained slice of the stream's queued bytes (zero-copy; a
 * composite of slices when the sub-packet spans several queued buffers). The sink owns it from the
 * call on, also when it throws, and must release it exactly once, when the link no longer needs it
 * (after the write for a carrier that does its own reliability, after acknowledgement for UDP).
 * A sub-packet that only carries the end of stream has an empty {@code data}.
 *
 * <p>The sink runs on the blender's thread and may call back into it: enqueue, finish, close or
 * move streams, raise credit, update settings. It must not call {@link Blender#nextPacket}.
 */
@FunctionalInterface
public interface SubPacketSink {

    /**
     * @param queue  the stream the bytes belong to
     * @param offset stream offset of the first byte of {@code data}
     * @param data   payload, at most {@code subPacketBytes}; empty when only {@code fin} is carried
     * @param fin    whether this sub-packet ends the stream (set exactly once per stream)
     */
    void accept(BlendQueue queue, long offset, ByteBuf data, boolean fin);
}
