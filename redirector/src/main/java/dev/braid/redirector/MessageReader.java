package dev.braid.redirector;

import io.netty.buffer.ByteBuf;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads a DNS query from its wire form (RFC 1035 §4.1) into a {@link Query}, checking every
 * length before it reads. Names may use compression pointers (to earlier octets only, so they
 * cannot loop); label octets other than letters, digits, '-' and '_' are kept in presentation
 * form with RFC 1035 §5.1 escapes, so a name is echoed exactly as it came. Does not take
 * ownership of the buffer and does not move its indices.
 */
final class MessageReader {

    private static final int MAX_NAME_OCTETS = 255;

    private MessageReader() {
    }

    /**
     * The query in {@code buf}'s readable bytes, which start with a whole 12-octet header.
     *
     * @throws MalformedMessageException when the body does not decode, or breaks a rule that makes
     *                                   it a format error: records in the answer or authority
     *                                   section of a QUERY (RFC 1035 §4.1.1 gives them no meaning;
     *                                   IXFR aside), or a malformed Client Subnet option (RFC 7871 §7.1.2)
     */
    static Query read(ByteBuf buf) throws MalformedMessageException {
        int base = buf.readerIndex();
        int end = buf.writerIndex();
        if (end - base < Dns.HEADER_SIZE) {
            throw new MalformedMessageException("shorter than a header");
        }
        int id = buf.getUnsignedShort(base);
        int flags = buf.getUnsignedShort(base + 2);
        int qdcount = buf.getUnsignedShort(base + 4);
        int ancount = buf.getUnsignedShort(base + 6);
        int nscount = buf.getUnsignedShort(base + 8);
        int arcount = buf.getUnsignedShort(base + 10);
        int opcode = (flags >>> 11) & 0xF;
        int[] pos = {base + Dns.HEADER_SIZE};
        StringBuilder sb = new StringBuilder(64);
        List<Query.Question> questions = new ArrayList<>(Math.min(qdcount, 4));
        for (int i = 0; i < qdcount; i++) {
            String name = readName(buf, base, end, pos, sb);
            need(end, pos[0], 4);
            int type = buf.getUnsignedShort(pos[0]);
            int dnsClass = buf.getUnsignedShort(pos[0] + 2);
            pos[0] += 4;
            questions.add(new Query.Question(name, type, dnsClass));
        }
        boolean ixfr = qdcount == 1 && questions.get(0).type() == Dns.TYPE_IXFR;
        if (opcode == Dns.OPCODE_QUERY && (ancount != 0 || (nscount != 0 && !ixfr))) {
            throw new MalformedMessageException("records in the answer or authority section of a query");
        }
        for (int i = 0; i < ancount + nscount; i++) {
            skipRecord(buf, base, end, pos, sb);
        }
        Query.Edns edns = null;
        int optRecords = 0;
        for (int i = 0; i < arcount; i++) {
            readName(buf, base, end, pos, sb);
            need(end, pos[0], 10);
            int type = buf.getUnsignedShort(pos[0]);
            int rrClass = buf.getUnsignedShort(pos[0] + 2);
            long ttl = buf.getUnsignedInt(pos[0] + 4);
            int rdlength = buf.getUnsignedShort(pos[0] + 8);
            pos[0] += 10;
            need(end, pos[0], rdlength);
            if (type == Dns.TYPE_OPT && optRecords++ == 0) {
                // RFC 6891 §6.1.3: CLASS is the payload size; TTL is EXTENDED-RCODE, VERSION, DO and Z.
                edns = new Query.Edns(rrClass, (int) (ttl >>> 16) & 0xFF, (ttl & 0x8000) != 0,
                        clientSubnet(buf, pos[0], pos[0] + rdlength));
            }
            pos[0] += rdlength;
        }
        return new Query(id, opcode, (flags & 0x0100) != 0, (flags & 0x0010) != 0, questions, edns, optRecords);
    }

    /** The Client Subnet option among the OPT record's options (others are ignored, RFC 6891 §6.1.2), or null. */
    private static ClientSubnet clientSubnet(ByteBuf buf, int from, int to) throws MalformedMessageException {
        ClientSubnet found = null;
        int p = from;
        while (p < to) {
            need(to, p, 4);
            int code = buf.getUnsignedShort(p);
            int length = buf.getUnsignedShort(p + 2);
            p += 4;
            need(to, p, length);
            if (code == ClientSubnet.OPTION_CODE && found == null) {
                found = parseClientSubnet(buf, p, length);
            }
            p += length;
        }
        return found;
    }

