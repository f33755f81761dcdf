package dev.braid.tmp;

import java.util.Arrays;

/**
 * Disjoint, ascending ranges of packet numbers, each {@code [start, end]} inclusive: what a
 * receiver has seen (and reports in ACK frames) or what an ACK frame says. The receiver's set is
 * bounded: beyond {@code capacity} ranges the oldest are forgotten (an ACK then reports fewer
 * ranges, which costs at most a spurious retransmission, never a wrong acknowledgement).
 */
public final class AckRanges {

    private long[] starts;
    private long[] ends;
    private int size;
    private final int capacity;

    public AckRanges(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
        }
        this.capacity = capacity;
        int initial = Math.min(capacity, 8);
        this.starts = new long[initial];
        this.ends = new long[initial];
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Start of range {@code i}, ranges in ascending order. */
    public long start(int i) {
        return starts[i];
    }

    public long end(int i) {
        return ends[i];
    }

    /** The largest number in the set, or -1 when empty. */
    public long largest() {
        return size == 0 ? -1 : ends[size - 1];
    }

    public boolean contains(long pn) {
        int i = find(pn);
        return i >= 0 && starts[i] <= pn && pn <= ends[i];
    }

    /** Index of the last range whose start is <= pn, or -1. */
    private int find(long pn) {
        int lo = 0;
        int hi = size - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (starts[mid] <= pn) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    /** Adds one number; returns false when it was already there (a duplicate packet). */
    public boolean add(long pn) {
        int i = find(pn);
        if (i >= 0 && pn <= ends[i]) {
            return false;
        }
        boolean joinsLeft = i >= 0 && ends[i] == pn - 1;
        boolean joinsRight = i + 1 < size && starts[i + 1] == pn + 1;
        if (joinsLeft && joinsRight) {
            ends[i] = ends[i + 1];
            remove(i + 1);
        } else if (joinsLeft) {
            ends[i] = pn;
        } else if (joinsRight) {
            starts[i + 1] = pn;
        } else {
            insert(i + 1, pn, pn);
        }
        return true;
    }

    /** Adds a range below every present one (decoding an ACK frame, newest range first). */
    void prepend(long start, long end) {
        insert(0, start, end);
    }

    /** Forgets every number below {@code pn}. */
    public void removeBelow(long pn) {
        int drop = 0;
        while (drop < size && ends[drop] < pn) {
            drop++;
        }
        if (drop > 0) {
            System.arraycopy(starts, drop, starts, 0, size - drop);
            System.arraycopy(ends, drop, ends, 0, size - drop);
            size -= drop;
        }
        if (size > 0 && starts[0] < pn) {
            starts[0] = pn;
        }
    }

    private void insert(int at, long start, long end) {
        if (size == starts.length) {
            if (size == capacity) {
                if (at == 0) {
                    return;
                }
                remove(0);
                at--;
            } else {
                int grown = Math.min(capacity, size * 2);
                starts = Arrays.copyOf(starts, grown);
                ends = Arrays.copyOf(ends, grown);
            }
        }
        System.arraycopy(starts, at, starts, at + 1, size - at);
        System.arraycopy(ends, at, ends, at + 1, size - at);
        starts[at] = start;
        ends[at] = end;
        size++;
    }

    private void remove(int at) {
        System.arraycopy(starts, at + 1, starts, at, size - at - 1);
        System.arraycopy(ends, at + 1, ends, at, size - at - 1);
        size--;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < size; i++) {
            b.append(i == 0 ? "" : ", ").append(starts[i]).append("..").append(ends[i]);
        }
        return b.append(']').toString();
    }
}
