package dev.braid.tmp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.ImmediateEventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two link cores wired back to back in memory: deterministic, no sockets, no clocks. */
class LinkCoreTest {

    /** A handler that records what it receives and, unless told to hold, consumes at once. */
    static final class Sink implements TmpStreamHandler {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean fin;
        ResetCode reset;
        String resetReason;
        boolean hold;
        /** When set, bytes are counted but not kept (bulk transfers). */
        boolean countOnly;
        long received;
        int held;
        int writableEvents;
        TmpStream stream;

        @Override
        public void onData(TmpStream s, ByteBuf data, boolean fin) {
            stream = s;
            try {
                int n = data.readableBytes();
                received += n;
                if (!countOnly) {
                    byte[] b = new byte[n];
                    data.readBytes(b);
                    bytes.writeBytes(b);
                }
                this.fin |= fin;
                if (hold) {
                    held += n;
                } else {
                    s.consumed(n);
                }
            } finally {
                data.release();
            }
        }

        @Override
        public void onReset(TmpStream s, ResetCode code, String reason) {
            reset = code;
            resetReason = reason;
        }

        @Override
        public void onWritable(TmpStream s) {
            writableEvents++;
        }

        void release() {
            stream.consumed(held);
            held = 0;
        }
    }

    final class Side implements LinkCore.Listener {
        final List<Sink> accepted = new ArrayList<>();
        LinkCore core;
        boolean holdAccepted;

        @Override
        public TmpStreamHandler onStreamOpened(TmpStream stream) {
            Sink s = new Sink();
            s.hold = holdAccepted;
            s.stream = stream;
            accepted.add(s);
            return s;
        }
    }

    private final Side client = new Side();
    private final Side server = new Side();
    private final List<ByteBuf> inFlight = new ArrayList<>();

    void connect(LinkSettings settings) {
        client.core = new LinkCore(ImmediateEventExecutor.INSTANCE, settings, true, "be", settings.linkWindowBytes(),
                settings.streamWindowBytes(), client, () -> { });
        server.core = new LinkCore(ImmediateEventExecutor.INSTANCE, settings, false, "fe", settings.linkWindowBytes(),
                settings.streamWindowBytes(), server, () -> { });
    }

    @AfterEach
    void closeBoth() {
        if (client.core != null) {
            client.core.close("test over");
            server.core.close("test over");
        }
        inFlight.forEach(ByteBuf::release);
    }

