package dev.braid.blender;

import java.util.Arrays;

/**
 * Immutable settings of a {@link Blender}; changed live with {@link Blender#update}.
 *
 * @param weights        weight per ring, ring 0 is the highest priority; the number of rings is
 *                       {@code weights.length} (five by default)
 * @param subPacketBytes largest payload taken from one stream per sub-packet (default 512)
 * @param policy         how rings share the link
 */
public record BlenderSettings(int[] weights, int subPacketBytes, Policy policy) {

    /** How rings share the link when several are ready. */
    public enum Policy {
        /** The seed's normalisation: every ready connection gets its class's weight; a ring's share is nReady x Weight. */
        PER_CONNECTION,
        /** Deficit round robin over rings: each class gets its weight's share whatever its number of connections. */
        PER_CLASS;

        public static Policy parse(String name) {
            return switch (name) {
                case "per-connection" -> PER_CONNECTION;
                case "per-class" -> PER_CLASS;
                default -> throw new IllegalArgumentException(
                        "blender.policy: " + name + " (expected: per-connection or per-class)");
            };
        }
    }

    public static final BlenderSettings DEFAULT =
            new BlenderSettings(new int[] {16, 8, 4, 2, 1}, 512, Policy.PER_CONNECTION);

    public BlenderSettings {
        if (weights == null || weights.length == 0 || weights.length > 64) {
            throw new IllegalArgumentException("weights: " + Arrays.toString(weights) + " (expected: 1 to 64 rings)");
        }
        for (int w : weights) {
            if (w < 1) {
                throw new IllegalArgumentException("weights: " + Arrays.toString(weights) + " (expected: each >= 1)");
            }
        }
        if (subPacketBytes < 16 || subPacketBytes > 65_535) {
            throw new IllegalArgumentException("subPacketBytes: " + subPacketBytes + " (expected: 16..65535)");
        }
        if (policy == null) {
            throw new IllegalArgumentException("policy: null (expected: PER_CONNECTION or PER_CLASS)");
        }
        weights = weights.clone();
    }

    @Override
    public int[] weights() {
        return weights.clone();
    }

    public int rings() {
        return weights.length;
    }

    public int weight(int ring) {
        return weights[ring];
    }
}
