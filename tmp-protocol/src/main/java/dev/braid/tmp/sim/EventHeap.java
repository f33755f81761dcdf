package dev.braid.tmp.sim;

import java.util.Arrays;

/**
 * The simulator's event queue: a binary min-heap ordered by time, then by the order events were
 * scheduled, so that simultaneous events run first-scheduled-first and a run is reproducible.
 * Events remember their heap slot, so a rescheduled timer moves in place (O(log n)) instead of
 * leaving a stale entry behind, and event objects are reused rather than allocated per packet.
 */
final class EventHeap {

    /** Something that happens at a point of virtual time. */
    abstract static class Event {
        long time;
        long order;
        int slot = -1;

        boolean scheduled() {
            return slot >= 0;
        }
    }

    private Event[] heap = new Event[1024];
    private int size;
    private long nextOrder;

    int size() {
        return size;
    }

    /** The earliest event, or null. */
    Event peek() {
        return size == 0 ? null : heap[0];
    }

    /** Schedules {@code e} at {@code time}; moves it if it is already scheduled. */
    void schedule(Event e, long time) {
        schedule(e, time, nextOrder++);
    }

    /**
     * A tie-breaking number for an event to be scheduled later with {@link #schedule(Event, long, long)}:
     * events queued outside the heap (in a FIFO whose head stands for them) keep their place among
     * simultaneous events this way.
     */
    long nextOrder() {
        return nextOrder++;
    }

    /** Schedules {@code e} at {@code time} with a tie-breaking number from {@link #nextOrder()}. */
    void schedule(Event e, long time, long order) {
        e.time = time;
        e.order = order;
        if (e.slot >= 0) {
            int slot = e.slot;
            siftUp(slot);
            if (e.slot == slot) {
                siftDown(slot);
            }
            return;
        }
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        heap[size] = e;
        e.slot = size;
        size++;
        siftUp(size - 1);
    }

    /** Removes and returns the earliest event, or null. */
    Event poll() {
        if (size == 0) {
            return null;
        }
        Event first = heap[0];
        removeAt(0);
        return first;
    }

    /** Unschedules {@code e} if it is scheduled. */
    void remove(Event e) {
        if (e.slot >= 0) {
            removeAt(e.slot);
        }
    }

    /** Empties the queue, handing every event to {@code sink} (for releasing what it holds). */
    void drainTo(java.util.function.Consumer<Event> sink) {
        Event[] events = Arrays.copyOf(heap, size);
        Arrays.fill(heap, 0, size, null);
        size = 0;
        for (Event e : events) {
            e.slot = -1;
            sink.accept(e);
        }
    }

    private void removeAt(int slot) {
        Event removed = heap[slot];
        removed.slot = -1;
        size--;
        if (slot == size) {
            heap[size] = null;
            return;
        }
        Event last = heap[size];
        heap[size] = null;
        heap[slot] = last;
        last.slot = slot;
        siftUp(slot);
        if (last.slot == slot) {
            siftDown(slot);
        }
    }

    private static boolean before(Event a, Event b) {
        return a.time < b.time || (a.time == b.time && a.order < b.order);
    }

    private void siftUp(int slot) {
        Event e = heap[slot];
        while (slot > 0) {
            int parent = (slot - 1) >>> 1;
            Event p = heap[parent];
            if (!before(e, p)) {
                break;
            }
            heap[slot] = p;
            p.slot = slot;
            slot = parent;
        }
        heap[slot] = e;
        e.slot = slot;
    }

    private void siftDown(int slot) {
        Event e = heap[slot];
        int half = size >>> 1;
        while (slot < half) {
            int child = 2 * slot + 1;
            Event c = heap[child];
            int right = child + 1;
            if (right < size && before(heap[right], c)) {
                child = right;
                c = heap[child];
            }
            if (!before(c, e)) {
                break;
            }
            heap[slot] = c;
            c.slot = slot;
            slot = child;
        }
        heap[slot] = e;
        e.slot = slot;
    }
}