    private static ClientSubnet parseClientSubnet(ByteBuf buf, int p, int length) throws MalformedMessageException {
        if (length < 4) {
            throw new MalformedMessageException("client subnet option of " + length + " octets");
        }
        int family = buf.getUnsignedShort(p);
        int source = buf.getUnsignedByte(p + 2);
        int scope = buf.getUnsignedByte(p + 3);
        int bits = family == ClientSubnet.FAMILY_IPV4 ? 32 : family == ClientSubnet.FAMILY_IPV6 ? 128 : -1;
        // RFC 7871 §6 and §7.1.2: a known family, prefixes within it, scope 0 in queries, exactly
        // the octets the source prefix needs, and no bits set beyond it.
        if (bits < 0 || source > bits || scope != 0 || length - 4 != (source + 7) / 8) {
            throw new MalformedMessageException("client subnet option: family " + family + ", source " + source
                    + ", scope " + scope + ", " + (length - 4) + " address octets");
        }
        byte[] address = new byte[length - 4];
        buf.getBytes(p + 4, address);
        if (source % 8 != 0 && (address[address.length - 1] & (0xFF >>> (source % 8))) != 0) {
            throw new MalformedMessageException("client subnet option: bits set beyond the source prefix");
        }
        return new ClientSubnet(family, source, 0, address);
    }

    private static void skipRecord(ByteBuf buf, int base, int end, int[] pos, StringBuilder sb)
            throws MalformedMessageException {
        readName(buf, base, end, pos, sb);
        need(end, pos[0], 10);
        int rdlength = buf.getUnsignedShort(pos[0] + 8);
        pos[0] += 10;
        need(end, pos[0], rdlength);
        pos[0] += rdlength;
    }

    private static void need(int end, int at, int octets) throws MalformedMessageException {
        if (end - at < octets) {
            throw new MalformedMessageException("message ends " + (octets - (end - at)) + " octet(s) early");
        }
    }

    /**
     * Reads the name at {@code pos[0]} and moves past it. Pointers must point backwards, so each
     * jump lands strictly before the last and a chain cannot loop.
     */
    static String readName(ByteBuf buf, int base, int end, int[] pos, StringBuilder sb)
            throws MalformedMessageException {
        sb.setLength(0);
        int p = pos[0];
        int resume = -1;
        int octets = 1;
        int limit = p; // pointers must point before the place they are read from
        while (true) {
            need(end, p, 1);
            int len = buf.getUnsignedByte(p);
            if ((len & 0xC0) == 0xC0) {
                need(end, p, 2);
                int target = base + (((len & 0x3F) << 8) | buf.getUnsignedByte(p + 1));
                if (resume < 0) {
                    resume = p + 2;
                }
                if (target >= limit) {
                    throw new MalformedMessageException("compression pointer forward or in a loop");
                }
                limit = target;
                p = target;
                continue;
            }
            if ((len & 0xC0) != 0) {
                throw new MalformedMessageException("label type " + (len >>> 6));
            }
            if (len == 0) {
                p++;
                break;
            }
            need(end, p, 1 + len);
            octets += 1 + len;
            if (octets > MAX_NAME_OCTETS) {
                throw new MalformedMessageException("name longer than 255 octets");
            }
            if (sb.length() > 0) {
                sb.append('.');
            }
            for (int i = 1; i <= len; i++) {
                appendEscaped(sb, buf.getUnsignedByte(p + i));
            }
            p += 1 + len;
        }
        pos[0] = resume >= 0 ? resume : p;
        return sb.length() == 0 ? "." : sb.append('.').toString();
    }

    private static void appendEscaped(StringBuilder sb, int b) {
        if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' || b == '_') {
            sb.append((char) b);
        } else if (b > 0x20 && b < 0x7F) {
            sb.append('\\').append((char) b);
        } else {
            sb.append('\\').append((char) ('0' + b / 100)).append((char) ('0' + b / 10 % 10))
                    .append((char) ('0' + b % 10));
        }
    }
}
