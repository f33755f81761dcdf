package dev.braid.redirector;

import dev.braid.managers.config.BraidConfig;
import dev.braid.runtime.Metrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.ImmediateEventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The UDP and TCP pipelines driven in memory: framing, truncation, malformed input, release of every buffer. */
class DnsChannelsTest {

    private static final InetSocketAddress SERVER = new InetSocketAddress("127.0.0.1", 5300);
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);

    private final Metrics metrics = new Metrics();
    private final AtomicReference<ZoneView> view = new AtomicReference<>(ZoneView.compile(TestConfigs.shop(), 3, "r1"));
    private final AtomicInteger tcpConnections = new AtomicInteger();
    private final DnsChannels setup = channels(1000);
    private final List<EmbeddedChannel> opened = new ArrayList<>();

    private DnsChannels channels(int maxTcp) {
        RedirectorMetrics m = new RedirectorMetrics(metrics, () -> view.get().version(), tcpConnections::get);
        return new DnsChannels(view, m, TimeUnit.SECONDS.toNanos(10), maxTcp,
                new DefaultChannelGroup(ImmediateEventExecutor.INSTANCE), tcpConnections,
                () -> dev.braid.managers.config.DnsSettings.RrlSettings.OFF);
    }

    @AfterEach
    void finish() {
        for (EmbeddedChannel ch : opened) {
            for (Object o; (o = ch.readOutbound()) != null; ) {
                io.netty.util.ReferenceCountUtil.release(o);
            }
            assertFalse(ch.finish(), "nothing left unread");
        }
    }

    private EmbeddedChannel udp() {
        EmbeddedChannel ch = new EmbeddedChannel();
        setup.udp(ch);
        opened.add(ch);
        return ch;
    }

    private EmbeddedChannel tcp(DnsChannels s) {
        EmbeddedChannel ch = new EmbeddedChannel();
        s.tcp(ch);
        opened.add(ch);
        return ch;
    }

    private static Message query(int id, String name, int type, int ednsPayload) throws IOException {
        Message m = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        m.getHeader().setID(id);
        if (ednsPayload > 0) {
            m.addRecord(new OPTRecord(ednsPayload, 0, 0), Section.ADDITIONAL);
        }
        return m;
    }

    private long dropped(String transport, String reason) {
        return metrics.counter("braid_redirector_dropped_total", "", "transport", "reason").value(transport, reason);
    }

    private long answered(String transport, String rcode) {
        return metrics.counter("braid_redirector_queries_total", "", "transport", "rcode").value(transport, rcode);
    }

    /** Sends one datagram and returns the answer, or null when none was sent. */
    private static Message exchange(EmbeddedChannel ch, byte[] datagram) throws IOException {
        ch.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(datagram), SERVER, CLIENT));
        DatagramPacket out = ch.readOutbound();
        if (out == null) {
            return null;
        }
        try {
            assertEquals(CLIENT, out.recipient());
            byte[] bytes = new byte[out.content().readableBytes()];
            out.content().readBytes(bytes);
            return new Message(bytes);
        } finally {
            out.release();
        }
    }

    private static List<Message> readTcp(EmbeddedChannel ch) throws IOException {
        ByteBuf all = Unpooled.buffer();
        try {
            for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
                all.writeBytes(b);
                b.release();
            }
            List<Message> out = new ArrayList<>();
            while (all.isReadable()) {
                byte[] bytes = new byte[all.readUnsignedShort()];
                all.readBytes(bytes);
                out.add(new Message(bytes));
            }
            return out;
        } finally {
            all.release();
        }
    }

    private static byte[] framed(byte[]... messages) {
        ByteBuf b = Unpooled.buffer();
        for (byte[] m : messages) {
            b.writeShort(m.length).writeBytes(m);
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    @Test
    void udpAnswersAQueryWithAuthoritativeHeaderBits() throws IOException {
        Message response = exchange(udp(), query(7, "www.shop.example.", Type.A, 0).toWire());
        assertNotNull(response);
        assertEquals(7, response.getHeader().getID());
        assertEquals(Rcode.NOERROR, response.getRcode());
        assertTrue(response.getHeader().getFlag(Flags.QR));
        assertTrue(response.getHeader().getFlag(Flags.AA));
        assertTrue(response.getHeader().getFlag(Flags.RD));
        assertFalse(response.getHeader().getFlag(Flags.RA));
        assertEquals(2, response.getSection(Section.ANSWER).size());
        assertNull(response.getOPT());
        assertEquals(1, answered("udp", "NOERROR"));
    }

    @Test
    void udpCutsAnswersToTheClientsLimit() throws IOException {
        TestConfigs b = TestConfigs.builder().site("s", 20, "www.many.example").backEnd("be", "s")
                .redirector("r1", "127.0.0.1:5300", 30);
        for (int i = 1; i <= 30; i++) {
            b.frontEnd("fe" + i, "10.0.1." + i, List.of("s"), List.of("be"));
        }
        view.set(ZoneView.compile(b.build(), 4, "r1"));
        EmbeddedChannel ch = udp();

        Message classic = exchange(ch, query(1, "www.many.example.", Type.A, 0).toWire());
        assertTrue(classic.getHeader().getFlag(Flags.TC));
        assertTrue(classic.getSection(Section.ANSWER).isEmpty());
        assertEquals(1, classic.getSection(Section.QUESTION).size());

        Message small = exchange(ch, query(2, "www.many.example.", Type.A, 520).toWire());
        assertTrue(small.getHeader().getFlag(Flags.TC));
        assertEquals(Dns.UDP_PAYLOAD_SIZE, small.getOPT().getPayloadSize());

        Message large = exchange(ch, query(3, "www.many.example.", Type.A, 4096).toWire());
        assertFalse(large.getHeader().getFlag(Flags.TC));
        assertEquals(30, large.getSection(Section.ANSWER).size());
        assertEquals(2, metrics.counter("braid_redirector_truncated_total", "", "transport").value("udp"));
    }

    @Test
    void udpDropsWhatCannotBeAQuery() throws IOException {
        EmbeddedChannel ch = udp();
        assertNull(exchange(ch, new byte[] {1, 2, 3, 4, 5}));
        assertNull(exchange(ch, new byte[0]));
        assertEquals(2, dropped("udp", "short"));

        Message m = query(9, "www.shop.example.", Type.A, 0);
        m.getHeader().setFlag(Flags.QR);
        assertNull(exchange(ch, m.toWire()));
        assertEquals(1, dropped("udp", "response"));
    }

    @Test
    void udpAnswersFormErrWhenOnlyTheHeaderIsReadable() throws IOException {
        byte[] wire = query(0x1234, "www.shop.example.", Type.A, 0).toWire();
        byte[] cut = java.util.Arrays.copyOf(wire, 15); // the header and half a name
        Message response = exchange(udp(), cut);
        assertNotNull(response);
        assertEquals(0x1234, response.getHeader().getID());
        assertEquals(Rcode.FORMERR, response.getRcode());
        assertTrue(response.getSection(Section.QUESTION).isEmpty());
        assertEquals(1, answered("udp", "FORMERR"));
    }

    @Test
    void udpKeepsServingThroughGarbage() throws IOException {
        EmbeddedChannel ch = udp();
        Random random = new Random(20240611);
        byte[] valid = query(77, "www.shop.example.", Type.A, 1232).toWire();
        for (int i = 0; i < 3000; i++) {
            byte[] datagram;
            if (i % 2 == 0) {
                datagram = new byte[random.nextInt(80)];
                random.nextBytes(datagram);
            } else {
                datagram = valid.clone();
                for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                    datagram[random.nextInt(datagram.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            Message response = exchange(ch, datagram);
            if (response != null) {
                assertTrue(response.getHeader().getFlag(Flags.QR), "only responses are sent");
            }
            assertTrue(ch.isOpen());
        }
        Message after = exchange(ch, valid);
        assertEquals(Rcode.NOERROR, after.getRcode());
        assertEquals(2, after.getSection(Section.ANSWER).size());
    }

    @Test
    void tcpAnswersPipelinedQueriesArrivingByteByByte() throws IOException {
        EmbeddedChannel ch = tcp(setup);
        byte[] stream = framed(query(1, "www.shop.example.", Type.A, 0).toWire(),
                query(2, "nope.shop.example.", Type.A, 0).toWire(),
                query(3, "shop.example.", Type.SOA, 1232).toWire());
        for (byte b : stream) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        List<Message> responses = readTcp(ch);
        assertEquals(3, responses.size());
        assertEquals(1, responses.get(0).getHeader().getID());
        assertEquals(2, responses.get(0).getSection(Section.ANSWER).size());
        assertEquals(2, responses.get(1).getHeader().getID());
        assertEquals(Rcode.NXDOMAIN, responses.get(1).getRcode());
        assertEquals(3, responses.get(2).getHeader().getID());
        assertEquals(Type.SOA, responses.get(2).getSection(Section.ANSWER).get(0).getType());
        assertTrue(ch.isOpen());
        assertEquals(1, tcpConnections.get());
        ch.close();
        assertEquals(0, tcpConnections.get());
    }

    @Test
    void tcpDoesNotTruncateWhatUdpWould() throws IOException {
        TestConfigs b = TestConfigs.builder().site("s", 20, "www.many.example").backEnd("be", "s")
                .redirector("r1", "127.0.0.1:5300", 100);
        for (int i = 1; i <= 100; i++) {
            b.frontEnd("fe" + i, "10.0.2." + i, List.of("s"), List.of("be"));
        }
        view.set(ZoneView.compile(b.build(), 4, "r1"));
        EmbeddedChannel ch = tcp(setup);
        ch.writeInbound(Unpooled.wrappedBuffer(framed(query(5, "www.many.example.", Type.A, 0).toWire())));
        Message m = readTcp(ch).get(0);
        assertFalse(m.getHeader().getFlag(Flags.TC));
        assertEquals(100, m.getSection(Section.ANSWER).size());
    }

    @Test
    void tcpAnswersFormErrToABrokenMessageThenCloses() throws IOException {
        EmbeddedChannel ch = tcp(setup);
        byte[] good = query(1, "www.shop.example.", Type.A, 0).toWire();
        byte[] broken = java.util.Arrays.copyOf(query(0x4242, "www.shop.example.", Type.A, 0).toWire(), 14);
        byte[] after = query(3, "www.shop.example.", Type.A, 0).toWire();
        ch.writeInbound(Unpooled.wrappedBuffer(framed(good, broken, after)));
        List<Message> responses = readTcp(ch);
        assertEquals(2, responses.size(), "the message after the broken one is not parsed");
        assertEquals(1, responses.get(0).getHeader().getID());
        assertEquals(0x4242, responses.get(1).getHeader().getID());
        assertEquals(Rcode.FORMERR, responses.get(1).getRcode());
        assertFalse(ch.isOpen());
    }

    @Test
    void tcpClosesSilentlyOnAMessageWithoutHeader() throws IOException {
        EmbeddedChannel ch = tcp(setup);
        ch.writeInbound(Unpooled.wrappedBuffer(framed(new byte[] {1, 2, 3})));
        assertTrue(readTcp(ch).isEmpty());
        assertFalse(ch.isOpen());
        assertEquals(1, dropped("tcp", "short"));

        EmbeddedChannel zero = tcp(setup);
        zero.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0}));
        assertTrue(readTcp(zero).isEmpty());
        assertFalse(zero.isOpen());
    }

    @Test
    void tcpClosesOnAResponse() throws IOException {
        EmbeddedChannel ch = tcp(setup);
        Message m = query(9, "www.shop.example.", Type.A, 0);
        m.getHeader().setFlag(Flags.QR);
        ch.writeInbound(Unpooled.wrappedBuffer(framed(m.toWire())));
        assertTrue(readTcp(ch).isEmpty());
        assertFalse(ch.isOpen());
    }

    @Test
    void tcpConnectionsOverTheLimitAreClosed() {
        DnsChannels limited = channels(1);
        EmbeddedChannel first = tcp(limited);
        EmbeddedChannel second = tcp(limited);
        assertTrue(first.isOpen());
        assertFalse(second.isOpen());
        assertEquals(1, dropped("tcp", "connection_limit"));
        assertEquals(1, tcpConnections.get());
    }

    @Test
    void idleTcpConnectionsAreClosed() {
        EmbeddedChannel ch = tcp(setup);
        ch.advanceTimeBy(9, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen());
        ch.advanceTimeBy(2, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertFalse(ch.isOpen());
    }

    @Test
    void opcodeAndEdnsErrorsReachTheWire() throws IOException {
        EmbeddedChannel ch = udp();
        Message notify = query(4, "shop.example.", Type.SOA, 0);
        notify.getHeader().setOpcode(Opcode.NOTIFY);
        Message r = exchange(ch, notify.toWire());
        assertEquals(Rcode.NOTIMP, r.getRcode());
        assertEquals(Opcode.NOTIFY, r.getHeader().getOpcode());

        Message v1 = Message.newQuery(Record.newRecord(Name.fromString("www.shop.example."), Type.A, DClass.IN));
        v1.addRecord(new OPTRecord(1232, 0, 1), Section.ADDITIONAL);
        Message bad = exchange(ch, v1.toWire());
        assertEquals(Rcode.BADVERS, bad.getRcode());
        assertEquals(0, bad.getHeader().getRcode());
        assertEquals(0, bad.getOPT().getVersion());

        Message cd = query(6, "www.shop.example.", Type.A, 0);
        cd.getHeader().setFlag(Flags.CD);
        cd.getHeader().unsetFlag(Flags.RD);
        Message echoed = exchange(ch, cd.toWire());
        assertTrue(echoed.getHeader().getFlag(Flags.CD));
        assertFalse(echoed.getHeader().getFlag(Flags.RD));
        assertFalse(echoed.getHeader().getFlag(Flags.AD));
    }

    @Test
    void theLiveViewIsReadPerQuery() throws IOException {
        EmbeddedChannel ch = udp();
        assertEquals(2, exchange(ch, query(1, "www.shop.example.", Type.A, 0).toWire())
                .getSection(Section.ANSWER).size());
        BraidConfig moved = TestConfigs.builder().site("shop", 5, "www.shop.example").backEnd("be", "shop")
                .frontEnd("only", "203.0.113.9", List.of("shop"), List.of("be")).build();
        view.set(ZoneView.compile(moved, 4, null));
        Message m = exchange(ch, query(2, "www.shop.example.", Type.A, 0).toWire());
        assertEquals(1, m.getSection(Section.ANSWER).size());
        assertEquals("203.0.113.9", ((org.xbill.DNS.ARecord) m.getSection(Section.ANSWER).get(0))
                .getAddress().getHostAddress());
        assertEquals(5, m.getSection(Section.ANSWER).get(0).getTTL());
    }
}
