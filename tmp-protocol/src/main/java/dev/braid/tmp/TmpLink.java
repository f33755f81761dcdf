package dev.braid.tmp;

import dev.braid.blender.BlenderSettings;
import io.netty.channel.Channel;

import java.net.SocketAddress;

/**
 * One established TMP link to a peer node, on whatever carrier. Thread-safe handle: streams can be
 * opened from any thread.
 */
public final class TmpLink {

    private final LinkCore core;
    private final Channel channel;
    private final String carrier;

    TmpLink(LinkCore core, Channel channel, String carrier) {
        this.core = core;
        this.channel = channel;
        this.carrier = carrier;
    }

    /** Opens a stream at the priority of {@code ring}; see {@link LinkCore#openStream}. */
    public TmpStream openStream(int ring, String clientClass, boolean compressible, TmpStreamHandler handler) {
        return core.openStream(ring, clientClass, compressible, handler);
    }

    /** Whether new streams can be opened (the carrier is up and the peer is not going away). */
    public boolean isActive() {
        return channel.isActive() && !core.isClosed() && !core.goawayReceived();
    }

    public String peerName() {
        return core.peerName();
    }

    /** {@code tcp} or {@code udp}. */
    public String carrier() {
        return carrier;
    }

    public SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    /** Bytes of packets sent and received (frames included, carrier framing excluded). Read on any thread: approximate. */
    public long bytesSent() {
        return core.bytesSent();
    }

    public long bytesReceived() {
        return core.bytesReceived();
    }

    /**
     * Stream payload bytes this side has sent per ring (ring 0 first). Read off the link's loop the
     * counts may lag by a packet.
     */
    public long[] sentBytesByRing() {
        return core.sentBytesByRing();
    }

    public int activeStreams() {
        return core.activeStreams();
    }

    public void updateBlender(BlenderSettings settings) {
        core.updateBlender(settings);
    }

    /** Asks the peer to open no new streams, then closes once the open ones are done or after the grace period. */
    public void close(ResetCode code, String reason) {
        core.run(() -> {
            core.goaway(code, reason);
            channel.flush();
            channel.close();
        });
    }

    /** Completes when the carrier is closed. */
    public io.netty.channel.ChannelFuture closeFuture() {
        return channel.closeFuture();
    }

    LinkCore core() {
        return core;
    }

    @Override
    public String toString() {
        return "TMP link (" + carrier + ") to " + core.peerName() + " at " + channel.remoteAddress();
    }
}
