package dev.braid.redirector;

import io.netty.buffer.ByteBuf;

import java.util.List;

/**
 * Writes an {@link Answer} in wire form with name compression (RFC 1035 §4.1.4) and truncates it
 * to a size limit the way authoritative servers do: whole RRsets only; an RRset of the additional
 * section that does not fit is left out silently (RFC 2181 §9), one of the answer or authority
 * section empties every record section and sets TC, so the client asks again over TCP (RFC 1035
 * §4.2.1, RFC 7766 §5). The question and the OPT record always stay. Names compress against every
 * name already written, the question's included, so a name that repeats part of the question
 * carries the question's spelling, as a pointer to it.
 *
 * <p>Not thread-safe: one instance per event loop or channel; it keeps its compression table between
 * calls to allocate nothing per message.
 */
final class MessageWriter {

    private static final int MAX_POINTER = 0x3FFF;
    private static final int TABLE_SIZE = 64;

    /** Compression table: a suffix of {@code names[i]} from {@code starts[i]} is at {@code offsets[i]}. */
    private final String[] names = new String[TABLE_SIZE];
    private final int[] starts = new int[TABLE_SIZE];
    private final int[] ends = new int[TABLE_SIZE];
    private final int[] offsets = new int[TABLE_SIZE];
    private int entries;
    private int messageStart;

    /**
     * Appends {@code answer} to {@code out}, at most {@code limit} octets of it.
     *
     * @return whether the answer went out truncated (TC set)
     */
    boolean write(Answer answer, ByteBuf out, int limit) {
        entries = 0;
        messageStart = out.writerIndex();
        boolean tc = answer.truncated();
        out.writeShort(answer.id());
        out.writeShort(0); // flags, set below
        out.writeShort(answer.questions().size());
        out.writeZero(6); // ANCOUNT, NSCOUNT, ARCOUNT, set below
        for (Query.Question q : answer.questions()) {
            writeName(out, q.name());
            out.writeShort(q.type());
            out.writeShort(q.dnsClass());
        }
        int afterQuestion = out.writerIndex();
        int questionEntries = entries;
        int optSize = answer.edns() ? 11 + (answer.clientSubnet() != null ? answer.clientSubnet().wireSize() : 0) : 0;
        int room = messageStart + limit - optSize;
        int[] counts = new int[3];
        if (!tc) {
            List<ResourceRecord>[] sections = sections(answer);
            outer:
            for (int s = 0; s < 3; s++) {
                List<ResourceRecord> records = sections[s];
                int i = 0;
                while (i < records.size()) {
                    int j = rrsetEnd(records, i);
                    int mark = out.writerIndex();
                    int markEntries = entries;
                    for (int k = i; k < j; k++) {
                        writeRecord(out, records.get(k));
                    }
                    if (out.writerIndex() > room) {
                        out.writerIndex(mark);
                        entries = markEntries;
                        if (s == 2) {
                            break outer;
                        }
                        out.writerIndex(afterQuestion);
                        entries = questionEntries;
                        counts[0] = counts[1] = counts[2] = 0;
                        tc = true;
                        break outer;
                    }
                    counts[s] += j - i;
                    i = j;
                }
            }
        }
        int arcount = counts[2];
        if (answer.edns()) {
            writeOpt(out, answer);
            arcount++;
        }
        int flags = 0x8000 | (answer.opcode() & 0xF) << 11 | (answer.authoritative() ? 0x0400 : 0)
                | (tc ? 0x0200 : 0) | (answer.recursionDesired() ? 0x0100 : 0)
                | (answer.checkingDisabled() ? 0x0010 : 0) | answer.headerRcode();
        out.setShort(messageStart + 2, flags);
        out.setShort(messageStart + 6, counts[0]);
        out.setShort(messageStart + 8, counts[1]);
        out.setShort(messageStart + 10, arcount);
        return tc;
    }

    @SuppressWarnings("unchecked")
    private static List<ResourceRecord>[] sections(Answer a) {
        return new List[] {a.answers(), a.authority(), a.additional()};
    }

