package dev.braid.redirector;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DefaultDnsResponse;
import io.netty.handler.codec.dns.DnsOpCode;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Translates between Netty's DNS messages and the answer core's {@link Query} and {@link Answer}.
 * Neither direction takes ownership of its argument; a returned response belongs to the caller.
 */
final class WireCodec {

    private WireCodec() {
    }

    /** The core's view of a decoded query. */
    static Query query(DnsQuery in) {
        int count = in.count(DnsSection.QUESTION);
        List<Query.Question> questions = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            DnsQuestion q = in.recordAt(DnsSection.QUESTION, i);
            questions.add(new Query.Question(q.name(), q.type().intValue(), q.dnsClass()));
        }
        Query.Edns edns = null;
        int optRecords = 0;
        int additional = in.count(DnsSection.ADDITIONAL);
        for (int i = 0; i < additional; i++) {
            DnsRecord r = in.recordAt(DnsSection.ADDITIONAL, i);
            if (r.type().intValue() == Dns.TYPE_OPT) {
                optRecords++;
                if (edns == null) {
                    // RFC 6891 §6.1.3: CLASS is the payload size; TTL is EXTENDED-RCODE, VERSION, DO and Z.
                    long ttl = r.timeToLive();
                    edns = new Query.Edns(r.dnsClass(), (int) (ttl >>> 16) & 0xFF, (ttl & 0x8000) != 0);
                }
            }
        }
        // Netty keeps the three bits after RA together as Z; the lowest of them is CD (RFC 4035 §3.1.6).
        return new Query(in.id(), in.opCode().byteValue() & 0xF, in.isRecursionDesired(), (in.z() & 1) != 0,
                questions, edns, optRecords);
    }

    /**
     * A Netty response for {@code answer}: a {@link DatagramDnsResponse} addressed to {@code client}
     * when it is not null (UDP), else a plain one (TCP).
     */
    static DnsResponse response(Answer answer, InetSocketAddress local, InetSocketAddress client) {
        DnsOpCode opCode = DnsOpCode.valueOf(answer.opcode());
        DnsResponseCode code = DnsResponseCode.valueOf(answer.headerRcode());
        DnsResponse out = client != null
                ? new DatagramDnsResponse(local, client, answer.id(), opCode, code)
                : new DefaultDnsResponse(answer.id(), opCode, code);
        boolean built = false;
        try {
            out.setAuthoritativeAnswer(answer.authoritative());
            out.setTruncated(answer.truncated());
            out.setRecursionDesired(answer.recursionDesired());
            out.setRecursionAvailable(false);
            out.setZ(answer.checkingDisabled() ? 1 : 0);
            for (Query.Question q : answer.questions()) {
                out.addRecord(DnsSection.QUESTION,
                        new DefaultDnsQuestion(q.name(), DnsRecordType.valueOf(q.type()), q.dnsClass()));
            }
            addRecords(out, DnsSection.ANSWER, answer.answers());
            addRecords(out, DnsSection.AUTHORITY, answer.authority());
            addRecords(out, DnsSection.ADDITIONAL, answer.additional());
            if (answer.edns()) {
                // Our OPT: payload size in CLASS, extended RCODE in the TTL's top octet, version 0, DO clear
                // (nothing here is signed, RFC 3225 §3).
                out.addRecord(DnsSection.ADDITIONAL, new DefaultDnsRawRecord(".", DnsRecordType.OPT,
                        Dns.UDP_PAYLOAD_SIZE, (long) answer.extendedRcode() << 24, Unpooled.EMPTY_BUFFER));
            }
            built = true;
            return out;
        } finally {
            if (!built) {
                out.release();
            }
        }
    }

    private static void addRecords(DnsResponse out, DnsSection section, List<ResourceRecord> records) {
        for (ResourceRecord r : records) {
            out.addRecord(section, new DefaultDnsRawRecord(r.name(), DnsRecordType.valueOf(r.type()),
                    DnsRecord.CLASS_IN, r.ttl(), Unpooled.wrappedBuffer(r.sharedRdata()).asReadOnly()));
        }
    }
}
