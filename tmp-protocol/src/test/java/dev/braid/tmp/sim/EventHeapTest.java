package dev.braid.tmp.sim;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The event heap against a sorted list: random schedules, reschedules and removals. */
class EventHeapTest {

    static final class E extends EventHeap.Event {
        final int id;

        E(int id) {
            this.id = id;
        }
    }

    @Test
    void pollsInTimeThenSchedulingOrder() {
        EventHeap heap = new EventHeap();
        E a = new E(1);
        E b = new E(2);
        E c = new E(3);
        heap.schedule(a, 10);
        heap.schedule(b, 5);
        heap.schedule(c, 10);
        assertSame(b, heap.poll());
        assertSame(a, heap.poll());
        assertSame(c, heap.poll());
        assertNull(heap.poll());
    }

    @Test
    void rescheduledEventTakesItsNewPlaceAndLosesItsTie() {
        EventHeap heap = new EventHeap();
        E a = new E(1);
        E b = new E(2);
        heap.schedule(a, 10);
        heap.schedule(b, 10);
        heap.schedule(a, 10);
        assertEquals(2, heap.size());
        assertSame(b, heap.poll());
        assertSame(a, heap.poll());
    }

    @Test
    void matchesASortedReferenceUnderRandomOperations() {
        SplittableRandom random = new SplittableRandom(42);
        EventHeap heap = new EventHeap();
        List<E> all = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            all.add(new E(i));
        }
        List<E> reference = new ArrayList<>();
        Comparator<E> order = Comparator.<E>comparingLong(e -> e.time).thenComparingLong(e -> e.order);
        for (int step = 0; step < 200_000; step++) {
            int op = random.nextInt(10);
            if (op < 5) {
                E e = all.get(random.nextInt(all.size()));
                heap.schedule(e, random.nextLong(1000));
                if (!reference.contains(e)) {
                    reference.add(e);
                }
            } else if (op < 7) {
                E e = all.get(random.nextInt(all.size()));
                heap.remove(e);
                reference.remove(e);
                assertFalse(e.scheduled());
            } else {
                reference.sort(order);
                EventHeap.Event polled = heap.poll();
                if (reference.isEmpty()) {
                    assertNull(polled);
                } else {
                    assertSame(reference.remove(0), polled);
                }
            }
            assertEquals(reference.size(), heap.size());
        }
        List<EventHeap.Event> drained = new ArrayList<>();
        heap.drainTo(drained::add);
        assertEquals(reference.size(), drained.size());
        assertTrue(drained.stream().noneMatch(EventHeap.Event::scheduled));
        assertEquals(0, heap.size());
    }
}
