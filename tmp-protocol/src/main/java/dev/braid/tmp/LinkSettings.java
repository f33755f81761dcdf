package dev.braid.tmp;

import dev.braid.blender.BlenderSettings;

import java.time.Duration;
import java.util.List;

/**
 * Settings of one TMP link, the same on both carriers.
 *
 * @param packetBytes           payload bytes per TMP packet (default 1400)
 * @param streamWindowBytes     flow-control credit per stream: bytes a peer may send beyond what
 *                              this side has consumed (default 4 MiB). Credit returns once half a
 *                              window is consumed and takes a round trip to reach the sender, so a
 *                              lone stream has on average three quarters of it per round trip, and
 *                              the round trip grows by the bottleneck's queue: 4 MiB lets one stream
 *                              fill 100 Mbit/s at 80 ms RTT with a full one-BDP queue (160 ms);
 *                              1 MiB held it near 50 Mbit/s
 * @param linkWindowBytes       flow-control credit for the whole link (default 32 MiB)
 * @param maxStreams            concurrent streams a peer may open (default 10,000)
 * @param sendHighWaterBytes    queued bytes above which a stream reports not writable (default 128 KiB)
 * @param sendLowWaterBytes     queued bytes below which it becomes writable again (default 32 KiB)
 * @param keepalive             a PING is sent after this long without sending (default 10 s)
 * @param idleTimeout           the link is closed after this long without receiving (default 30 s)
 * @param handshakeTimeout      the peer's HELLO must arrive within this (default 5 s)
 * @param maxSendBytesPerSecond cap on the rate this side sends at, bytes per second; 0 for none
 *                              (default). Data above the cap waits in the blender, by priority.
 * @param blender               rings, weights, sub-packet size, policy
 * @param compression           whether DATA frames of compressible streams are LZ4-compressed where
 *                              that saves at least 10% (default true)
 * @param datagram              settings of the UDP carrier (reliability, congestion control, carrier choice)
 */
