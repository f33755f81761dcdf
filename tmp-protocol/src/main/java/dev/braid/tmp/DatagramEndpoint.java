package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A sans-I/O endpoint of a datagram protocol: fed with the current time and received datagrams,
 * asked for datagrams to send and for its next timer. It owns no sockets, threads or clocks, so the
 * same code runs over real UDP sockets (a thin Netty driver) and inside the deterministic network
 * simulator (virtual time), where loss, reordering and congestion are reproducible.
 *
 * <p>Times are nanoseconds on one monotonic clock chosen by the driver (System.nanoTime() over
 * sockets, the simulator's virtual clock in tests); only differences between them matter.
 * Implementations are not thread-safe: the driver calls them from one thread.
 */
public interface DatagramEndpoint {

    /** Processes one datagram received at {@code nowNanos}. Takes ownership of {@code datagram}. */
    void receive(long nowNanos, ByteBuf datagram);

    /**
     * The next datagram to send at {@code nowNanos}, or null when nothing may be sent now (nothing
     * queued, the congestion window is full, or pacing holds the next packet back — then
     * {@link #nextTimeoutNanos()} says when to ask again). The caller owns the returned buffer.
     */
    ByteBuf poll(long nowNanos, ByteBufAllocator alloc);

    /** When the endpoint next needs {@link #onTimeout} or a new {@link #poll}; {@link Long#MAX_VALUE} for never. */
    long nextTimeoutNanos();

    /** Runs the timers due at {@code nowNanos} (loss detection, probe timeouts, acknowledgements, keepalive). */
    void onTimeout(long nowNanos);
}