    /** The end of the RRset starting at {@code from}: consecutive records of one owner and type. */
    private static int rrsetEnd(List<ResourceRecord> records, int from) {
        ResourceRecord first = records.get(from);
        int j = from + 1;
        while (j < records.size() && records.get(j).type() == first.type()
                && records.get(j).name().equalsIgnoreCase(first.name())) {
            j++;
        }
        return j;
    }

    private void writeRecord(ByteBuf out, ResourceRecord r) {
        writeName(out, r.name());
        out.writeShort(r.type());
        out.writeShort(Dns.CLASS_IN);
        out.writeInt((int) r.ttl());
        int lengthAt = out.writerIndex();
        out.writeShort(0);
        for (String n : r.sharedNames()) {
            writeName(out, n);
        }
        out.writeBytes(r.sharedTail());
        out.setShort(lengthAt, out.writerIndex() - lengthAt - 2);
    }

    private static void writeOpt(ByteBuf out, Answer answer) {
        // Our OPT: payload size in CLASS, extended RCODE in the TTL's top octet, version 0, the DO
        // bit copied from the query (RFC 3225 §3; nothing here is signed).
        out.writeByte(0);
        out.writeShort(Dns.TYPE_OPT);
        out.writeShort(Dns.UDP_PAYLOAD_SIZE);
        out.writeInt(answer.extendedRcode() << 24 | (answer.dnssecOk() ? 0x8000 : 0));
        ClientSubnet ecs = answer.clientSubnet();
        if (ecs == null) {
            out.writeShort(0);
            return;
        }
        out.writeShort(ecs.wireSize());
        out.writeShort(ClientSubnet.OPTION_CODE);
        out.writeShort(4 + ecs.address().length);
        out.writeShort(ecs.family());
        out.writeByte(ecs.sourcePrefix());
        out.writeByte(ecs.scopePrefix());
        out.writeBytes(ecs.address());
    }

    /** Writes {@code name} (presentation form, RFC 1035 §5.1 escapes) compressed against what is already written. */
    void writeName(ByteBuf out, String name) {
        int end = name.length();
        if (end > 0 && name.charAt(end - 1) == '.') {
            int backslashes = 0;
            while (end - 2 - backslashes >= 0 && name.charAt(end - 2 - backslashes) == '\\') {
                backslashes++;
            }
            if (backslashes % 2 == 0) {
                end--; // the root's empty label, not an escaped dot
            }
        }
        int start = 0;
        while (start < end) {
            int pointer = lookup(name, start, end);
            if (pointer >= 0) {
                out.writeShort(0xC000 | pointer);
                return;
            }
            int offset = out.writerIndex() - messageStart;
            if (offset <= MAX_POINTER && entries < TABLE_SIZE) {
                names[entries] = name;
                starts[entries] = start;
                ends[entries] = end;
                offsets[entries] = offset;
                entries++;
            }
            start = writeLabel(out, name, start, end);
        }
        out.writeByte(0);
    }

    private int lookup(String name, int start, int end) {
        int length = end - start;
        for (int i = 0; i < entries; i++) {
            if (ends[i] - starts[i] == length && names[i].regionMatches(true, starts[i], name, start, length)) {
                return offsets[i];
            }
        }
        return -1;
    }

    /** Writes the label starting at {@code start}; returns where the next label starts. */
    private static int writeLabel(ByteBuf out, String name, int start, int end) {
        int lengthAt = out.writerIndex();
        out.writeByte(0);
        int i = start;
        int octets = 0;
        while (i < end) {
            char c = name.charAt(i);
            if (c == '.') {
                i++;
                break;
            }
            if (c == '\\' && i + 1 < end) {
                char d = name.charAt(i + 1);
                if (d >= '0' && d <= '9' && i + 3 < end) {
                    out.writeByte((d - '0') * 100 + (name.charAt(i + 2) - '0') * 10 + (name.charAt(i + 3) - '0'));
                    i += 4;
                } else {
                    out.writeByte(d);
                    i += 2;
                }
            } else {
                out.writeByte(c);
                i++;
            }
            octets++;
        }
        out.setByte(lengthAt, octets);
        return i;
    }
}
