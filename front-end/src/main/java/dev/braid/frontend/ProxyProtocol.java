package dev.braid.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ProtocolDetectionState;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.util.AttributeKey;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * PROXY protocol v2 from the load balancers in front ({@code frontEnds[].proxyProtocolFrom}). A
 * connection from one of them must start with a v2 header; the client address it carries becomes
 * the connection's client address ({@link #clientAddress}) for classification, forwarding headers
 * and logs. A connection from anywhere else that starts with a PROXY header (v1 or v2) is closed
 * without a response: only the configured sources may speak for someone else.
 */
final class ProxyProtocol {

    private static final Logger log = LoggerFactory.getLogger(ProxyProtocol.class);

    /** The client address a trusted PROXY header named. */
    static final AttributeKey<InetSocketAddress> CLIENT = AttributeKey.valueOf("braid.proxiedClient");

    private ProxyProtocol() {
    }

    /** The connection's client: the one its PROXY header named, else its peer. */
    static InetSocketAddress clientAddress(io.netty.channel.Channel ch) {
        InetSocketAddress proxied = ch.attr(CLIENT).get();
        if (proxied == null && ch.parent() != null) {
            // An HTTP/2 stream: the balancer's header named the client of its connection.
            proxied = ch.parent().attr(CLIENT).get();
        }
        return proxied != null ? proxied : (InetSocketAddress) ch.remoteAddress();
    }

    /** Handlers for a connection from a trusted load balancer, first in its pipeline: the v2 header is required. */
    static void trusted(io.netty.channel.ChannelPipeline pipeline) {
        pipeline.addFirst("proxy", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (!(msg instanceof HAProxyMessage m)) {
                    ctx.fireChannelRead(msg);
                    return;
                }
                try {
                    if (m.protocolVersion() != HAProxyProtocolVersion.V2) {
                        refuse(ctx, "a PROXY protocol v1 header (expected: v2)");
                        return;
                    }
                    if (m.command() == HAProxyCommand.PROXY && m.sourceAddress() != null) {
                        ctx.channel().attr(CLIENT).set(address(m.sourceAddress(), m.sourcePort()));
                    }
                    // LOCAL (the balancer's own health check): the connection speaks for itself.
                    ctx.pipeline().remove(this);
                } finally {
                    ReferenceCountUtil.release(m);
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                refuse(ctx, "no valid PROXY protocol v2 header: " + cause.getMessage());
            }
        });
        pipeline.addFirst("proxy-decoder", new HAProxyMessageDecoder());
    }

    /** The guard, first in the pipeline of every other connection: a PROXY header at its start closes it. */
    static void untrusted(io.netty.channel.ChannelPipeline pipeline) {
        pipeline.addFirst("proxy-guard", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf b && HAProxyMessageDecoder.detectProtocol(b).state()
                        == ProtocolDetectionState.DETECTED) {
                    ReferenceCountUtil.release(msg);
                    refuse(ctx, "a PROXY header from a source not in proxyProtocolFrom");
                    return;
                }
                ctx.pipeline().remove(this);
                ctx.fireChannelRead(msg);
            }
        });
    }

    private static void refuse(ChannelHandlerContext ctx, String why) {
        log.debug("client {}: {}, closing", ctx.channel().remoteAddress(), why);
        ctx.channel().attr(CLIENT).set(null);
        ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private static InetSocketAddress address(String literal, int port) {
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(literal);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("PROXY source address: " + literal, e);
        }
    }
}