    /** Moves packets both ways until neither side has anything to send; returns packets moved. */
    int pump(boolean reverseOrder) throws TmpProtocolException {
        int packets = 0;
        boolean moved = true;
        while (moved) {
            moved = false;
            for (Side[] dir : new Side[][] {{client, server}, {server, client}}) {
                List<ByteBuf> batch = new ArrayList<>();
                while (dir[0].core.hasOutput()) {
                    ByteBuf p = ByteBufAllocator.DEFAULT.directBuffer(1500);
                    if (dir[0].core.writePacket(p, 1400) == 0) {
                        p.release();
                        break;
                    }
                    batch.add(p);
                }
                if (reverseOrder) {
                    Collections.reverse(batch);
                }
                for (ByteBuf p : batch) {
                    try {
                        dir[1].core.receive(p);
                    } finally {
                        p.release();
                    }
                    packets++;
                    moved = true;
                }
            }
        }
        return packets;
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void bytesArriveInOrderBothWaysAndFinishedStreamsAreForgotten() throws Exception {
        connect(LinkSettings.DEFAULT);
        Sink response = new Sink();
        byte[] request = pattern(100_000, 1);
        TmpStream s = client.core.openStream(2, "standard", false, response);
        s.write(direct(request));
        s.end();
        pump(false);
        assertEquals(1, server.accepted.size());
        Sink atServer = server.accepted.get(0);
        assertArrayEquals(request, atServer.bytes.toByteArray());
        assertTrue(atServer.fin);
        assertEquals("standard", atServer.stream.clientClass());
        byte[] answer = pattern(300_000, 2);
        atServer.stream.writeAndEnd(direct(answer));
        pump(false);
        assertArrayEquals(answer, response.bytes.toByteArray());
        assertTrue(response.fin);
        assertEquals(0, client.core.activeStreams());
        assertEquals(0, server.core.activeStreams());
    }

    @Test
    void outOfOrderPacketsAreReassembled() throws Exception {
        connect(LinkSettings.DEFAULT);
        byte[] request = pattern(50_000, 3);
        TmpStream s = client.core.openStream(0, "gold", false, new Sink());
        s.writeAndEnd(direct(request));
        // The open travels first on its own so that the reversed data packets find the stream.
        ByteBuf open = ByteBufAllocator.DEFAULT.directBuffer(256);
        client.core.writePacket(open, 40);
        server.core.receive(open);
        open.release();
        pump(true);
        assertArrayEquals(request, server.accepted.get(0).bytes.toByteArray());
        assertTrue(server.accepted.get(0).fin);
    }

    @Test
    void aStreamStopsAtItsCreditAndResumesWhenTheReceiverConsumes() throws Exception {
        LinkSettings settings = LinkSettings.DEFAULT.withWindows(16 * 1024, 1024 * 1024);
        connect(settings);
        server.holdAccepted = true;
        TmpStream s = client.core.openStream(1, "c", false, new Sink());
        s.writeAndEnd(direct(pattern(100_000, 4)));
        pump(false);
        Sink atServer = server.accepted.get(0);
        assertEquals(16 * 1024, atServer.bytes.size(), "stops exactly at the stream window");
        assertFalse(client.core.hasOutput(), "a stream without credit is not ready: nothing to send, no spinning");
        for (int i = 0; i < 20 && !atServer.fin; i++) {
            atServer.release();
            pump(false);
        }
        assertEquals(100_000, atServer.bytes.size());
        assertTrue(atServer.fin);
    }

    @Test
    void linkCreditBoundsTheSumOfAllStreams() throws Exception {
        LinkSettings settings = LinkSettings.DEFAULT.withWindows(32 * 1024, 48 * 1024);
        connect(settings);
        server.holdAccepted = true;
        for (int i = 0; i < 4; i++) {
            client.core.openStream(2, "c", false, new Sink()).writeAndEnd(direct(pattern(40_000, i)));
        }
        pump(false);
        int total = server.accepted.stream().mapToInt(a -> a.bytes.size()).sum();
        assertEquals(48 * 1024, total);
        for (int round = 0; round < 50; round++) {
            server.accepted.forEach(Sink::release);
            pump(false);
        }
        assertTrue(server.accepted.stream().allMatch(a -> a.fin && a.bytes.size() == 40_000));
    }

    @Test
    void aResetReachesThePeerWithItsReasonAndDropsQueuedData() throws Exception {
        connect(LinkSettings.DEFAULT.withWindows(8 * 1024, 1024 * 1024));
        server.holdAccepted = true;
        TmpStream s = client.core.openStream(1, "c", false, new Sink());
        s.write(direct(pattern(100_000, 5)));
        pump(false);
        s.reset(ResetCode.CANCELLED, "client closed the connection");
        pump(false);
        Sink atServer = server.accepted.get(0);
        assertEquals(ResetCode.CANCELLED, atServer.reset);
        assertEquals("client closed the connection", atServer.resetReason);
        assertEquals(0, client.core.activeStreams());
        assertEquals(0, server.core.activeStreams());
    }

    @Test
    void closingTheLinkResetsEveryOpenStreamWithLinkLost() throws Exception {
        connect(LinkSettings.DEFAULT);
        List<Sink> sinks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Sink sink = new Sink();
            sinks.add(sink);
            client.core.openStream(0, "c", false, sink).write(direct(pattern(10, i)));
        }
        pump(false);
        client.core.close("carrier broke");
        for (Sink sink : sinks) {
            assertEquals(ResetCode.LINK_LOST, sink.reset);
            assertTrue(sink.resetReason.contains("carrier broke"), sink.resetReason);
        }
        Sink late = new Sink();
        client.core.openStream(0, "c", false, late);
        assertEquals(ResetCode.LINK_LOST, late.reset);
    }

