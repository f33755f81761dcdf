package dev.braid.managers.config;

import java.util.List;

/**
 * Settings of every TMP link and its blender.
 *
 * @param packetBytes    payload bytes per TMP packet (default 1400)
 * @param subPacketBytes largest sub-packet the blender takes from one stream (default 512)
 * @param blenderPolicy  {@code per-connection} (the seed's normalisation) or {@code per-class} (DRR)
 * @param ringWeights    default weight per ring, ring 0 first, used for rings no client class names
 * @param rateLimitMbps  cap on each link's send rate per direction, in Mbit/s; 0 for none (default).
 *                       Above the cap data waits in the blender, where priority decides what goes.
 * @param carrier        {@code udp} (default: UDP first, TCP where no UDP handshake completes in 2 s)
 *                       or {@code tcp} (TCP only)
 * @param congestionControl controller of UDP links: {@code bbr} (default) or {@code n-flow}
 * @param security       protection of TMP links: {@code required} (a node without its identity files refuses
 *                       to start), {@code plaintext} (links in plain text on purpose, logged loudly at start),
 *                       or {@code auto} (default: encrypted where the node has its identity files, plain text,
 *                       logged loudly, where it has none; what nodes did before this setting existed)
 * @param keyUpdatePackets packets a UDP link sends under one key before it moves to the next (default 2^20)
 * @param keyUpdateSeconds seconds a UDP link sends under one key before it moves to the next (default 120)
 * @param deadPeerTimeoutMillis a UDP link with data in flight and no acknowledgement for this long (and at
 *                       least 3 probe timeouts) is declared lost and reconnected, long before the 30 s idle
 *                       timeout (default 5000)
 */
public record TmpSettings(Integer packetBytes, Integer subPacketBytes, String blenderPolicy, List<Integer> ringWeights,
                          Double rateLimitMbps, String carrier, String congestionControl, String security,
                          Long keyUpdatePackets, Integer keyUpdateSeconds, Integer deadPeerTimeoutMillis) {

    public static final TmpSettings DEFAULT = new TmpSettings(null, null, null, null, null, null, null);

    public static final String SECURITY_AUTO = "auto";
    public static final String SECURITY_REQUIRED = "required";
    public static final String SECURITY_PLAINTEXT = "plaintext";
    public static final long DEFAULT_KEY_UPDATE_PACKETS = 1L << 20;
    public static final int DEFAULT_KEY_UPDATE_SECONDS = 120;
    public static final int DEFAULT_DEAD_PEER_TIMEOUT_MILLIS = 5000;

    public TmpSettings(Integer packetBytes, Integer subPacketBytes, String blenderPolicy, List<Integer> ringWeights) {
        this(packetBytes, subPacketBytes, blenderPolicy, ringWeights, null, null, null);
    }

    public TmpSettings(Integer packetBytes, Integer subPacketBytes, String blenderPolicy, List<Integer> ringWeights,
                       Double rateLimitMbps) {
        this(packetBytes, subPacketBytes, blenderPolicy, ringWeights, rateLimitMbps, null, null);
    }

    public TmpSettings(Integer packetBytes, Integer subPacketBytes, String blenderPolicy, List<Integer> ringWeights,
                       Double rateLimitMbps, String carrier, String congestionControl) {
        this(packetBytes, subPacketBytes, blenderPolicy, ringWeights, rateLimitMbps, carrier, congestionControl, null,
                null, null, null);
    }

    public TmpSettings {
        packetBytes = packetBytes == null ? 1400 : packetBytes;
        subPacketBytes = subPacketBytes == null ? 512 : subPacketBytes;
        blenderPolicy = blenderPolicy == null ? "per-connection" : blenderPolicy;
        ringWeights = ringWeights == null ? List.of(16, 8, 4, 2, 1) : List.copyOf(ringWeights);
        rateLimitMbps = rateLimitMbps == null ? 0.0 : rateLimitMbps;
        carrier = carrier == null ? "udp" : carrier;
        congestionControl = congestionControl == null ? "bbr" : congestionControl;
        security = security == null ? SECURITY_AUTO : security;
        keyUpdatePackets = keyUpdatePackets == null ? DEFAULT_KEY_UPDATE_PACKETS : keyUpdatePackets;
        keyUpdateSeconds = keyUpdateSeconds == null ? DEFAULT_KEY_UPDATE_SECONDS : keyUpdateSeconds;
        deadPeerTimeoutMillis = deadPeerTimeoutMillis == null ? DEFAULT_DEAD_PEER_TIMEOUT_MILLIS : deadPeerTimeoutMillis;
    }
}
