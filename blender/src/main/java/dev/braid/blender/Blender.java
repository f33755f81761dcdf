package dev.braid.blender;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

/**
 * The blender of one side of one TMP link: priority rings of per-stream connection buffers
 * ({@link BlendQueue}) and the loop that fills one packet at a time (seed 004, FIG. 4, "data
 * blender 404"). The link pulls ({@link #nextPacket}) only when its window allows, so data waits
 * here, where priority still acts, and never in an unprioritised socket queue.
 *
 * <p>Each ring keeps the seed's counts: nSockets (open queues, {@link #sockets}), nReady (queues
 * with something they may send now, {@link #ready}) and nBytes (bytes queued, {@link #bytes}).
 * Only ready queues are linked into a ring's round robin, so the work of one packet is a scan of
 * the rings plus one visit per sub-packet, whatever the number of idle streams.
 *
 * <p>Two policies share the link between rings ({@link BlenderSettings.Policy}):
 * <ul>
 * <li>{@code PER_CONNECTION}, the seed's loop, run as a pass that spans successive packets. At the
 *     start of a pass the normalised send amounts are computed: S = nBytes / (Weight x nReady) for
 *     the ring with the greatest nReady, nSendNorm = nReady x S x Weight for every ready ring, the
 *     pass total bounded by {@link BlenderSettings#passBytes()}. Sub-packets are then taken from
 *     the highest ring, then from each of the top two, the top three and so on, among the rings
 *     with send amount left; the pass ends when no ready ring has any, and the next one starts.
 *     Overshoot of the last sub-packet carries into the next pass, so over whole passes each ring
 *     gets exactly nReady x Weight shares.</li>
 * <li>{@code PER_CLASS}, deficit round robin over the rings with a quantum of Weight sub-packets:
 *     each class gets a share proportional to its weight, whatever its number of streams.</li>
 * </ul>
 * Inside a ring, streams take turns of up to {@code subPacketBytes} bytes; the ring rotates after
 * each turn. A turn cut short by the end of a packet continues in the next one, so streams of one
 * ring never drift apart by more than one sub-packet.
 *
 * <p>Guarantees (bounds derived in docs/blender.md): shares follow the policy over every few
 * passes; a lone ready ring gets the whole packet (work-conserving); a ready ring of positive
 * weight is served at least once per c x (sum of other weights + rings) link bytes under
 * {@code PER_CLASS} and per c / share + 2 x passBytes + rings x c under {@code PER_CONNECTION},
 * c being one sub-packet with its framing; a ring of weight 0 is served only while no ring of
 * positive weight is ready; {@link #update} takes effect from the next sub-packet.
 *
 * <p>Ownership: queues own what they were given ({@link BlendQueue#enqueue}); the sink owns each
 * sub-packet it is handed. {@link #closeAll()} releases everything still queued.
 *
 * <p>Not thread-safe: confined to the link's event loop. The sink may call back into the blender
 * (enqueue, finish, close, move, update) but not {@link #nextPacket}.
 */
public final class Blender {

    private BlenderSettings settings;
    private Ring[] rings;
    private final ByteBufAllocator alloc;

    private int readyRings;
    /** Ready rings of positive weight; when none, rings of weight 0 share the link as if of weight 1. */
    private int positiveReadyRings;

    /** Ready rings in deficit-round-robin order (the ActiveList of Shreedhar and Varghese). */
    private Ring activeHead;
    private Ring activeTail;

    /** State of the per-connection pass: the cascade takes from the top {@code step} rings. */
    private boolean passActive;
    private int step;
    private int stepServed;
    private int stepCursor;

    private boolean inNextPacket;
    private long queueVisits;
    private long packets;

    public Blender(BlenderSettings settings) {
        this(settings, ByteBufAllocator.DEFAULT);
    }

    /** @param alloc allocator of the composite buffers that join small queued chunks into one sub-packet */
    public Blender(BlenderSettings settings, ByteBufAllocator alloc) {
        if (settings == null) {
            throw new IllegalArgumentException("settings: null (expected: blender settings)");
        }
        if (alloc == null) {
            throw new IllegalArgumentException("alloc: null (expected: a ByteBufAllocator)");
        }
        this.settings = settings;
        this.alloc = alloc;
        this.rings = new Ring[settings.rings()];
        for (int i = 0; i < rings.length; i++) {
            rings[i] = new Ring(i, settings.weight(i));
        }
    }