public record LinkSettings(int packetBytes, int streamWindowBytes, long linkWindowBytes, int maxStreams,
                           int sendHighWaterBytes, int sendLowWaterBytes, Duration keepalive,
                           Duration idleTimeout, Duration handshakeTimeout, long maxSendBytesPerSecond,
                           BlenderSettings blender, boolean compression, DatagramSettings datagram) {

    public static final LinkSettings DEFAULT = new LinkSettings(1400, 4 * 1024 * 1024, 32L * 1024 * 1024, 10_000,
            128 * 1024, 32 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(5), 0,
            BlenderSettings.DEFAULT, true, DatagramSettings.DEFAULT);

    public LinkSettings {
        require(packetBytes >= 576 && packetBytes <= 65_000, "packetBytes", packetBytes, "576..65000");
        require(streamWindowBytes >= 1024, "streamWindowBytes", streamWindowBytes, ">= 1024");
        require(linkWindowBytes >= streamWindowBytes, "linkWindowBytes", linkWindowBytes, ">= streamWindowBytes");
        require(maxStreams >= 1, "maxStreams", maxStreams, ">= 1");
        require(sendLowWaterBytes >= 0 && sendLowWaterBytes < sendHighWaterBytes, "sendLowWaterBytes",
                sendLowWaterBytes, "0 <= value < sendHighWaterBytes");
        require(!keepalive.isNegative() && !keepalive.isZero(), "keepalive", keepalive, "> 0");
        require(idleTimeout.compareTo(keepalive) > 0, "idleTimeout", idleTimeout, "> keepalive");
        require(!handshakeTimeout.isNegative() && !handshakeTimeout.isZero(), "handshakeTimeout", handshakeTimeout, "> 0");
        require(maxSendBytesPerSecond == 0 || maxSendBytesPerSecond >= 8 * packetBytes, "maxSendBytesPerSecond",
                maxSendBytesPerSecond, "0 (no cap) or at least 8 packets per second");
        if (blender == null) {
            throw new IllegalArgumentException("blender: null (expected: blender settings)");
        }
        if (datagram == null) {
            throw new IllegalArgumentException("datagram: null (expected: datagram settings)");
        }
    }

    /**
     * Default settings with what the managers configure.
     *
     * @param policy        {@code per-connection} or {@code per-class}
     * @param rateLimitMbps send-rate cap in Mbit/s, 0 for none
     */
    public static LinkSettings of(int packetBytes, int subPacketBytes, String policy, List<Integer> ringWeights,
                                  double rateLimitMbps) {
        return of(packetBytes, subPacketBytes, policy, ringWeights, rateLimitMbps, "udp",
                CongestionControl.DEFAULT.label());
    }

    /**
     * Default settings with what the managers configure, carrier and congestion control included.
     *
     * @param carrier           {@code udp} (UDP first, TCP fallback) or {@code tcp}
     * @param congestionControl {@code bbr} or {@code n-flow}
     */
    public static LinkSettings of(int packetBytes, int subPacketBytes, String policy, List<Integer> ringWeights,
                                  double rateLimitMbps, String carrier, String congestionControl) {
        if (!"udp".equals(carrier) && !"tcp".equals(carrier)) {
            throw new IllegalArgumentException("carrier: " + carrier + " (expected: udp or tcp)");
        }
        int[] weights = ringWeights.stream().mapToInt(Integer::intValue).toArray();
        return DEFAULT.withPacketBytes(packetBytes)
                .withDatagram(DEFAULT.datagram().withUdp("udp".equals(carrier))
                        .withCongestionControl(CongestionControl.parse(congestionControl)))
                .withMaxSendBytesPerSecond((long) (rateLimitMbps * 1_000_000 / 8))
                .withBlender(new BlenderSettings(weights, subPacketBytes, BlenderSettings.Policy.parse(policy)));
    }

    private static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: " + expected + ")");
        }
    }

    public LinkSettings withBlender(BlenderSettings b) {
        return new LinkSettings(packetBytes, streamWindowBytes, linkWindowBytes, maxStreams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, maxSendBytesPerSecond, b, compression, datagram);
    }

    public LinkSettings withPacketBytes(int bytes) {
        return new LinkSettings(bytes, streamWindowBytes, linkWindowBytes, maxStreams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, maxSendBytesPerSecond, blender, compression, datagram);
    }

    public LinkSettings withWindows(int streamWindow, long linkWindow) {
        return new LinkSettings(packetBytes, streamWindow, linkWindow, maxStreams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, maxSendBytesPerSecond, blender, compression, datagram);
    }

    public LinkSettings withMaxStreams(int streams) {
        return new LinkSettings(packetBytes, streamWindowBytes, linkWindowBytes, streams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, maxSendBytesPerSecond, blender, compression, datagram);
    }

    public LinkSettings withCompression(boolean on) {
        return new LinkSettings(packetBytes, streamWindowBytes, linkWindowBytes, maxStreams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, maxSendBytesPerSecond, blender, on, datagram);
    }

    public LinkSettings withDatagram(DatagramSettings d) {
        return new LinkSettings(packetBytes, streamWindowBytes, linkWindowBytes, maxStreams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, maxSendBytesPerSecond, blender, compression, d);
    }

    public LinkSettings withTimeouts(Duration keepalive, Duration idleTimeout) {
        return new LinkSettings(packetBytes, streamWindowBytes, linkWindowBytes, maxStreams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, maxSendBytesPerSecond, blender, compression,
                datagram);
    }

    public LinkSettings withMaxSendBytesPerSecond(long rate) {
        return new LinkSettings(packetBytes, streamWindowBytes, linkWindowBytes, maxStreams, sendHighWaterBytes,
                sendLowWaterBytes, keepalive, idleTimeout, handshakeTimeout, rate, blender, compression, datagram);
    }
}
