package dev.braid.tmp.sim;

import dev.braid.tmp.DatagramEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A deterministic discrete-event network simulator for {@link DatagramEndpoint}s: a virtual clock
 * in nanoseconds, an event heap, and one path between side A and side B with a {@link PathConfig}
 * per direction. Every random draw comes from a {@link SplittableRandom} split off the seed, one
 * stream per direction and impairment, so a seed reproduces a run exactly and turning one
 * impairment on does not reshuffle the draws of another.
 *
 * <p>The model, per datagram: an endpoint's datagram first crosses its own access link (rate
 * {@code accessRateBitsPerSecond}, FIFO behind a send buffer of {@code sendBufferBytes}, like a
 * socket buffer and NIC; while the buffer is full the endpoint is not polled, as a real driver
 * stops writing while its channel is not writable). It then enters the direction's bottleneck,
 * which every flow on that side shares: drop-tail FIFO of {@code queueLimitBytes}, serialised at the
 * configured rate. After the bottleneck come blackouts, random and bursty loss, delay, jitter,
 * reordering and duplication (see {@link PathConfig}). Wire size is the datagram's readable bytes
 * plus {@code headerOverheadBytes} (28: IPv4 + UDP); datagrams above {@code mtuBytes} are dropped.
 *
 * <p>Endpoints are driven as a real driver drives them: after every call into an endpoint
 * (start, {@code receive}, {@code onTimeout}) the simulator polls it until it returns null or its
 * send buffer fills, then arms its timer at {@code nextTimeoutNanos()}; when the timer fires it
 * calls {@code onTimeout} and polls again. Processing takes no virtual time. Endpoints whose state
 * did not change are not polled; an action run through {@link #schedule} may change anything, so
 * after it every endpoint is polled.
 *
 * <p>Buffers: every datagram the simulator drops is released at once; {@link #close()} releases
 * those still in flight. An exception thrown by an endpoint ends {@link #run} and leaves the
 * simulator unusable except for {@code close()}. Not thread-safe: one thread runs a simulation.
 */
public final class NetworkSimulator implements AutoCloseable {

    /** Packet hop kinds: leaving the sender's access link, arriving at the receiver. */
    private static final int NIC = 0;
    private static final int ARRIVAL = 1;

    /** Same-instant wake-ups without progress after which an endpoint is declared spinning. */
    private static final int SPIN_LIMIT = 100_000;

    private final EventHeap events = new EventHeap();
    private final Lane aToB;
    private final Lane bToA;
    private final List<FlowHandle> flows = new ArrayList<>();
    private final List<Port> ports = new ArrayList<>();
    private final Map<DatagramEndpoint, Port> portsByEndpoint = new IdentityHashMap<>();
    private final ArrayList<Packet> freePackets = new ArrayList<>();
    private final SplittableRandom random;
    private final ByteBufAllocator alloc;
    private final int headerOverheadBytes;
    private final int mtuBytes;
    private final long accessRateBitsPerSecond;
    private final long sendBufferBytes;
    private long now;
    private long processedEvents;
    private long sentDatagrams;
    private boolean running;
    private boolean broken;
    private boolean closed;

    private NetworkSimulator(Builder b, long accessRateBitsPerSecond) {
        SplittableRandom master = new SplittableRandom(b.seed);
        this.headerOverheadBytes = b.headerOverheadBytes;
        this.mtuBytes = b.mtuBytes;
        this.accessRateBitsPerSecond = accessRateBitsPerSecond;
        this.sendBufferBytes = b.sendBufferBytes;
        this.alloc = b.alloc;
        long rttNanos = b.aToB.delayNanos() + b.bToA.delayNanos();
        this.aToB = new Lane(Direction.A_TO_B, b.aToB, queueLimit(b.aToB, rttNanos, b.mtuBytes), master.split());
        this.bToA = new Lane(Direction.B_TO_A, b.bToA, queueLimit(b.bToA, rttNanos, b.mtuBytes), master.split());
        this.random = master.split();
    }

    /**
     * A builder: both directions 100 Mbit/s, 40 ms one way, one-BDP queues, no impairments; seed 1;
     * 28 bytes of header overhead; 1500-byte MTU; access links ten times the faster bottleneck;
     * 256 KiB send buffers; {@link ByteBufAllocator#DEFAULT}.
     */
    public static Builder builder() {
        return new Builder();
    }

    private static long queueLimit(PathConfig path, long rttNanos, int mtu) {
        if (path.queueLimitBytes() != PathConfig.QUEUE_ONE_BDP) {
            return path.queueLimitBytes();
        }
        double bdp = path.rateBitsPerSecond() / 8.0 * rttNanos / 1e9;
        return Math.max((long) bdp, 2L * mtu);
    }

    // ---------------------------------------------------------------- public API

    /** Attaches a flow whose endpoints start now: {@code a} on side A, {@code b} on side B. */
    public FlowHandle attach(String name, DatagramEndpoint a, DatagramEndpoint b) {
        return attach(name, a, b, now);
    }

    /** Attaches a flow whose endpoints are first polled at {@code startNanos} (not before now). */
    public FlowHandle attach(String name, DatagramEndpoint a, DatagramEndpoint b, long startNanos) {
        checkUsable();
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("flow.name: " + name + " (expected: a non-empty name)");
        }
        if (a == null || b == null || a == b) {
            throw new IllegalArgumentException("flow." + name + ".endpoints: " + a + ", " + b
                    + " (expected: two distinct endpoints)");
        }
        for (DatagramEndpoint e : List.of(a, b)) {
            Port p = portsByEndpoint.get(e);
            if (p != null) {
                throw new IllegalArgumentException("flow." + name + ".endpoints: " + e
                        + " (expected: an endpoint not attached yet; it belongs to flow " + p.flow.name + ")");
            }
        }
        if (startNanos < now) {
            throw new IllegalArgumentException("flow." + name + ".startNanos: " + startNanos
                    + " (expected: >= now, " + now + ")");
        }
        FlowHandle flow = new FlowHandle(name, flows.size());
        Port pa = new Port(a, flow, aToB);
        Port pb = new Port(b, flow, bToA);
        pa.peer = pb;
        pb.peer = pa;
        flow.a = pa;
        flow.b = pb;
        flows.add(flow);
        ports.add(pa);
        ports.add(pb);
        portsByEndpoint.put(a, pa);
        portsByEndpoint.put(b, pb);
        events.schedule(pa, startNanos);
        events.schedule(pb, startNanos);
        return flow;
    }

    /**
     * Runs {@code action} at {@code atNanos} of virtual time (for example to open a stream on an
     * endpoint); afterwards every started endpoint is polled.
     */
    public void schedule(long atNanos, Runnable action) {
        checkUsable();
        if (action == null) {
            throw new IllegalArgumentException("action: null (expected: something to run)");
        }
        if (atNanos < now) {
            throw new IllegalArgumentException("atNanos: " + atNanos + " (expected: >= now, " + now + ")");
        }
        Action a = new Action(action);
        events.schedule(a, atNanos);
    }

    /**
     * Has {@code endpoint}'s timer fire now (or at its start, if it has not started): it gets
     * {@code onTimeout} and is polled. For code that changes an endpoint from outside the
     * simulator's calls into that endpoint, for example a relay that feeds one endpoint from
     * another's {@code receive}.
     */
    public void wake(DatagramEndpoint endpoint) {
        checkUsable();
        Port port = portsByEndpoint.get(endpoint);
        if (port == null) {
            throw new IllegalArgumentException("endpoint: " + endpoint + " (expected: an attached endpoint)");
        }
        if (port.started && (!port.scheduled() || port.time > now)) {
            events.schedule(port, now);
        }
    }

    /** Processes every event up to and including {@code untilNanos}, then sets the clock there. */
    public void run(long untilNanos) {
        checkUsable();
        if (running) {
            throw new IllegalStateException("run() called from inside a run (from an endpoint or an action)");
        }
        if (untilNanos < now) {
            throw new IllegalArgumentException("untilNanos: " + untilNanos + " (expected: >= now, " + now + ")");
        }
        running = true;
        boolean completed = false;
        try {
            loop(untilNanos);
            now = untilNanos;
            completed = true;
        } finally {
            running = false;
            broken = !completed;
        }
    }

    private void loop(long untilNanos) {
        EventHeap.Event e;
        while ((e = events.peek()) != null && e.time <= untilNanos) {
            events.poll();
            now = e.time;
            processedEvents++;
            if (e instanceof Fifo q) {
                Packet p = q.pop();
                if (q.count > 0) {
                    Packet next = q.peek();
                    events.schedule(q, next.time, next.order);
                }
                hop(p);
            } else if (e instanceof Packet p) {
                hop(p);
            } else if (e instanceof Port port) {
                fireTimer(port);
            } else {
                runAction((Action) e);
            }
        }
    }

    /** Runs for {@code duration} of virtual time from now. */
    public void runFor(Duration duration) {
        run(now + duration.toNanos());
    }

    /** The virtual clock, in nanoseconds since the start. */
    public long now() {
        return now;
    }

    /** The allocator datagrams are allocated from (handed to {@code poll}). */
    public ByteBufAllocator alloc() {
        return alloc;
    }

    /** A new random stream split off this simulator's seed, for endpoints that need randomness. */
    public SplittableRandom splitRandom() {
        return random.split();
    }

    /** The flows attached so far, in attach order. */
    public List<FlowHandle> flows() {
        return Collections.unmodifiableList(flows);
    }

    /** Counts of one direction of the path up to now. */
    public PathStats pathStats(Direction direction) {
        return lane(direction).stats();
    }

    /** The queue limit in force in {@code direction}, in bytes. */
    public long queueLimitBytes(Direction direction) {
        return lane(direction).queueLimit;
    }

    /** Events processed so far (datagram hops, timers, actions). */
    public long processedEvents() {
        return processedEvents;
    }

    /** Datagrams endpoints have sent so far, both directions. */
    public long sentDatagrams() {
        return sentDatagrams;
    }

    /** Releases every datagram still in flight. The simulator cannot run afterwards. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        events.drainTo(e -> {
            if (e instanceof Fifo q) {
                while (q.count > 0) {
                    q.pop().buf.release();
                }
            } else if (e instanceof Packet p) {
                p.buf.release();
                p.buf = null;
            }
        });
    }

    // ---------------------------------------------------------------- driving endpoints

    private void checkUsable() {
        if (closed) {
            throw new IllegalStateException("the simulator is closed");
        }
        if (broken) {
            throw new IllegalStateException("an endpoint failed during an earlier run; only close() is allowed");
        }
    }

    private Lane lane(Direction d) {
        return d == Direction.A_TO_B ? aToB : bToA;
    }

    private void fireTimer(Port port) {
        if (!port.started) {
            port.started = true;
        } else {
            port.endpoint.onTimeout(now);
        }
        drain(port);
    }

    private void runAction(Action a) {
        a.action.run();
        for (int i = 0, n = ports.size(); i < n; i++) {
            Port p = ports.get(i);
            if (p.started) {
                drain(p);
            }
        }
    }

    /** Polls {@code port} until it has nothing to send or its send buffer is full, then re-arms its timer. */
    private void drain(Port port) {
        DatagramEndpoint ep = port.endpoint;
        while (!port.blocked) {
            ByteBuf datagram = ep.poll(now, alloc);
            if (datagram == null) {
                break;
            }
            send(port, datagram);
        }
        rearm(port);
    }

    private void rearm(Port port) {
        long t = port.endpoint.nextTimeoutNanos();
        if (t == Long.MAX_VALUE) {
            events.remove(port);
            return;
        }
        if (t <= now) {
            if (port.blocked) {
                // It wants to send; becoming writable polls it again.
                events.remove(port);
                return;
            }
            if (port.spinAt == now) {
                if (++port.spins > SPIN_LIMIT) {
                    throw new IllegalStateException("flow " + port.flow.name + " side " + port.side()
                            + ": endpoint asked " + SPIN_LIMIT + " times for a timeout at or before now ("
                            + now + " ns) without sending anything (nextTimeoutNanos " + t + ")");
                }
            } else {
                port.spinAt = now;
                port.spins = 1;
            }
            t = now;
        }
        if (!port.scheduled() || port.time != t) {
            events.schedule(port, t);
        }
    }

    private void send(Port port, ByteBuf datagram) {
        int wire = datagram.readableBytes() + headerOverheadBytes;
        sentDatagrams++;
        Counters c = port.counters;
        c.sentPackets++;
        c.sentBytes += wire;
        if (wire > mtuBytes) {
            datagram.release();
            c.oversizeDrops++;
            port.lane.counters.oversizeDrops++;
            return;
        }
        Packet p = obtainPacket();
        p.buf = datagram;
        p.wireBytes = wire;
        p.from = port;
        p.kind = NIC;
        long numerator = wire * 8_000_000_000L + port.nicCarry;
        long tx = numerator / accessRateBitsPerSecond;
        port.nicCarry = numerator - tx * accessRateBitsPerSecond;
        port.nicFreeAt = Math.max(now, port.nicFreeAt) + tx;
        port.nicQueuedBytes += wire;
        if (port.nicQueuedBytes >= sendBufferBytes) {
            port.blocked = true;
        }
        enqueue(port.nic, p, port.nicFreeAt);
    }

    /** Queues {@code p} in a FIFO of non-decreasing times; only the FIFO's head sits in the heap. */
    private void enqueue(Fifo q, Packet p, long time) {
        p.time = time;
        p.order = events.nextOrder();
        q.push(p);
        if (q.count == 1) {
            events.schedule(q, time, p.order);
        }
    }

    private void hop(Packet p) {
        if (p.kind == NIC) {
            leaveNic(p);
        } else {
            arrive(p);
        }
    }

    private void leaveNic(Packet p) {
        Port port = p.from;
        port.nicQueuedBytes -= p.wireBytes;
        port.lane.offer(p);
        if (port.blocked && port.nicQueuedBytes <= sendBufferBytes / 2) {
            port.blocked = false;
            drain(port);
        }
    }

    private void arrive(Packet p) {
        Port dst = p.from.peer;
        Counters c = p.from.counters;
        c.deliveredPackets++;
        c.deliveredBytes += p.wireBytes;
        Lane lane = p.from.lane;
        lane.counters.deliveredPackets++;
        lane.counters.deliveredBytes += p.wireBytes;
        ByteBuf datagram = p.buf;
        recycle(p);
        dst.endpoint.receive(now, datagram);
        drain(dst);
    }

    private Packet obtainPacket() {
        int n = freePackets.size();
        return n == 0 ? new Packet() : freePackets.remove(n - 1);
    }

    private void recycle(Packet p) {
        p.buf = null;
        p.from = null;
        freePackets.add(p);
    }

    private void drop(Packet p) {
        p.buf.release();
        recycle(p);
    }

    // ---------------------------------------------------------------- model objects

    /** A datagram in flight; the event of its next hop. */
    private static final class Packet extends EventHeap.Event {
        int kind;
        ByteBuf buf;
        int wireBytes;
        Port from;
    }

    /**
     * Datagrams whose hop times never decrease (one access link; one direction's in-order arrivals),
     * kept outside the heap: the heap holds only the head, so it stays small however many datagrams
     * are in flight.
     */
    private static final class Fifo extends EventHeap.Event {
        private Packet[] ring = new Packet[64];
        private int head;
        int count;

        void push(Packet p) {
            if (count == ring.length) {
                Packet[] bigger = new Packet[count * 2];
                for (int i = 0; i < count; i++) {
                    bigger[i] = ring[(head + i) & (ring.length - 1)];
                }
                ring = bigger;
                head = 0;
            }
            int tail = (head + count) & (ring.length - 1);
            if (count > 0) {
                Packet last = ring[(tail - 1) & (ring.length - 1)];
                if (p.time < last.time) {
                    throw new IllegalStateException("FIFO hop times must not decrease: " + p.time + " < " + last.time);
                }
            }
            ring[tail] = p;
            count++;
        }

        Packet peek() {
            return ring[head];
        }

        Packet pop() {
            Packet p = ring[head];
            ring[head] = null;
            head = (head + 1) & (ring.length - 1);
            count--;
            return p;
        }
    }

    private static final class Action extends EventHeap.Event {
        final Runnable action;

        Action(Runnable action) {
            this.action = action;
        }
    }

    /** Counters shared by {@link FlowStats} and {@link PathStats}. */
    private static final class Counters {
        long sentPackets;
        long sentBytes;
        long offeredPackets;
        long offeredBytes;
        long deliveredPackets;
        long deliveredBytes;
        long queueDrops;
        long randomLossDrops;
        long burstLossDrops;
        long blackoutDrops;
        long oversizeDrops;
        long reordered;
        long duplicated;
    }

    /** One endpoint attached to the simulator; it is also the event of its own timer. */
    private static final class Port extends EventHeap.Event {
        final DatagramEndpoint endpoint;
        final FlowHandle flow;
        final Lane lane;
        final Counters counters = new Counters();
        final Fifo nic = new Fifo();
        Port peer;
        boolean started;
        boolean blocked;
        long nicFreeAt;
        long nicCarry;
        long nicQueuedBytes;
        long spinAt = -1;
        int spins;

        Port(DatagramEndpoint endpoint, FlowHandle flow, Lane lane) {
            this.endpoint = endpoint;
            this.flow = flow;
            this.lane = lane;
        }

        String side() {
            return lane.direction == Direction.A_TO_B ? "A" : "B";
        }
    }

    /** One direction of the path: the shared bottleneck and the wire after it. */
    private final class Lane {
        final Direction direction;
        final PathConfig cfg;
        final long queueLimit;
        final long rate;
        final Counters counters = new Counters();
        final Fifo arrivals = new Fifo();
        final SplittableRandom lossRandom;
        final SplittableRandom burstRandom;
        final SplittableRandom jitterRandom;
        final SplittableRandom reorderRandom;
        final SplittableRandom duplicateRandom;
        final boolean hasBlackouts;
        final boolean burstActive;
        boolean burstBad;
        long linkFreeAt;
        long txCarry;
        long lastArrival;
        long queueBytes;
        long highWater;
        long transmittedBytes;
        long acceptedPackets;
        long totalQueueDelay;
        // FIFO of datagrams in the bottleneck, popped lazily once their serialisation has ended.
        long[] departures = new long[256];
        int[] sizes = new int[256];
        int head;
        int count;

        Lane(Direction direction, PathConfig cfg, long queueLimit, SplittableRandom random) {
            this.direction = direction;
            this.cfg = cfg;
            this.queueLimit = queueLimit;
            this.rate = cfg.rateBitsPerSecond();
            this.lossRandom = random.split();
            this.burstRandom = random.split();
            this.jitterRandom = random.split();
            this.reorderRandom = random.split();
            this.duplicateRandom = random.split();
            this.hasBlackouts = !cfg.blackouts().isEmpty();
            this.burstActive = cfg.burstLoss().active();
        }

        void offer(Packet p) {
            int wire = p.wireBytes;
            Counters fc = p.from.counters;
            counters.offeredPackets++;
            counters.offeredBytes += wire;
            fc.offeredPackets++;
            fc.offeredBytes += wire;
            popDeparted(now);
            if (hasBlackouts && cfg.blackedOut(now)) {
                counters.blackoutDrops++;
                fc.blackoutDrops++;
                drop(p);
                return;
            }
            if (queueBytes + wire > queueLimit) {
                counters.queueDrops++;
                fc.queueDrops++;
                drop(p);
                return;
            }
            long start = Math.max(now, linkFreeAt);
            long numerator = wire * 8_000_000_000L + txCarry;
            long tx = numerator / rate;
            txCarry = numerator - tx * rate;
            long departure = start + tx;
            linkFreeAt = departure;
            push(departure, wire);
            acceptedPackets++;
            totalQueueDelay += start - now;

            if (hasBlackouts && cfg.blackedOut(departure)) {
                counters.blackoutDrops++;
                fc.blackoutDrops++;
                drop(p);
                return;
            }
            double loss = cfg.lossProbability();
            if (loss > 0 && lossRandom.nextDouble() < loss) {
                counters.randomLossDrops++;
                fc.randomLossDrops++;
                drop(p);
                return;
            }
            if (burstActive && burstLost()) {
                counters.burstLossDrops++;
                fc.burstLossDrops++;
                drop(p);
                return;
            }
            long arrival = departure + cfg.delayNanos();
            if (cfg.jitterNanos() > 0) {
                arrival += jitterRandom.nextLong(cfg.jitterNanos() + 1);
                arrival = Math.max(arrival, lastArrival);
            }
            lastArrival = arrival;
            boolean inOrder = true;
            double reorder = cfg.reorderProbability();
            if (reorder > 0 && reorderRandom.nextDouble() < reorder) {
                arrival += cfg.reorderDelayNanos();
                inOrder = false;
                counters.reordered++;
            }
            p.kind = ARRIVAL;
            scheduleArrival(p, arrival, inOrder);
            double dup = cfg.duplicateProbability();
            if (dup > 0 && duplicateRandom.nextDouble() < dup) {
                ByteBuf original = p.buf;
                int n = original.readableBytes();
                ByteBuf copy = alloc.buffer(n);
                copy.writeBytes(original, original.readerIndex(), n);
                Packet twin = obtainPacket();
                twin.kind = ARRIVAL;
                twin.buf = copy;
                twin.wireBytes = wire;
                twin.from = p.from;
                scheduleArrival(twin, arrival, inOrder);
                counters.duplicated++;
                fc.duplicated++;
            }
        }

        private void scheduleArrival(Packet p, long arrival, boolean inOrder) {
            if (inOrder) {
                enqueue(arrivals, p, arrival);
            } else {
                events.schedule(p, arrival);
            }
        }

        private boolean burstLost() {
            PathConfig.GilbertElliott ge = cfg.burstLoss();
            if (burstBad) {
                if (burstRandom.nextDouble() < ge.pBadToGood()) {
                    burstBad = false;
                }
            } else if (burstRandom.nextDouble() < ge.pGoodToBad()) {
                burstBad = true;
            }
            double p = burstBad ? ge.lossInBad() : ge.lossInGood();
            return p > 0 && burstRandom.nextDouble() < p;
        }

        private void push(long departure, int wire) {
            if (count == departures.length) {
                long[] d = new long[count * 2];
                int[] s = new int[count * 2];
                for (int i = 0; i < count; i++) {
                    int j = (head + i) & (departures.length - 1);
                    d[i] = departures[j];
                    s[i] = sizes[j];
                }
                departures = d;
                sizes = s;
                head = 0;
            }
            int tail = (head + count) & (departures.length - 1);
            departures[tail] = departure;
            sizes[tail] = wire;
            count++;
            queueBytes += wire;
            if (queueBytes > highWater) {
                highWater = queueBytes;
            }
        }

        private void popDeparted(long t) {
            int mask = departures.length - 1;
            while (count > 0 && departures[head] <= t) {
                queueBytes -= sizes[head];
                transmittedBytes += sizes[head];
                head = (head + 1) & mask;
                count--;
            }
        }

        PathStats stats() {
            popDeparted(now);
            Counters c = counters;
            return new PathStats(c.offeredPackets, c.offeredBytes, c.deliveredPackets, c.deliveredBytes,
                    c.queueDrops, c.randomLossDrops, c.burstLossDrops, c.blackoutDrops, c.oversizeDrops,
                    c.reordered, c.duplicated, transmittedBytes, highWater, queueLimit, totalQueueDelay,
                    acceptedPackets, rate, now);
        }
    }

    /** A flow attached to the simulator: its name and what it sent in each direction. */
    public static final class FlowHandle {
        private final String name;
        private final int index;
        private Port a;
        private Port b;

        private FlowHandle(String name, int index) {
            this.name = name;
            this.index = index;
        }

        public String name() {
            return name;
        }

        /** Position in attach order. */
        public int index() {
            return index;
        }

        public DatagramEndpoint endpointA() {
            return a.endpoint;
        }

        public DatagramEndpoint endpointB() {
            return b.endpoint;
        }

        /** What this flow's endpoint on the sending side of {@code direction} sent, and its fate. */
        public FlowStats stats(Direction direction) {
            Counters c = (direction == Direction.A_TO_B ? a : b).counters;
            return new FlowStats(c.sentPackets, c.sentBytes, c.deliveredPackets, c.deliveredBytes, c.queueDrops,
                    c.randomLossDrops + c.burstLossDrops, c.blackoutDrops, c.oversizeDrops,
                    c.duplicated);
        }

        @Override
        public String toString() {
            return "flow " + name;
        }
    }

    /** Builds a {@link NetworkSimulator}. */
    public static final class Builder {
        private PathConfig aToB = PathConfig.builder().build();
        private PathConfig bToA = aToB;
        private long seed = 1;
        private int headerOverheadBytes = 28;
        private int mtuBytes = 1500;
        private long accessRateBitsPerSecond;
        private long sendBufferBytes = 256 * 1024;
        private ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

        private Builder() {
        }

        /** The same configuration in both directions (random draws stay independent). */
        public Builder path(PathConfig both) {
            this.aToB = both;
            this.bToA = both;
            return this;
        }

        public Builder paths(PathConfig aToB, PathConfig bToA) {
            this.aToB = aToB;
            this.bToA = bToA;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Bytes added to every datagram on the wire (default 28, IPv4 + UDP). */
        public Builder headerOverheadBytes(int bytes) {
            this.headerOverheadBytes = bytes;
            return this;
        }

        /** Largest wire size (datagram plus overhead) the path carries (default 1500). */
        public Builder mtuBytes(int bytes) {
            this.mtuBytes = bytes;
            return this;
        }

        /** Rate of each endpoint's access link (default: ten times the faster bottleneck). */
        public Builder accessRateBitsPerSecond(long bitsPerSecond) {
            this.accessRateBitsPerSecond = bitsPerSecond;
            return this;
        }

        /** Wire bytes an endpoint may have queued on its access link before it is no longer polled. */
        public Builder sendBufferBytes(long bytes) {
            this.sendBufferBytes = bytes;
            return this;
        }

        public Builder alloc(ByteBufAllocator alloc) {
            this.alloc = alloc;
            return this;
        }

        public NetworkSimulator build() {
            if (aToB == null || bToA == null) {
                throw new IllegalArgumentException("simulator.paths: " + aToB + ", " + bToA
                        + " (expected: a PathConfig per direction)");
            }
            long fastest = Math.max(aToB.rateBitsPerSecond(), bToA.rateBitsPerSecond());
            long access = accessRateBitsPerSecond == 0 ? Math.multiplyExact(fastest, 10L) : accessRateBitsPerSecond;
            require(headerOverheadBytes >= 0 && headerOverheadBytes <= 1024, "headerOverheadBytes",
                    headerOverheadBytes, "0..1024");
            require(mtuBytes >= 68 + headerOverheadBytes && mtuBytes <= 65_535 + headerOverheadBytes, "mtuBytes",
                    mtuBytes, (68 + headerOverheadBytes) + ".." + (65_535 + headerOverheadBytes));
            require(access >= fastest && access <= 1_000_000_000_000L, "accessRateBitsPerSecond", access,
                    ">= the faster bottleneck (" + fastest + ") and <= 10^12");
            require(aToB.rateBitsPerSecond() <= 1_000_000_000_000L, "paths.aToB.rateBitsPerSecond",
                    aToB.rateBitsPerSecond(), "<= 10^12");
            require(bToA.rateBitsPerSecond() <= 1_000_000_000_000L, "paths.bToA.rateBitsPerSecond",
                    bToA.rateBitsPerSecond(), "<= 10^12");
            require(sendBufferBytes >= mtuBytes, "sendBufferBytes", sendBufferBytes, ">= mtuBytes (" + mtuBytes + ")");
            require(alloc != null, "alloc", alloc, "an allocator");
            return new NetworkSimulator(this, access);
        }

        private static void require(boolean ok, String field, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException("simulator." + field + ": " + value + " (expected: " + expected + ")");
            }
        }
    }
}
