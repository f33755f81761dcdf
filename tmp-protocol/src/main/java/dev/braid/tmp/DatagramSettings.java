package dev.braid.tmp;

import java.time.Duration;

/**
 * Settings of the UDP carrier: carrier choice, reliability (RFC 9002) and congestion control.
 *
 * @param udp                    whether links try UDP first (default true); false: TCP only
 * @param congestionControl      the controller of every UDP link (default {@link CongestionControl#DEFAULT})
 * @param maxFlows               cap on N, the streams the N-flow window counts as hosted (default 128)
 * @param initialWindowPackets   congestion window at the start, in packets (default 10, RFC 9002 §7.2)
 * @param initialRtt             RTT assumed before the first sample (default 333 ms, RFC 9002 §6.2.2)
 * @param maxAckDelay            longest a receiver holds back an ACK (default 25 ms)
 * @param pacingQuantum          pacing releases packets in bursts of about this much time at the
 *                               pacing rate, so coarse timers suffice (default 1 ms)
 * @param bbrLossThreshold       share of packets lost in one round above which the BBR-style
 *                               controller backs off (default 0.1; random loss below it is ignored)
 * @param handshakeTimeout       a UDP handshake that does not complete within this falls back to TCP (default 2 s)
 * @param udpProbeInterval       while a link runs on TCP, UDP is tried again this often (default 60 s)
 * @param qosInterval            how often each side sends a QOS report (default 1 s)
 * @param socketBufferBytes      requested UDP socket send and receive buffer (default 4 MiB; the kernel may cap it)
 * @param deadPeerTimeout        an established link with ack-eliciting packets in flight and no acknowledgement
 *                               for this long (and at least {@value Recovery#DEAD_PEER_PTOS} probe timeouts) is
 *                               declared lost (default 5 s): gateways fail over faster than the idle timeout
 * @param security               the node's Noise IK keys, certificate and peer checks; null (the default)
 *                               runs the carrier in plain text, which the carrier logs as a warning
 */
public record DatagramSettings(boolean udp, CongestionControl congestionControl, int maxFlows, int initialWindowPackets,
                               Duration initialRtt, Duration maxAckDelay, Duration pacingQuantum,
                               double bbrLossThreshold, Duration handshakeTimeout, Duration udpProbeInterval,
                               Duration qosInterval, int socketBufferBytes, Duration deadPeerTimeout,
                               UdpSecurity security) {

    public static final DatagramSettings DEFAULT = new DatagramSettings(true, CongestionControl.DEFAULT, 128, 10,
            Duration.ofMillis(333), Duration.ofMillis(25), Duration.ofMillis(1), 0.1, Duration.ofSeconds(2),
            Duration.ofSeconds(60), Duration.ofSeconds(1), 4 * 1024 * 1024, Duration.ofSeconds(5), null);

    public DatagramSettings {
        if (congestionControl == null) {
            throw new IllegalArgumentException("congestionControl: null (expected: n-flow or bbr)");
        }
        require(maxFlows >= 1 && maxFlows <= 10_000, "maxFlows", maxFlows, "1..10000");
        require(initialWindowPackets >= 2 && initialWindowPackets <= 1000, "initialWindowPackets",
                initialWindowPackets, "2..1000");
        require(positive(initialRtt), "initialRtt", initialRtt, "> 0");
        require(positive(maxAckDelay), "maxAckDelay", maxAckDelay, "> 0");
        require(positive(pacingQuantum), "pacingQuantum", pacingQuantum, "> 0");
        require(bbrLossThreshold > 0 && bbrLossThreshold <= 1, "bbrLossThreshold", bbrLossThreshold, "(0, 1]");
        require(positive(handshakeTimeout), "handshakeTimeout", handshakeTimeout, "> 0");
        require(positive(udpProbeInterval), "udpProbeInterval", udpProbeInterval, "> 0");
        require(positive(qosInterval), "qosInterval", qosInterval, "> 0");
        require(socketBufferBytes >= 64 * 1024, "socketBufferBytes", socketBufferBytes, ">= 65536");
        require(positive(deadPeerTimeout), "deadPeerTimeout", deadPeerTimeout, "> 0");
    }

    private static boolean positive(Duration d) {
        return d != null && !d.isNegative() && !d.isZero();
    }

    private static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: " + expected + ")");
        }
    }

    public DatagramSettings withCongestionControl(CongestionControl c) {
        return new DatagramSettings(udp, c, maxFlows, initialWindowPackets, initialRtt, maxAckDelay, pacingQuantum,
                bbrLossThreshold, handshakeTimeout, udpProbeInterval, qosInterval, socketBufferBytes, deadPeerTimeout, security);
    }

    public DatagramSettings withUdp(boolean on) {
        return new DatagramSettings(on, congestionControl, maxFlows, initialWindowPackets, initialRtt, maxAckDelay,
                pacingQuantum, bbrLossThreshold, handshakeTimeout, udpProbeInterval, qosInterval, socketBufferBytes, deadPeerTimeout, security);
    }

    public DatagramSettings withMaxFlows(int n) {
        return new DatagramSettings(udp, congestionControl, n, initialWindowPackets, initialRtt, maxAckDelay,
                pacingQuantum, bbrLossThreshold, handshakeTimeout, udpProbeInterval, qosInterval, socketBufferBytes, deadPeerTimeout, security);
    }

    public DatagramSettings withHandshakeTimeout(Duration d) {
        return new DatagramSettings(udp, congestionControl, maxFlows, initialWindowPackets, initialRtt, maxAckDelay,
                pacingQuantum, bbrLossThreshold, d, udpProbeInterval, qosInterval, socketBufferBytes, deadPeerTimeout, security);
    }

    /** The same with UDP encryption: {@code s} for every link of the carrier, or null for plain text. */
    public DatagramSettings withSecurity(UdpSecurity s) {
        return new DatagramSettings(udp, congestionControl, maxFlows, initialWindowPackets, initialRtt, maxAckDelay,
                pacingQuantum, bbrLossThreshold, handshakeTimeout, udpProbeInterval, qosInterval, socketBufferBytes, deadPeerTimeout, s);
    }

    public DatagramSettings withDeadPeerTimeout(Duration d) {
        return new DatagramSettings(udp, congestionControl, maxFlows, initialWindowPackets, initialRtt, maxAckDelay,
                pacingQuantum, bbrLossThreshold, handshakeTimeout, udpProbeInterval, qosInterval, socketBufferBytes, d,
                security);
    }

    public DatagramSettings withUdpProbeInterval(Duration d) {
        return new DatagramSettings(udp, congestionControl, maxFlows, initialWindowPackets, initialRtt, maxAckDelay,
                pacingQuantum, bbrLossThreshold, handshakeTimeout, d, qosInterval, socketBufferBytes, deadPeerTimeout, security);
    }
}
