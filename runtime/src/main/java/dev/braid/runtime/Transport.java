package dev.braid.runtime;

import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The I/O transports a Braid node can run on, best first. Every role takes its event loops and
 * channel classes from one {@link Transport}, so a node never mixes transports.
 */
public enum Transport {
    IO_URING("io_uring", IoUring::isAvailable, IoUring::unavailabilityCause, IoUringIoHandler::newFactory,
            IoUringSocketChannel.class, IoUringServerSocketChannel.class, IoUringDatagramChannel.class),
    EPOLL("epoll", Epoll::isAvailable, Epoll::unavailabilityCause, EpollIoHandler::newFactory,
            EpollSocketChannel.class, EpollServerSocketChannel.class, EpollDatagramChannel.class),
    NIO("nio", () -> true, () -> null, NioIoHandler::newFactory,
            NioSocketChannel.class, NioServerSocketChannel.class, NioDatagramChannel.class);

    private final String label;
    private final Supplier<Boolean> available;
    private final Supplier<Throwable> unavailabilityCause;
    private final Supplier<IoHandlerFactory> ioHandlerFactory;
    private final Class<? extends SocketChannel> socketChannel;
    private final Class<? extends ServerSocketChannel> serverSocketChannel;
    private final Class<? extends DatagramChannel> datagramChannel;

    Transport(String label, Supplier<Boolean> available, Supplier<Throwable> unavailabilityCause,
              Supplier<IoHandlerFactory> ioHandlerFactory, Class<? extends SocketChannel> socketChannel,
              Class<? extends ServerSocketChannel> serverSocketChannel,
              Class<? extends DatagramChannel> datagramChannel) {
        this.label = label;
        this.available = available;
        this.unavailabilityCause = unavailabilityCause;
        this.ioHandlerFactory = ioHandlerFactory;
        this.socketChannel = socketChannel;
        this.serverSocketChannel = serverSocketChannel;
        this.datagramChannel = datagramChannel;
    }

    /** The name used on the command line and in configuration: {@code io_uring}, {@code epoll}, {@code nio}. */
    public String label() {
        return label;
    }

    public boolean isAvailable() {
        try {
            return available.get();
        } catch (Throwable t) {
            return false;
        }
    }

    /** Why this transport cannot run here, or {@code null} when it can. */
    public Throwable unavailabilityCause() {
        try {
            return unavailabilityCause.get();
        } catch (Throwable t) {
            return t;
        }
    }

    IoHandlerFactory ioHandlerFactory() {
        return ioHandlerFactory.get();
    }

    public Class<? extends SocketChannel> socketChannel() {
        return socketChannel;
    }

    public Class<? extends ServerSocketChannel> serverSocketChannel() {
        return serverSocketChannel;
    }

    public Class<? extends DatagramChannel> datagramChannel() {
        return datagramChannel;
    }

    /**
     * The socket option that bounds the bytes a TCP socket holds not yet sent
     * ({@code TCP_NOTSENT_LOWAT}: the kernel takes more only below it), or null where the transport
     * cannot set it (NIO). In-flight bytes are not counted, so it caps the kernel's queue without
     * capping the window.
     */
    public ChannelOption<Long> tcpNotSentLowWater() {
        return switch (this) {
            case IO_URING -> IoUringChannelOption.TCP_NOTSENT_LOWAT;
            case EPOLL -> EpollChannelOption.TCP_NOTSENT_LOWAT;
            case NIO -> null;
        };
    }

    /**
     * Whether several listening sockets of this transport can share one address and port
     * ({@code SO_REUSEPORT}, the kernel spreading new connections among them): io_uring and
     * epoll, not NIO.
     */
    public boolean reusesPorts() {
        return this != NIO;
    }

    /** The best transport this machine supports: io_uring, else epoll, else NIO. */
    public static Transport best() {
        for (Transport t : values()) {
            if (t.isAvailable()) {
                return t;
            }
        }
        return NIO;
    }

    /**
     * Parses a transport name as given to {@code --transport}.
     *
     * @throws IllegalArgumentException naming the value and what was expected
     */
    public static Transport parse(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (Transport t : values()) {
            if (t.label.equals(wanted)) {
                return t;
            }
        }
        throw new IllegalArgumentException("transport: " + name + " (expected one of: "
                + String.join(", ", Arrays.stream(values()).map(Transport::label).toList()) + ")");
    }
}
