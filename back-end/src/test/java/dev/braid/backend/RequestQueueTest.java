package dev.braid.backend;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The wait queue in virtual time: order, bound, displacement, deadlines. */
class RequestQueueTest {

    private static final long MS = 1_000_000L;

    private static List<String> order(RequestQueue<String> q) {
        List<String> out = new ArrayList<>();
        q.inOrder().forEachRemaining(e -> out.add(e.value));
        return out;
    }

    @Test
    void releasedByPriorityThenArrival() {
        RequestQueue<String> q = new RequestQueue<>();
        q.offer("a-ring3", 3, 0, 100 * MS, 10);
        q.offer("b-ring0", 0, 1, 100 * MS, 10);
        q.offer("c-ring2", 2, 2, 100 * MS, 10);
        q.offer("d-ring0", 0, 3, 100 * MS, 10);
        assertEquals(List.of("b-ring0", "d-ring0", "c-ring2", "a-ring3"), order(q));
    }

    @Test
    void deadlinesExpireInOrderAndOnlyWhenDue() {
        RequestQueue<String> q = new RequestQueue<>();
        q.offer("early", 4, 0, 100 * MS, 10);
        q.offer("late", 0, 50 * MS, 100 * MS, 10);
        assertEquals(100 * MS, q.nextDeadline());
        assertEquals(List.of(), q.expire(99 * MS));
        assertEquals(List.of("early"), q.expire(100 * MS).stream().map(e -> e.value).toList());
        assertEquals(List.of("late"), q.expire(1000 * MS).stream().map(e -> e.value).toList());
        assertEquals(Long.MAX_VALUE, q.nextDeadline());
        assertEquals(0, q.size());
    }

    @Test
    void whenFullAHigherPriorityArrivalDisplacesTheLastAndOthersAreRefused() {
        RequestQueue<String> q = new RequestQueue<>();
        q.offer("r1-first", 1, 0, MS, 2);
        q.offer("r2", 2, 0, MS, 2);
        RequestQueue.Offer<String> same = q.offer("r2-later", 2, 0, MS, 2);
        assertNull(same.queued());
        assertEquals("r2-later", same.refused().value);
        RequestQueue.Offer<String> higher = q.offer("r0", 0, 0, MS, 2);
        assertEquals("r0", higher.queued().value);
        assertEquals("r2", higher.refused().value);
        assertEquals(List.of("r0", "r1-first"), order(q));
        assertEquals(List.of("r1-first", "r0"), q.expire(MS).stream().map(e -> e.value).toList(),
                "a displaced entry leaves no deadline behind; equal deadlines expire in arrival order");
    }

    @Test
    void aZeroCapacityQueueRefusesEverything() {
        RequestQueue<String> q = new RequestQueue<>();
        RequestQueue.Offer<String> o = q.offer("x", 0, 0, MS, 0);
        assertNull(o.queued());
        assertEquals("x", o.refused().value);
    }

    @Test
    void removalThroughTheIteratorAndDirectly() {
        RequestQueue<String> q = new RequestQueue<>();
        RequestQueue.Entry<String> a = q.offer("a", 0, 0, 10 * MS, 10).queued();
        q.offer("b", 1, 0, 20 * MS, 10);
        q.offer("c", 2, 0, 30 * MS, 10);
        Iterator<RequestQueue.Entry<String>> it = q.inOrder();
        assertSame(a, it.next());
        assertEquals("b", it.next().value);
        it.remove();
        assertEquals(List.of("a", "c"), order(q));
        assertEquals(true, q.remove(a));
        assertEquals(false, q.remove(a));
        assertEquals(30 * MS, q.nextDeadline());
        assertEquals(List.of("c"), q.clear().stream().map(e -> e.value).toList());
        assertEquals(true, q.isEmpty());
    }
}
