package dev.braid.tmp.sim;

/** A direction of the simulated path: side A (a flow's first endpoint) to side B, or back. */
public enum Direction {
    A_TO_B,
    B_TO_A;

    /** The other direction. */
    public Direction reverse() {
        return this == A_TO_B ? B_TO_A : A_TO_B;
    }
}
