package dev.braid.runtime;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * The one event-loop factory every role uses. It picks io_uring when available, else epoll, else
 * NIO, logs the choice, and honours an explicit choice ({@code --transport nio|epoll|io_uring}).
 * An explicit choice this machine cannot run fails fast with the reason instead of silently
 * falling back.
 */
public final class EventLoops implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EventLoops.class);

    private final Transport transport;
    private final EventLoopGroup group;

    private EventLoops(Transport transport, EventLoopGroup group) {
        this.transport = transport;
        this.group = group;
    }

    /**
     * Creates event loops on the given transport, or on the best available one when {@code requested}
     * is {@code null}.
     *
     * @param name    thread-name prefix, e.g. {@code front-end}
     * @param threads number of event loops; 0 means Netty's default (twice the cores)
     */
    public static EventLoops create(String name, Transport requested, int threads) {
        Transport transport = requested != null ? requested : Transport.best();
        if (!transport.isAvailable()) {
            Throwable cause = transport.unavailabilityCause();
            throw new IllegalStateException("transport: " + transport.label() + " is not available on this machine"
                    + (cause != null ? " (" + cause.getMessage() + ")" : ""), cause);
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: >= 0)");
        }
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(threads,
                new DefaultThreadFactory(name, true), transport.ioHandlerFactory());
        log.info("{}: {} event loop(s) on the {} transport{}", name, group.executorCount(), transport.label(),
                requested != null ? " (chosen)" : " (best available)");
        return new EventLoops(transport, group);
    }

    public Transport transport() {
        return transport;
    }

    public EventLoopGroup group() {
        return group;
    }

    /**
     * Shuts the loops down and waits up to five seconds for them to finish. The short quiet period
     * lets completions of I/O cancelled by the last closes (io_uring reads in flight hold buffers)
     * arrive before the loops exit, so that every buffer returns to the pool.
     */
    @Override
    public void close() {
        group.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
