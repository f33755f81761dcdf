package dev.braid.tmp.sim;

import dev.braid.tmp.DatagramEndpoint;

import java.util.function.LongSupplier;

/**
 * A flow to put on a simulated path: an endpoint for each side and a count of the application
 * bytes it has delivered in order (its goodput counter). {@link SimRenoFlow} is one; wrap any
 * pair of {@link DatagramEndpoint}s with {@link #of}.
 */
public interface SimFlow {

    /** The endpoint on side A. */
    DatagramEndpoint sideA();

    /** The endpoint on side B. */
    DatagramEndpoint sideB();

    /** Application bytes delivered in order so far, in whichever direction(s) the flow carries data. */
    long deliveredBytes();

    /** This flow with its sides swapped, so that what it sends from A travels from B instead. */
    default SimFlow reversed() {
        SimFlow self = this;
        return of(sideB(), sideA(), self::deliveredBytes);
    }

    /** A flow of two endpoints whose goodput counter is {@code deliveredBytes}. */
    static SimFlow of(DatagramEndpoint sideA, DatagramEndpoint sideB, LongSupplier deliveredBytes) {
        if (sideA == null || sideB == null || deliveredBytes == null) {
            throw new IllegalArgumentException("flow: " + sideA + ", " + sideB + ", " + deliveredBytes
                    + " (expected: two endpoints and a delivered-bytes counter)");
        }
        return new SimFlow() {
            @Override
            public DatagramEndpoint sideA() {
                return sideA;
            }

            @Override
            public DatagramEndpoint sideB() {
                return sideB;
            }

            @Override
            public long deliveredBytes() {
                return deliveredBytes.getAsLong();
            }
        };
    }
}
