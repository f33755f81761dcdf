package dev.braid.redirector;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Section;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The encoder: compression that an independent parser reads back, and truncation by whole RRsets. */
class MessageWriterTest {

    private static final ZoneView VIEW = ZoneView.compile(TestConfigs.shop(), 7, "r1");

    static Message encode(Answer a, int limit) throws Exception {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        try {
            new MessageWriter().write(a, out, limit);
            byte[] bytes = new byte[out.readableBytes()];
            out.readBytes(bytes);
            return new Message(bytes);
        } finally {
            out.release();
        }
    }

    @Test
    void compressedNamesReadBackWithTheQuestionsSpelling() throws Exception {
        Answer a = VIEW.answer(Query.of(5, "WwW.Shop.Example.", Dns.TYPE_A, new Query.Edns(1232, 0, false)), 0);
        Message m = encode(a, 512);
        assertEquals(5, m.getHeader().getID());
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertEquals(2, m.getSectionArray(Section.ANSWER).length);
        assertEquals("WwW.Shop.Example.", m.getSectionArray(Section.ANSWER)[0].getName().toString());
        Message ns = encode(VIEW.answer(Query.of(6, "shop.example.", Dns.TYPE_NS, null), 0), 512);
        assertEquals("ns1.shop.example.", ns.getSectionArray(Section.ANSWER)[0].rdataToString());
        assertEquals(1, ns.getSectionArray(Section.ADDITIONAL).length);
        Message soa = encode(VIEW.answer(Query.of(6, "nope.shop.example.", Dns.TYPE_A, null), 0), 512);
        assertTrue(soa.getSectionArray(Section.AUTHORITY)[0].rdataToString().startsWith("ns1.shop.example. "
                + "hostmaster.shop.example. 7 3600 600 1209600 30"));
    }

    @Test
    void truncationDropsAdditionalFirstThenEveryRecordWithTc() throws Exception {
        Answer ns = VIEW.answer(Query.of(1, "shop.example.", Dns.TYPE_NS, null), 0);
        int whole = encode(ns, 512).toWire().length;
        Message noGlue = encode(ns, whole - 1);
        assertFalse(noGlue.getHeader().getFlag(Flags.TC));
        assertEquals(0, noGlue.getSectionArray(Section.ADDITIONAL).length);
        assertEquals(2, noGlue.getSectionArray(Section.ANSWER).length);
        Message cut = encode(ns, noGlue.toWire().length - 1);
        assertTrue(cut.getHeader().getFlag(Flags.TC));
        assertTrue(cut.getHeader().getFlag(Flags.AA));
        assertEquals(0, cut.getSectionArray(Section.ANSWER).length);
        assertEquals(1, cut.getSectionArray(Section.QUESTION).length);
    }

    @Test
    void escapedLabelsRoundTrip() throws Exception {
        List<String> names = new ArrayList<>(List.of("a\\.b.shop.example.", "x\\000y.example.", "\\\\.example.", "."));
        for (String n : names) {
            Answer a = new Answer(1, 0, 0, true, false, false, false, List.of(new Query.Question(n, 1, 1)),
                    List.of(), List.of(), List.of(), false, null);
            ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
            try {
                new MessageWriter().write(a, out, 512);
                assertEquals(n, MessageReader.read(out).questions().get(0).name());
            } finally {
                out.release();
            }
        }
    }
}
