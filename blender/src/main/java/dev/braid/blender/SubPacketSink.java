package dev.braid.blender;

import io.netty.buffer.ByteBuf;

/**
 * Receives the sub-packets of one TMP packet from {@link Blender#nextPacket}.
 *
 * <p>Ownership: {@code data} is a retained slice of the stream's queued buffer. The sink owns it
 * from the call on and must release it exactly once, when the link no longer needs it (after the
 * write for a carrier that does its own reliability, after acknowledgement for UDP).
 */
@FunctionalInterface
public interface SubPacketSink {

    /**
     * @param queue  the stream the bytes belong to
     * @param offset stream offset of the first byte of {@code data}
     * @param data   payload, possibly empty when only {@code fin} is carried
     * @param fin    whether this sub-packet ends the stream
     */
    void accept(BlendQueue queue, long offset, ByteBuf data, boolean fin);
}
