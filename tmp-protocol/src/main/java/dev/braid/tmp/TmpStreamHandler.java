package dev.braid.tmp;

import io.netty.buffer.ByteBuf;

/**
 * Receives the events of one {@link TmpStream}, always on the link's event loop and in order.
 * Implementations hand work to their own event loop if they need to.
 */
public interface TmpStreamHandler {

    /**
     * Bytes of the stream in order. The handler owns {@code data} and must release it; it calls
     * {@link TmpStream#consumed(int)} once the bytes have left its hands (e.g. were written to
     * the client), which returns flow-control credit to the peer.
     *
     * @param fin whether these are the last bytes of the stream (data may then be empty)
     */
    void onData(TmpStream stream, ByteBuf data, boolean fin);

    /** The stream ended abnormally: the peer reset it, or the link broke. No events follow. */
    void onReset(TmpStream stream, ResetCode code, String reason);

    /** The stream became writable again after {@link TmpStream#isWritable()} returned false. */
    default void onWritable(TmpStream stream) {
    }
}
