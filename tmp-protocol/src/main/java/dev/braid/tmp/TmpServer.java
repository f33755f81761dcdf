package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import dev.braid.tmp.security.LinkTls;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Accepts TMP links from peer nodes (the back-end's side), on TCP and, at the same port number, on
 * UDP (unless {@link DatagramSettings#udp()} is off or the UDP port cannot be bound, which is
 * logged). Every stream a peer opens on any link is offered to the one {@link LinkCore.Listener}.
 */
public final class TmpServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TmpServer.class);

    /** Role byte a node announces in its HELLO. */
    public static final int ROLE_FRONT_END = 1;
    public static final int ROLE_BACK_END = 2;

    private final Channel tcpChannel;
    private final Channel udpChannel;
    private final UdpCarrier udpCarrier;
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Set<TmpLink> links = ConcurrentHashMap.newKeySet();

    private static ServerBootstrap tcpServer(EventLoops loops) {
        ServerBootstrap b = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.transport().serverSocketChannel())
                .option(ChannelOption.SO_REUSEADDR, true);
        TcpLinkHandler.socketOptions(loops.transport()).forEach((k, v) -> b.childOption(TmpClient.rawOption(k), v));
        return b;
    }

    private TmpServer(EventLoops loops, InetSocketAddress address, LinkSettings settings, String nodeName,
                      LinkCore.Listener listener, boolean tcp, LinkTls tls) {
        this.tcpChannel = !tcp ? null : tcpServer(loops)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        children.add(ch);
                        TcpLinkHandler.install(ch, new TcpLinkHandler(false, nodeName, ROLE_BACK_END, settings,
                                listener, link -> {
                                    links.add(link);
                                    link.closeFuture().addListener(f -> links.remove(link));
                                }, tls, null), settings);
                    }
                })
                .bind(address).syncUninterruptibly().channel();
        InetSocketAddress bound = tcp ? (InetSocketAddress) tcpChannel.localAddress() : address;
        UdpCarrier carrier = null;
        Channel udp = null;
        if (settings.datagram().udp()) {
            carrier = new UdpCarrier(true, nodeName, ROLE_BACK_END, settings, listener, new UdpCarrier.Observer() {
                @Override
                public void established(TmpLink link) {
                    links.add(link);
                }

                @Override
                public void closed(TmpLink link, String reason) {
                    if (link != null) {
                        links.remove(link);
                    }
                }
            });
            int buffer = settings.datagram().socketBufferBytes();
            io.netty.channel.ChannelFuture f = new Bootstrap()
                    .group(loops.group())
                    .channel(loops.transport().datagramChannel())
                    .option(ChannelOption.SO_RCVBUF, buffer)
                    .option(ChannelOption.SO_SNDBUF, buffer)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
                    .handler(carrier)
                    .bind(bound).awaitUninterruptibly();
            if (f.isSuccess()) {
                udp = f.channel();
            } else {
                log.warn("TMP: UDP port {} cannot be bound ({}); links will use TCP", bound, f.cause().toString());
                carrier = null;
            }
        }
        this.udpChannel = udp;
        this.udpCarrier = carrier;
    }

    /** Whether links are accepted on UDP too. */
    public boolean udpEnabled() {
        return udpChannel != null;
    }

    /** The UDP socket's receive buffer as granted by the kernel, -1 without UDP. */
    public int udpReceiveBufferBytes() {
        return udpCarrier == null ? -1 : udpCarrier.receiveBufferBytes();
    }

    /** Datagrams the kernel dropped for a full receive buffer (not path loss), -1 when unknown. */
    public long udpReceiveDrops() {
        return udpCarrier == null ? -1 : udpCarrier.receiveDrops();
    }

    /** A server whose TCP links are in clear text. */
    public static TmpServer start(EventLoops loops, InetSocketAddress address, LinkSettings settings,
                                  String nodeName, LinkCore.Listener listener) {
        return new TmpServer(loops, address, settings, nodeName, listener, true, null);
    }

    /**
     * A server whose TCP links are TLS 1.3 with the peer's certificate checked by {@code tls}
     * (null: clear text); a peer that offers no TLS or no acceptable certificate gets no link.
     */
    public static TmpServer start(EventLoops loops, InetSocketAddress address, LinkSettings settings,
                                  String nodeName, LinkCore.Listener listener, LinkTls tls) {
        return new TmpServer(loops, address, settings, nodeName, listener, true, tls);
    }

    /** A server on UDP alone (tests: a peer whose UDP comes back while its TCP port is taken). */
    static TmpServer startUdpOnly(EventLoops loops, InetSocketAddress address, LinkSettings settings, String nodeName,
                                  LinkCore.Listener listener) {
        return new TmpServer(loops, address, settings, nodeName, listener, false, null);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) (tcpChannel != null ? tcpChannel : udpChannel).localAddress();
    }

    /** The links currently established. */
    public Set<TmpLink> links() {
        return Set.copyOf(links);
    }

    /** Stops accepting, sends GOAWAY on every link and closes them. */
    @Override
    public void close() {
        if (tcpChannel != null) {
            tcpChannel.close().awaitUninterruptibly();
        }
        for (TmpLink link : links) {
            link.close(ResetCode.SHUTDOWN, "back-end shutting down");
        }
        children.close().awaitUninterruptibly();
        if (udpChannel != null) {
            // Let the CLOSE packets leave before the socket goes.
            udpChannel.eventLoop().submit(() -> { }).awaitUninterruptibly(1, java.util.concurrent.TimeUnit.SECONDS);
            udpChannel.close().awaitUninterruptibly();
        }
    }
}
