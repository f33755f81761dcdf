package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Accepts TMP links from peer nodes (the back-end's side). Every stream a peer opens on any link
 * is offered to the one {@link LinkCore.Listener}.
 */
public final class TmpServer implements AutoCloseable {

    /** Role byte a node announces in its HELLO. */
    public static final int ROLE_FRONT_END = 1;
    public static final int ROLE_BACK_END = 2;

    private final Channel tcpChannel;
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Set<TmpLink> links = ConcurrentHashMap.newKeySet();

    private TmpServer(EventLoops loops, InetSocketAddress address, LinkSettings settings, String nodeName,
                      LinkCore.Listener listener) {
        this.tcpChannel = new ServerBootstrap()
                .group(loops.group())
                .channel(loops.transport().serverSocketChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(64 * 1024, 256 * 1024))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        children.add(ch);
                        TcpLinkHandler.install(ch, new TcpLinkHandler(false, nodeName, ROLE_BACK_END, settings,
                                listener, link -> {
                                    links.add(link);
                                    link.closeFuture().addListener(f -> links.remove(link));
                                }), settings);
                    }
                })
                .bind(address).syncUninterruptibly().channel();
    }

    public static TmpServer start(EventLoops loops, InetSocketAddress address, LinkSettings settings,
                                  String nodeName, LinkCore.Listener listener) {
        return new TmpServer(loops, address, settings, nodeName, listener);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) tcpChannel.localAddress();
    }

    /** The links currently established. */
    public Set<TmpLink> links() {
        return Set.copyOf(links);
    }

    /** Stops accepting, sends GOAWAY on every link and closes them. */
    @Override
    public void close() {
        tcpChannel.close().awaitUninterruptibly();
        for (TmpLink link : links) {
            link.close(ResetCode.SHUTDOWN, "back-end shutting down");
        }
        children.close().awaitUninterruptibly();
    }
}