    public BlenderSettings settings() {
        return settings;
    }

    /**
     * Opens the connection buffer of a new stream without flow control (credit limit
     * {@link Long#MAX_VALUE}). A ring beyond the last is clamped to the last.
     */
    public BlendQueue open(long streamId, int ring) {
        return open(streamId, ring, Long.MAX_VALUE);
    }

    /**
     * Opens the connection buffer of a new stream in {@code ring} (clamped to the last ring) whose
     * peer allows bytes at offsets below {@code initialCreditLimit}; {@link Long#MAX_VALUE} means no
     * flow control. The queue is idle (not ready) until bytes or an end of stream are queued.
     *
     * @throws IllegalArgumentException if {@code ring} or {@code initialCreditLimit} is negative
     */
    public BlendQueue open(long streamId, int ring, long initialCreditLimit) {
        if (initialCreditLimit < 0) {
            throw new IllegalArgumentException("stream " + streamId + ": initialCreditLimit: "
                    + initialCreditLimit + " (expected: >= 0)");
        }
        BlendQueue q = new BlendQueue(this, streamId, clampRing(ring), initialCreditLimit);
        Ring r = rings[q.ring];
        addMember(r, q);
        r.sockets++;
        return q;
    }

    /**
     * Applies new weights, sub-packet size, pass bound, policy or number of rings, from the next
     * sub-packet on. Queued bytes stay in their queues, in order. Fewer rings merge the streams of
     * the rings removed into the new last ring (joining its round robin at the end); more rings start
     * empty. The scheduling state restarts: a pass or turn under way ends, credit saved by a ring is
     * dropped (debt of at most one sub-packet is kept), and a stream whose turn was cut short by the
     * end of a packet goes to the end of its ring's round robin.
     */
    public void update(BlenderSettings newSettings) {
        if (newSettings == null) {
            throw new IllegalArgumentException("settings: null (expected: blender settings)");
        }
        int n = newSettings.rings();
        if (n != rings.length) {
            for (int i = n; i < rings.length; i++) {
                Ring old = rings[i];
                // Ready queues first, in round-robin order, so the merged ring serves them in that order.
                while (old.head != null) {
                    move(old.head, n - 1);
                }
                while (old.firstMember != null) {
                    move(old.firstMember, n - 1);
                }
            }
            Ring[] resized = new Ring[n];
            for (int i = 0; i < n; i++) {
                resized[i] = i < rings.length ? rings[i] : new Ring(i, newSettings.weight(i));
            }
            rings = resized;
        }
        settings = newSettings;
        positiveReadyRings = 0;
        for (Ring r : rings) {
            r.weight = newSettings.weight(r.index);
            if (r.ready > 0 && r.weight > 0) {
                positiveReadyRings++;
            }
            r.deficit = Math.min(r.deficit, 0);
            r.turnStarted = false;
            if (r.headTurnUsed > 0) {
                rotate(r);
            }
        }
        passActive = false;
    }

    /** Whether any stream is ready, so that {@link #nextPacket} would return a non-empty packet. */
    public boolean hasReady() {
        return readyRings > 0;
    }

    public int rings() {
        return rings.length;
    }

    /** Streams open in a ring (the seed's nSockets). */
    public int sockets(int ring) {
        return rings[ring].sockets;
    }

    /** Streams ready to send in a ring (nReady). */
    public int ready(int ring) {
        return rings[ring].ready;
    }

    /** Bytes queued in a ring (nBytes), ready or waiting for credit. */
    public long bytes(int ring) {
        return rings[ring].bytes;
    }

    /**
     * Connection buffers the blend loop has visited since the blender was made: one per sub-packet,
     * since only ready queues are ever reached. The measure of work per packet.
     */
    public long queueVisits() {
        return queueVisits;
    }

    /** Non-empty packets filled so far. */
    public long packets() {
        return packets;
    }