    @Test
    void writabilityFollowsTheWaterMarks() throws Exception {
        connect(LinkSettings.DEFAULT);
        Sink sink = new Sink();
        TmpStream s = client.core.openStream(1, "c", false, sink);
        s.write(direct(pattern(200 * 1024, 6)));
        assertFalse(s.isWritable());
        pump(false);
        assertTrue(s.isWritable());
        assertEquals(1, sink.writableEvents);
    }

    @Test
    void higherRingsGetMoreOfACongestedLink() throws Exception {
        connect(LinkSettings.DEFAULT);
        TmpStream gold = client.core.openStream(0, "gold", false, new Sink());
        TmpStream bronze = client.core.openStream(4, "bronze", false, new Sink());
        gold.write(direct(pattern(100_000, 7)));
        bronze.write(direct(pattern(100_000, 8)));
        // Only 20 packets fit through: who got them?
        for (int i = 0; i < 20; i++) {
            ByteBuf p = ByteBufAllocator.DEFAULT.directBuffer(1500);
            client.core.writePacket(p, 1400);
            server.core.receive(p);
            p.release();
        }
        int goldBytes = server.accepted.get(0).bytes.size();
        int bronzeBytes = server.accepted.get(1).bytes.size();
        assertTrue(goldBytes > 4 * bronzeBytes, "gold " + goldBytes + " bronze " + bronzeBytes);
    }

    @Test
    void sendingBeyondCreditIsAFlowControlError() throws Exception {
        connect(LinkSettings.DEFAULT.withWindows(4096, 1024 * 1024));
        ByteBuf p = ByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            Frames.writeStreamOpen(p, 0, 0, 0, "c");
            Frames.writeDataHeader(p, 0, 0, 5000, false);
            p.writeZero(5000);
            TmpProtocolException e = assertThrows(TmpProtocolException.class, () -> server.core.receive(p));
            assertEquals(ResetCode.FLOW_CONTROL_ERROR, e.code());
        } finally {
            p.release();
        }
    }

    @Test
    void streamIdsOfTheWrongParityOrReusedAreProtocolErrors() throws Exception {
        connect(LinkSettings.DEFAULT);
        ByteBuf p = ByteBufAllocator.DEFAULT.directBuffer(256);
        try {
            Frames.writeStreamOpen(p, 1, 0, 0, "c");
            TmpProtocolException e = assertThrows(TmpProtocolException.class, () -> server.core.receive(p));
            assertEquals(ResetCode.PROTOCOL_ERROR, e.code());
            p.clear();
            Frames.writeStreamOpen(p, 2, 0, 0, "c");
            Frames.writeStreamOpen(p, 2, 0, 0, "c");
            e = assertThrows(TmpProtocolException.class, () -> server.core.receive(p));
            assertEquals(ResetCode.PROTOCOL_ERROR, e.code());
        } finally {
            p.release();
        }
    }

    @Test
    void streamsBeyondTheLimitAreRefusedNotFatal() throws Exception {
        LinkSettings one = LinkSettings.DEFAULT.withMaxStreams(1);
        connect(one);
        Sink first = new Sink();
        Sink second = new Sink();
        client.core.openStream(0, "c", false, first).write(direct(new byte[10]));
        client.core.openStream(0, "c", false, second).write(direct(new byte[10]));
        pump(false);
        assertEquals(null, first.reset);
        assertEquals(ResetCode.STREAM_LIMIT_ERROR, second.reset);
    }

    @Test
    void pingIsAnswered() throws Exception {
        connect(LinkSettings.DEFAULT);
        client.core.ping(42);
        assertEquals(2, pump(false));
    }

    /** A tracked (pooled, direct) copy, so that paranoid leak detection sees every buffer. */
    static ByteBuf direct(byte[] bytes) {
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(bytes.length);
        return b.writeBytes(bytes);
    }
}
