package dev.braid.blender;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

/**
 * The blender of one side of one TMP link: priority rings of per-stream {@link BlendQueue}s and
 * the loop that fills one packet at a time. The link pulls ({@link #nextPacket}) only when its
 * window allows, so data waits here, where priority still acts.
 *
 * <p>Not thread-safe: confined to the link's event loop.
 */
public final class Blender {

    private BlenderSettings settings;
    private Ring[] rings;
    private final ByteBufAllocator alloc;

    public Blender(BlenderSettings settings) {
        this(settings, ByteBufAllocator.DEFAULT);
    }

    public Blender(BlenderSettings settings, ByteBufAllocator alloc) {
        this.settings = settings;
        this.alloc = alloc;
        this.rings = new Ring[settings.rings()];
        for (int i = 0; i < rings.length; i++) {
            rings[i] = new Ring();
        }
    }

    public BlenderSettings settings() {
        return settings;
    }

    /** Opens the connection buffer of a new stream in {@code ring} (clamped to the rings that exist). */
    public BlendQueue open(long streamId, int ring) {
        BlendQueue q = new BlendQueue(this, streamId, clampRing(ring));
        rings[q.ring].sockets++;
        return q;
    }

    /** Applies new weights, sub-packet size or policy; queued data is kept in order. */
    public void update(BlenderSettings newSettings) {
        if (newSettings.rings() != rings.length) {
            Ring[] resized = new Ring[newSettings.rings()];
            for (int i = 0; i < resized.length; i++) {
                resized[i] = i < rings.length ? rings[i] : new Ring();
            }
            for (int i = resized.length; i < rings.length; i++) {
                Ring old = rings[i];
                while (old.head != null) {
                    BlendQueue q = old.head;
                    unlink(old, q);
                    q.ring = resized.length - 1;
                    link(resized[q.ring], q);
                }
                resized[resized.length - 1].sockets += old.sockets;
            }
            rings = resized;
        }
        settings = newSettings;
    }

    public boolean hasReady() {
        for (Ring r : rings) {
            if (r.ready > 0) {
                return true;
            }
        }
        return false;
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

    /** Bytes queued in a ring (nBytes). */
    public long bytes(int ring) {
        return rings[ring].bytes;
    }

    /**
     * Fills one packet. Calls {@code sink} once per sub-packet and returns the packet's size, counting
     * {@code overheadPerSubPacket} bytes of framing for each sub-packet; 0 when nothing was ready.
     *
     * @param packetBytes          the packet's budget in bytes, framing included
     * @param linkCredit           link-level flow-control credit: payload bytes the link may still send
     * @param overheadPerSubPacket framing bytes the link adds to each sub-packet
     */
    public int nextPacket(int packetBytes, long linkCredit, int overheadPerSubPacket, SubPacketSink sink) {
        int used = 0;
        long credit = linkCredit;
        while (used + overheadPerSubPacket < packetBytes) {
            Ring ring = pickRing();
            if (ring == null) {
                break;
            }
            BlendQueue q = ring.head;
            int room = packetBytes - used - overheadPerSubPacket;
            long allowed = Math.min(Math.min(room, settings.subPacketBytes()),
                    Math.min(q.queuedBytes, Math.min(credit, q.creditLimit - q.sendOffset)));
            if (allowed <= 0 && !(q.queuedBytes == 0 && q.finQueued)) {
                if (credit <= 0) {
                    break;
                }
                // The packet has no room for a useful sub-packet from this stream.
                break;
            }
            long offset = q.sendOffset;
            ByteBuf data = allowed > 0 ? q.take((int) allowed, alloc) : Unpooled.EMPTY_BUFFER;
            int n = data.readableBytes();
            ring.bytes -= n;
            credit -= n;
            ring.deficit -= n + overheadPerSubPacket;
            boolean fin = q.finQueued && q.queuedBytes == 0;
            if (fin) {
                q.finSent = true;
            }
            used += n + overheadPerSubPacket;
            // Rotate after each sub-packet: round robin inside the ring.
            unlink(ring, q);
            if (q.isReady()) {
                link(ring, q);
            }
            sink.accept(q, offset, data, fin);
        }
        return used;
    }

    private Ring pickRing() {
        // Deficit round robin over rings with ready queues; quantum = weight x sub-packet size.
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < rings.length; i++) {
                Ring r = rings[i];
                if (r.ready > 0 && r.deficit > 0) {
                    return r;
                }
            }
            boolean any = false;
            for (int i = 0; i < rings.length; i++) {
                Ring r = rings[i];
                if (r.ready > 0) {
                    r.deficit += (long) settings.weight(i) * settings.subPacketBytes();
                    any = true;
                } else {
                    r.deficit = 0;
                }
            }
            if (!any) {
                return null;
            }
        }
        return null;
    }

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
            link(r, q);
        } else if (!ready && q.inReadyList) {
            unlink(r, q);
        }
    }

    void move(BlendQueue q, int newRing) {
        int target = clampRing(newRing);
        if (q.closed || target == q.ring) {
            return;
        }
        Ring from = rings[q.ring];
        boolean wasReady = q.inReadyList;
        if (wasReady) {
            unlink(from, q);
        }
        from.sockets--;
        from.bytes -= q.queuedBytes;
        q.ring = target;
        Ring to = rings[target];
        to.sockets++;
        to.bytes += q.queuedBytes;
        if (wasReady) {
            link(to, q);
        }
    }

    void remove(BlendQueue q) {
        Ring r = rings[q.ring];
        if (q.inReadyList) {
            unlink(r, q);
        }
        r.sockets--;
        r.bytes -= q.queuedBytes;
    }

    private int clampRing(int ring) {
        return Math.max(0, Math.min(ring, rings.length - 1));
    }

    private static void link(Ring r, BlendQueue q) {
        q.inReadyList = true;
        q.nextReady = null;
        q.prevReady = r.tail;
        if (r.tail == null) {
            r.head = q;
        } else {
            r.tail.nextReady = q;
        }
        r.tail = q;
        r.ready++;
    }

    private static void unlink(Ring r, BlendQueue q) {
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
        r.ready--;
    }

    private static final class Ring {
        int sockets;
        int ready;
        long bytes;
        long deficit;
        BlendQueue head;
        BlendQueue tail;
    }
}