    /**
     * Fills one packet: calls {@code sink} once per sub-packet, in packet order, and returns the bytes
     * used, counting {@code overheadPerSubPacket} bytes of framing for each sub-packet; 0 when nothing
     * was ready or {@code linkCredit} is 0. The packet ends when fewer than one payload byte would fit,
     * when the link credit is spent, or when nothing more is ready (seed step 6). A sub-packet carries
     * at most {@code subPacketBytes} payload bytes of one stream, or only its end of stream.
     *
     * <p>Each sub-packet's {@code data} is a retained slice of the queued bytes (a composite of slices
     * when it spans queued buffers); the sink owns it and must release it. The blender's state is
     * consistent before each call of the sink, so an exception from the sink leaves it usable.
     *
     * @param packetBytes          the packet's budget in bytes, framing included (> overheadPerSubPacket)
     * @param linkCredit           link-level flow-control credit: payload bytes the link may still send (>= 0)
     * @param overheadPerSubPacket framing bytes the link adds to each sub-packet (>= 0)
     * @throws IllegalStateException when called from inside the sink
     */
    public int nextPacket(int packetBytes, long linkCredit, int overheadPerSubPacket, SubPacketSink sink) {
        if (overheadPerSubPacket < 0) {
            throw new IllegalArgumentException("overheadPerSubPacket: " + overheadPerSubPacket + " (expected: >= 0)");
        }
        if (packetBytes <= overheadPerSubPacket) {
            throw new IllegalArgumentException("packetBytes: " + packetBytes
                    + " (expected: > overheadPerSubPacket " + overheadPerSubPacket + ")");
        }
        if (linkCredit < 0) {
            throw new IllegalArgumentException("linkCredit: " + linkCredit + " (expected: >= 0)");
        }
        if (sink == null) {
            throw new IllegalArgumentException("sink: null (expected: a SubPacketSink)");
        }
        if (inNextPacket) {
            throw new IllegalStateException("nextPacket: called from inside its sink");
        }
        inNextPacket = true;
        try {
            int used = 0;
            long credit = linkCredit;
            boolean any = false;
            while (credit > 0) {
                int room = packetBytes - used - overheadPerSubPacket;
                if (room <= 0) {
                    break;
                }
                int sub = settings.subPacketBytes();
                int cost = sub + overheadPerSubPacket;
                Ring r = settings.policy() == BlenderSettings.Policy.PER_CONNECTION
                        ? pickPerConnection(cost)
                        : pickPerClass(cost);
                if (r == null) {
                    break;
                }
                BlendQueue q = r.head;
                queueVisits++;
                // A ready queue with bytes has credit for at least one, so n >= 1 unless only the FIN is left.
                long n = Math.min(Math.min(sub - r.headTurnUsed, room),
                        Math.min(Math.min(q.queuedBytes, q.creditLimit - q.sendOffset), credit));
                long offset = q.sendOffset;
                ByteBuf data = n > 0 ? q.take((int) n, alloc) : Unpooled.EMPTY_BUFFER;
                r.bytes -= n;
                credit -= n;
                used += (int) n + overheadPerSubPacket;
                r.deficit -= n + overheadPerSubPacket;
                r.headTurnUsed += (int) n;
                boolean fin = q.finQueued && q.queuedBytes == 0;
                if (fin) {
                    q.finSent = true;
                }
                if (!q.isReady()) {
                    unlinkReady(r, q);
                } else if (r.headTurnUsed >= sub) {
                    rotate(r);
                }
                // Otherwise the packet's end or the link credit cut the turn short: the stream keeps
                // the head of its ring and finishes its turn in the next sub-packet of the ring.
                any = true;
                sink.accept(q, offset, data, fin);
            }
            if (any) {
                packets++;
            }
            return used;
        } finally {
            inNextPacket = false;
        }
    }

    /** Closes every open queue, releasing all queued bytes (link teardown). The blender stays usable. */
    public void closeAll() {
        for (Ring r : rings) {
            while (r.firstMember != null) {
                r.firstMember.close();
            }
        }
    }

    // ---- PER_CONNECTION: the seed's loop -------------------------------------------------------

    /**
     * The ring of the next sub-packet in the current pass, starting a new pass when the current one
     * is over (seed steps 4 and 5): step k takes one sub-packet from each of the first k rings, in
     * priority order, that are ready and have send amount left.
     */
    private Ring pickPerConnection(int cost) {
        for (int attempt = 0; attempt < 2; attempt++) {
            if (!passActive && !startPass(cost)) {
                return null;
            }
            while (true) {
                if (stepServed < step) {
                    for (int i = stepCursor; i < rings.length; i++) {
                        Ring r = rings[i];
                        if (r.ready > 0 && r.deficit > 0 && effectiveWeight(r) > 0) {
                            stepCursor = i + 1;
                            stepServed++;
                            return r;
                        }
                    }
                }
                if (stepServed == 0) {
                    passActive = false;
                    break;
                }
                step = Math.min(step + 1, rings.length);
                stepServed = 0;
                stepCursor = 0;
            }
        }
        // A new pass always leaves some ready ring with send amount; reaching here is a bug.
        throw new IllegalStateException("blender: a new pass found no ring to serve");
    }

