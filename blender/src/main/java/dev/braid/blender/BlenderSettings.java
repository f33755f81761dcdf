package dev.braid.blender;

import java.util.Arrays;

/**
 * Immutable settings of a {@link Blender}; changed live with {@link Blender#update}, which keeps
 * every queued byte in order and applies the new values from the next sub-packet on.
 *
 * @param weights        weight per ring, ring 0 the highest priority; the number of rings is
 *                       {@code weights.length} (1 to {@value #MAX_RINGS}, five by default:
 *                       16, 8, 4, 2, 1). A weight is 0 to {@value #MAX_WEIGHT}; a ring of weight 0
 *                       is served only while no ring of positive weight is ready (a scavenger class)
 * @param subPacketBytes largest payload, in bytes, taken from one stream per sub-packet: one
 *                       stream's turn in the round robin of its ring (16 to 65535, default 512)
 * @param policy         how rings share the link (default {@link Policy#PER_CONNECTION})
 * @param passBytes      longest pass of the per-connection loop, in link bytes: the most one
 *                       computation of the normalised send amounts may schedule before they are
 *                       computed again (at least {@code subPacketBytes}, at most 2^30, default
 *                       16384). The seed sizes a pass to empty the ring with the most ready
 *                       connections; this bound keeps priority acting within a few packets while a
 *                       large backlog waits (see docs/blender.md). Not used by {@link Policy#PER_CLASS}
 */
public record BlenderSettings(int[] weights, int subPacketBytes, Policy policy, int passBytes) {

    public static final int MAX_RINGS = 64;
    public static final int MAX_WEIGHT = 1_000_000;
    public static final int DEFAULT_SUB_PACKET_BYTES = 512;
    public static final int DEFAULT_PASS_BYTES = 8_192;

    /** How rings share the link when several are ready. */
    public enum Policy {
        /**
         * The seed's normalisation: every ready connection gets its class's weight, so a ring's
         * share of the link is nReady x Weight over the sum of that product across ready rings.
         */
        PER_CONNECTION,
        /**
         * Deficit round robin over rings (Shreedhar and Varghese): each class gets a share
         * proportional to its weight, whatever its number of connections.
         */
        PER_CLASS;

        /** Parses the configuration spelling, {@code per-connection} or {@code per-class}. */
        public static Policy parse(String name) {
            if (name != null) {
                switch (name) {
                    case "per-connection":
                        return PER_CONNECTION;
                    case "per-class":
                        return PER_CLASS;
                    default:
                        break;
                }
            }
            throw new IllegalArgumentException(
                    "blender.policy: " + name + " (expected: per-connection or per-class)");
        }

        /** The configuration spelling. */
        public String configName() {
            return this == PER_CONNECTION ? "per-connection" : "per-class";
        }
    }

    public static final BlenderSettings DEFAULT =
            new BlenderSettings(new int[] {16, 8, 4, 2, 1}, DEFAULT_SUB_PACKET_BYTES, Policy.PER_CONNECTION);

    public BlenderSettings {
        if (weights == null || weights.length == 0 || weights.length > MAX_RINGS) {
            throw new IllegalArgumentException("weights: " + Arrays.toString(weights)
                    + " (expected: 1 to " + MAX_RINGS + " rings)");
        }
        for (int w : weights) {
            if (w < 0 || w > MAX_WEIGHT) {
                throw new IllegalArgumentException("weights: " + Arrays.toString(weights)
                        + " (expected: each 0.." + MAX_WEIGHT + ")");
            }
        }
        if (subPacketBytes < 16 || subPacketBytes > 65_535) {
            throw new IllegalArgumentException("subPacketBytes: " + subPacketBytes + " (expected: 16..65535)");
        }
        if (policy == null) {
            throw new IllegalArgumentException("policy: null (expected: PER_CONNECTION or PER_CLASS)");
        }
        if (passBytes < subPacketBytes || passBytes > 1 << 30) {
            throw new IllegalArgumentException("passBytes: " + passBytes
                    + " (expected: " + subPacketBytes + ".." + (1 << 30) + ", at least subPacketBytes)");
        }
        weights = weights.clone();
    }

    /** Settings with the default pass bound ({@value #DEFAULT_PASS_BYTES} bytes). */
    public BlenderSettings(int[] weights, int subPacketBytes, Policy policy) {
        this(weights, subPacketBytes, policy, Math.max(DEFAULT_PASS_BYTES, subPacketBytes));
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

    public BlenderSettings withWeights(int... newWeights) {
        return new BlenderSettings(newWeights, subPacketBytes, policy, passBytes);
    }

    public BlenderSettings withSubPacketBytes(int newSubPacketBytes) {
        return new BlenderSettings(weights, newSubPacketBytes, policy, Math.max(passBytes, newSubPacketBytes));
    }

    public BlenderSettings withPolicy(Policy newPolicy) {
        return new BlenderSettings(weights, subPacketBytes, newPolicy, passBytes);
    }

    public BlenderSettings withPassBytes(int newPassBytes) {
        return new BlenderSettings(weights, subPacketBytes, policy, newPassBytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlenderSettings s
                && Arrays.equals(weights, s.weights)
                && subPacketBytes == s.subPacketBytes
                && policy == s.policy
                && passBytes == s.passBytes;
    }

    @Override
    public int hashCode() {
        return ((Arrays.hashCode(weights) * 31 + subPacketBytes) * 31 + policy.hashCode()) * 31 + passBytes;
    }

    @Override
    public String toString() {
        return "BlenderSettings[weights=" + Arrays.toString(weights) + ", subPacketBytes=" + subPacketBytes
                + ", policy=" + policy.configName() + ", passBytes=" + passBytes + "]";
    }
}
