package dev.braid.tmp;

import dev.braid.blender.BlenderSettings;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;

import java.net.SocketAddress;

/**
 * One established TMP link to a peer node, on whatever carrier. Thread-safe handle: streams can be
 * opened from any thread.
 */
public final class TmpLink {

    /** What a link needs from its carrier: TCP connection or UDP connection. */
    interface Carrier {
        boolean isActive();

        SocketAddress remoteAddress();

        /** Tells the peer and closes; runs on the link's loop. */
        void close(ResetCode code, String reason);

        Future<?> closeFuture();

        default QosReport localQos() {
            return QosReport.UNKNOWN;
        }

        default QosReport peerQos() {
            return QosReport.UNKNOWN;
        }

        /** Congestion window in bytes, -1 where the kernel keeps it (TCP). */
        default long congestionWindow() {
            return -1;
        }

        /** The congestion controller's name, or the carrier's where the kernel runs it. */
        default String congestionControl() {
            return "kernel";
        }

        default long udpReceiveBufferBytes() {
            return -1;
        }

        default long udpReceiveDrops() {
            return -1;
        }
    }

    private final LinkCore core;
    private final Carrier carrier;
    private final String carrierName;

    TmpLink(LinkCore core, Channel channel, String carrierName) {
        this(core, new Carrier() {
            @Override
            public boolean isActive() {
                return channel.isActive();
            }

            @Override
            public SocketAddress remoteAddress() {
                return channel.remoteAddress();
            }

            @Override
            public void close(ResetCode code, String reason) {
                core.goaway(code, reason);
                channel.flush();
                channel.close();
            }

            @Override
            public Future<?> closeFuture() {
                return channel.closeFuture();
            }
        }, carrierName);
    }

    TmpLink(LinkCore core, Carrier carrier, String carrierName) {
        this.core = core;
        this.carrier = carrier;
        this.carrierName = carrierName;
    }

    /** Opens a stream at the priority of {@code ring}; see {@link LinkCore#openStream}. */
    public TmpStream openStream(int ring, String clientClass, boolean compressible, TmpStreamHandler handler) {
        return core.openStream(ring, clientClass, compressible, handler);
    }

    /** Whether new streams can be opened (the carrier is up and the peer is not going away). */
    public boolean isActive() {
        return carrier.isActive() && !core.isClosed() && !core.goawayReceived();
    }

    public String peerName() {
        return core.peerName();
    }

    /** {@code tcp} or {@code udp}. */
    public String carrier() {
        return carrierName;
    }

    public SocketAddress remoteAddress() {
        return carrier.remoteAddress();
    }

    /**
     * This side's measurement of the link in its sending direction (loss, RTT, delivery rate, hosted
     * streams). {@link QosReport#UNKNOWN} on TCP, where the kernel keeps these numbers.
     */
    public QosReport localQos() {
        return carrier.localQos();
    }

    /** The peer's last report of its sending direction (towards this side). */
    public QosReport peerQos() {
        return carrier.peerQos();
    }

    /** Congestion window in bytes; -1 on TCP. */
    public long congestionWindow() {
        return carrier.congestionWindow();
    }

    /** The UDP socket's receive buffer as the kernel granted it; -1 on TCP. */
    public long udpReceiveBufferBytes() {
        return carrier.udpReceiveBufferBytes();
    }

    /** Datagrams the kernel dropped for a full receive buffer of the link's UDP socket; -1 on TCP or unknown. */
    public long udpReceiveDrops() {
        return carrier.udpReceiveDrops();
    }

    /** {@code n-flow} or {@code bbr} on UDP, {@code kernel} on TCP. */
    public String congestionControl() {
        return carrier.congestionControl();
    }

    /**
     * A figure of merit for choosing among links, lower is better: the expected time for a small
     * exchange, smoothed RTT inflated by loss (each loss costs about one more round trip), using the
     * worse of the two directions. {@link Double#NaN} when nothing is measured (TCP, or too early).
     */
    public double expectedDelayMicros() {
        QosReport a = localQos();
        QosReport b = peerQos();
        if (!a.isKnown() && !b.isKnown()) {
            return Double.NaN;
        }
        double rtt = Math.max(a.smoothedRttMicros(), b.smoothedRttMicros());
        double loss = Math.max(a.lossRate(), b.lossRate());
        return rtt * (1 + 2 * loss / Math.max(1e-3, 1 - loss));
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

    /** Bytes LZ4 saved on the DATA frames this side sent. Read off the link's loop: approximate. */
    public long compressionSavedBytes() {
        return core.compressionSavedBytes();
    }

    public int activeStreams() {
        return core.activeStreams();
    }

    public void updateBlender(BlenderSettings settings) {
        core.updateBlender(settings);
    }

    /** Asks the peer to open no new streams, then closes once the open ones are done or after the grace period. */
    public void close(ResetCode code, String reason) {
        core.run(() -> carrier.close(code, reason));
    }

    /** Completes when the carrier is closed. */
    public Future<?> closeFuture() {
        return carrier.closeFuture();
    }

    LinkCore core() {
        return core;
    }

    @Override
    public String toString() {
        return "TMP link (" + carrierName + ") to " + core.peerName() + " at " + carrier.remoteAddress();
    }
}