    /**
     * Seed steps 1 to 3: from nReady and nBytes, the factor S = nBytes / (Weight x nReady) of the
     * ring with the greatest nReady and the normalised amounts nReady x S x Weight, added to each
     * ring's carried balance. The pass total, S x sum(nReady x Weight), is bounded to
     * [cost, passBytes]. Passes in which no ring would get a positive balance are skipped at once.
     */
    private boolean startPass(int cost) {
        if (readyRings == 0) {
            return false;
        }
        long units = 0;
        Ring most = null;
        for (Ring r : rings) {
            int w = effectiveWeight(r);
            if (r.ready == 0 || w == 0) {
                r.deficit = Math.min(r.deficit, 0);
                continue;
            }
            units += (long) r.ready * w;
            if (most == null || r.ready > most.ready) {
                most = r;
            }
        }
        double s = (double) most.bytes / ((double) effectiveWeight(most) * most.ready);
        double total = Math.max(cost, Math.min(s * units, settings.passBytes()));
        double perUnit = total / units;
        double repeat = Double.MAX_VALUE;
        for (Ring r : rings) {
            int w = effectiveWeight(r);
            if (r.ready > 0 && w > 0) {
                double amount = perUnit * r.ready * w;
                repeat = Math.min(repeat, r.deficit > 0 ? 1 : Math.floor(-r.deficit / amount) + 1);
            }
        }
        for (Ring r : rings) {
            int w = effectiveWeight(r);
            if (r.ready > 0 && w > 0) {
                r.deficit += repeat * perUnit * r.ready * w;
            }
        }
        passActive = true;
        step = 1;
        stepServed = 0;
        stepCursor = 0;
        return true;
    }

    // ---- PER_CLASS: deficit round robin over rings -------------------------------------------

    /**
     * Deficit round robin (Shreedhar and Varghese 1995) in its surplus form: the ring at the head of
     * the active list gets a quantum of Weight x cost at the start of its turn and is served while its
     * balance is positive; the overshoot of its last sub-packet is carried as debt.
     */
    private Ring pickPerClass(int cost) {
        while (activeHead != null) {
            Ring h = activeHead;
            int w = effectiveWeight(h);
            if (w > 0) {
                if (!h.turnStarted) {
                    h.deficit += (double) w * cost;
                    h.turnStarted = true;
                }
                if (h.deficit > 0) {
                    return h;
                }
            }
            h.turnStarted = false;
            h.deficit = Math.min(h.deficit, 0);
            if (h != activeTail) {
                activeRemove(h);
                activeAppend(h);
            }
        }
        return null;
    }

    private int effectiveWeight(Ring r) {
        return positiveReadyRings == 0 ? 1 : r.weight;
    }

    // ---- bookkeeping -----------------------------------------------------------------------------

    void onQueued(BlendQueue q, int n) {
        rings[q.ring].bytes += n;
        onReadinessMaybeChanged(q);
    }

    void onReadinessMaybeChanged(BlendQueue q) {
        if (q.closed) {
            return;
        }
        Ring r = rings[q.ring];
        boolean ready = q.isReady();
        if (ready && !q.inReadyList) {
            linkReady(r, q);
        } else if (!ready && q.inReadyList) {
            unlinkReady(r, q);
        }
    }

    void move(BlendQueue q, int newRing) {
        if (newRing < 0) {
            throw new IllegalArgumentException("stream " + q.streamId + ": ring: " + newRing + " (expected: >= 0)");
        }
        int target = clampRing(newRing);
        if (q.closed || target == q.ring) {
            return;
        }
        Ring from = rings[q.ring];
        boolean wasReady = q.inReadyList;
        if (wasReady) {
            unlinkReady(from, q);
        }
        removeMember(from, q);
        from.sockets--;
        from.bytes -= q.queuedBytes;
        q.ring = target;
        Ring to = rings[target];
        addMember(to, q);
        to.sockets++;
        to.bytes += q.queuedBytes;
        if (wasReady) {
            linkReady(to, q);
        }
    }

