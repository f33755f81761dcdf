package dev.braid.frontend;

import dev.braid.runtime.EventLoops;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.util.concurrent.EventExecutor;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * The front-end's listening sockets, plain HTTP and HTTPS alike. Where the transport allows it (io_uring, epoll),
 * every event loop has a listening socket of its own on the same address ({@code SO_REUSEPORT}):
 * the kernel spreads new connections among them, and a connection is accepted, set up and served
 * by one loop, with no hand-over from an accepting loop to another. So a connection's first
 * request costs one wake-up of one thread, and a loop that is busy or stalled (with a TMP link's
 * work, a long write, a pause) delays only the connections the kernel gave it; with one shared
 * acceptor it would delay every new connection of the front-end. On NIO there is one listening
 * socket, and accepted connections go to the loops in turn.
 *
 * <p>Listening sockets with {@code SO_REUSEPORT} could share a port with another process's; a
 * probe bind without it first makes a second front-end on a taken address fail as with one
 * socket ("address already in use").
 */
public final class Listeners implements AutoCloseable {

    private final List<Channel> channels;
    private final boolean perLoop;

    private Listeners(List<Channel> channels, boolean perLoop) {
        this.channels = channels;
        this.perLoop = perLoop;
    }

    /**
     * Binds {@code address} (port 0: an ephemeral port, the same for every socket) and hands each
     * accepted connection to {@code child} on the loop that accepted it.
     */
    public static Listeners bind(EventLoops loops, InetSocketAddress address, ChannelHandler child) {
        List<EventLoop> each = new ArrayList<>();
        for (EventExecutor e : loops.group()) {
            each.add((EventLoop) e);
        }
        refuseIfTaken(address);
        if (!loops.transport().reusesPorts() || each.size() < 2) {
            Channel ch = bootstrap(loops, child).group(loops.group()).bind(address).syncUninterruptibly().channel();
            return new Listeners(List.of(ch), false);
        }
        List<Channel> bound = new ArrayList<>();
        InetSocketAddress at = address;
        try {
            for (EventLoop loop : each) {
                Channel ch = bootstrap(loops, child).group(loop, loop)
                        .option(UnixChannelOption.SO_REUSEPORT, true)
                        .bind(at).syncUninterruptibly().channel();
                bound.add(ch);
                // The first socket chose the port when asked for port 0; the others join it.
                at = (InetSocketAddress) ch.localAddress();
            }
        } catch (RuntimeException e) {
            bound.forEach(c -> c.close().awaitUninterruptibly());
            throw e;
        }
        return new Listeners(List.copyOf(bound), true);
    }

    /**
     * Fails as a plain bind would when something already listens on {@code address}: a socket
     * without {@code SO_REUSEPORT} cannot join a port another socket listens on, so a probe bind
     * tells whether the port is free before the per-loop sockets, which could join it silently,
     * are bound. (Another process could still take the port between the probe and the bind; it
     * would then have to set {@code SO_REUSEPORT} itself.)
     */
    static void refuseIfTaken(InetSocketAddress address) {
        if (address.getPort() == 0) {
            return;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(address, 1);
        } catch (IOException e) {
            throw new ChannelException("listen " + address.getHostString() + ":" + address.getPort()
                    + ": address already in use (another process listens there)", e);
        }
    }

    private static ServerBootstrap bootstrap(EventLoops loops, ChannelHandler child) {
        return new ServerBootstrap()
                .channel(loops.transport().serverSocketChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .childHandler(child);
    }

    /** The address the sockets listen on. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channels.get(0).localAddress();
    }

    /** How many sockets, for the start-up log line. */
    public String describe() {
        return perLoop ? channels.size() + " listening sockets, one per event loop" : "one listening socket";
    }

    /** Stops accepting: closes every listening socket (connections already accepted stay open). */
    @Override
    public void close() {
        for (Channel ch : channels) {
            ch.close().awaitUninterruptibly();
        }
    }
}
