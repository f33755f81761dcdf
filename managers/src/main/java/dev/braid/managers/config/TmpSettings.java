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
 */
public record TmpSettings(Integer packetBytes, Integer subPacketBytes, String blenderPolicy, List<Integer> ringWeights,
                          Double rateLimitMbps, String carrier, String congestionControl) {

    public static final TmpSettings DEFAULT = new TmpSettings(null, null, null, null, null, null, null);

    public TmpSettings(Integer packetBytes, Integer subPacketBytes, String blenderPolicy, List<Integer> ringWeights) {
        this(packetBytes, subPacketBytes, blenderPolicy, ringWeights, null, null, null);
    }

    public TmpSettings(Integer packetBytes, Integer subPacketBytes, String blenderPolicy, List<Integer> ringWeights,
                       Double rateLimitMbps) {
        this(packetBytes, subPacketBytes, blenderPolicy, ringWeights, rateLimitMbps, null, null);
    }

    public TmpSettings {
        packetBytes = packetBytes == null ? 1400 : packetBytes;
        subPacketBytes = subPacketBytes == null ? 512 : subPacketBytes;
        blenderPolicy = blenderPolicy == null ? "per-connection" : blenderPolicy;
        ringWeights = ringWeights == null ? List.of(16, 8, 4, 2, 1) : List.copyOf(ringWeights);
        rateLimitMbps = rateLimitMbps == null ? 0.0 : rateLimitMbps;
        carrier = carrier == null ? "udp" : carrier;
        congestionControl = congestionControl == null ? "bbr" : congestionControl;
    }
}