    void remove(BlendQueue q) {
        Ring r = rings[q.ring];
        if (q.inReadyList) {
            unlinkReady(r, q);
        }
        removeMember(r, q);
        r.sockets--;
        r.bytes -= q.queuedBytes;
    }

    private int clampRing(int ring) {
        if (ring < 0) {
            throw new IllegalArgumentException("ring: " + ring + " (expected: >= 0)");
        }
        return Math.min(ring, rings.length - 1);
    }

    private void linkReady(Ring r, BlendQueue q) {
        q.inReadyList = true;
        q.nextReady = null;
        q.prevReady = r.tail;
        if (r.tail == null) {
            r.head = q;
        } else {
            r.tail.nextReady = q;
        }
        r.tail = q;
        if (r.ready++ == 0) {
            readyRings++;
            if (r.weight > 0) {
                positiveReadyRings++;
            }
            activeAppend(r);
        }
    }

    private void unlinkReady(Ring r, BlendQueue q) {
        if (q == r.head) {
            r.headTurnUsed = 0;
        }
        if (q.prevReady == null) {
            r.head = q.nextReady;
        } else {
            q.prevReady.nextReady = q.nextReady;
        }
        if (q.nextReady == null) {
            r.tail = q.prevReady;
        } else {
            q.nextReady.prevReady = q.prevReady;
        }
        q.prevReady = null;
        q.nextReady = null;
        q.inReadyList = false;
        if (--r.ready == 0) {
            readyRings--;
            if (r.weight > 0) {
                positiveReadyRings--;
            }
            activeRemove(r);
            // An idle ring saves no credit (as in DRR, where an emptied flow's deficit is reset).
            r.deficit = Math.min(r.deficit, 0);
            r.turnStarted = false;
        }
    }

    /** Ends the head's turn: it goes to the end of the ring's round robin. */
    private static void rotate(Ring r) {
        r.headTurnUsed = 0;
        BlendQueue q = r.head;
        if (q == null || q == r.tail) {
            return;
        }
        r.head = q.nextReady;
        r.head.prevReady = null;
        q.nextReady = null;
        q.prevReady = r.tail;
        r.tail.nextReady = q;
        r.tail = q;
    }

    private static void addMember(Ring r, BlendQueue q) {
        q.prevMember = null;
        q.nextMember = r.firstMember;
        if (r.firstMember != null) {
            r.firstMember.prevMember = q;
        }
        r.firstMember = q;
    }

    private static void removeMember(Ring r, BlendQueue q) {
        if (q.prevMember == null) {
            r.firstMember = q.nextMember;
        } else {
            q.prevMember.nextMember = q.nextMember;
        }
        if (q.nextMember != null) {
            q.nextMember.prevMember = q.prevMember;
        }
        q.prevMember = null;
        q.nextMember = null;
    }

    private void activeAppend(Ring r) {
        r.activeNext = null;
        r.activePrev = activeTail;
        if (activeTail == null) {
            activeHead = r;
        } else {
            activeTail.activeNext = r;
        }
        activeTail = r;
    }

    private void activeRemove(Ring r) {
        if (r.activePrev == null) {
            activeHead = r.activeNext;
        } else {
            r.activePrev.activeNext = r.activeNext;
        }
        if (r.activeNext == null) {
            activeTail = r.activePrev;
        } else {
            r.activeNext.activePrev = r.activePrev;
        }
        r.activePrev = null;
        r.activeNext = null;
    }

    /** One priority ring: its counts, its round robin of ready queues, its scheduling balance. */
    private static final class Ring {
        final int index;
        int weight;
        int sockets;
        int ready;
        long bytes;
        /** Link bytes the ring may still send: its send amount in a pass, or its DRR deficit. */
        double deficit;
        /** Whether the ring's DRR turn has begun (its quantum was added). */
        boolean turnStarted;
        /** Head and tail of the round robin of ready queues. */
        BlendQueue head;
        BlendQueue tail;
        /** Payload bytes the head queue has sent in its current turn. */
        int headTurnUsed;
        /** Every open queue of the ring, ready or not. */
        BlendQueue firstMember;
        Ring activePrev;
        Ring activeNext;

        Ring(int index, int weight) {
            this.index = index;
            this.weight = weight;
        }
    }
}
