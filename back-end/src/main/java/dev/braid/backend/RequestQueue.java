package dev.braid.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

/**
 * The requests of one site waiting for an origin (queue 702 of FIG. 7): ordered by client
 * priority (the stream's ring, 0 first) and then arrival, bounded in size, each with a deadline.
 * Pure: time is an argument. When full, an arriving request of higher priority than the last
 * waiting one takes its place and that one is refused; otherwise the arrival is refused.
 *
 * <p>Not thread-safe: owned by its site's dispatcher loop.
 *
 * @param <T> what waits (the back-end's ticket; anything in tests)
 */
final class RequestQueue<T> {

    /** One waiting request. */
    static final class Entry<T> {
        final T value;
        final int ring;
        final long seq;
        final long deadline;

        private Entry(T value, int ring, long seq, long deadline) {
            this.value = value;
            this.ring = ring;
            this.seq = seq;
            this.deadline = deadline;
        }

        @Override
        public String toString() {
            return "ring " + ring + " #" + seq + ": " + value;
        }
    }

    /** What {@link #offer} did: the entry now waiting (or null), and the one refused (or null). */
    record Offer<T>(Entry<T> queued, Entry<T> refused) {
    }

    private static final Comparator<Entry<?>> BY_PRIORITY =
            Comparator.<Entry<?>>comparingInt(e -> e.ring).thenComparingLong(e -> e.seq);
    private static final Comparator<Entry<?>> BY_DEADLINE =
            Comparator.<Entry<?>>comparingLong(e -> e.deadline).thenComparingLong(e -> e.seq);

    private final TreeSet<Entry<T>> byPriority = new TreeSet<>(BY_PRIORITY);
    private final TreeSet<Entry<T>> byDeadline = new TreeSet<>(BY_DEADLINE);
    private long nextSeq;

    /**
     * Adds a request that arrived at {@code now} on {@code ring}, to wait at most {@code timeoutNanos}
     * in a queue of at most {@code capacity}.
     */
    Offer<T> offer(T value, int ring, long now, long timeoutNanos, int capacity) {
        Entry<T> e = new Entry<>(value, ring, nextSeq++, now + timeoutNanos);
        if (byPriority.size() < capacity) {
            add(e);
            return new Offer<>(e, null);
        }
        Entry<T> last = byPriority.isEmpty() ? null : byPriority.last();
        if (last == null || last.ring <= ring) {
            return new Offer<>(null, e);
        }
        remove(last);
        add(e);
        return new Offer<>(e, last);
    }

    private void add(Entry<T> e) {
        byPriority.add(e);
        byDeadline.add(e);
    }

    /** Removes an entry (it was dispatched or cancelled); false if it was not waiting. */
    boolean remove(Entry<T> e) {
        boolean removed = byPriority.remove(e);
        byDeadline.remove(e);
        return removed;
    }

    /** Removes and returns every entry whose deadline is at or before {@code now}, earliest first. */
    List<Entry<T>> expire(long now) {
        List<Entry<T>> out = new ArrayList<>();
        while (!byDeadline.isEmpty() && byDeadline.first().deadline - now <= 0) {
            Entry<T> e = byDeadline.pollFirst();
            byPriority.remove(e);
            out.add(e);
        }
        return out;
    }

    /** The earliest deadline of a waiting entry, or {@code Long.MAX_VALUE} when empty. */
    long nextDeadline() {
        return byDeadline.isEmpty() ? Long.MAX_VALUE : byDeadline.first().deadline;
    }

    /** Waiting entries in release order (priority, then arrival); removal through the iterator is allowed. */
    Iterator<Entry<T>> inOrder() {
        Iterator<Entry<T>> it = byPriority.iterator();
        return new Iterator<>() {
            Entry<T> current;

            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public Entry<T> next() {
                current = it.next();
                return current;
            }

            @Override
            public void remove() {
                it.remove();
                byDeadline.remove(current);
            }
        };
    }

    /** Removes and returns every waiting entry, in release order. */
    List<Entry<T>> clear() {
        List<Entry<T>> out = new ArrayList<>(byPriority);
        byPriority.clear();
        byDeadline.clear();
        return out;
    }

    int size() {
        return byPriority.size();
    }

    boolean isEmpty() {
        return byPriority.isEmpty();
    }
}
