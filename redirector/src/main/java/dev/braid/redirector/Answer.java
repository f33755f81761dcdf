package dev.braid.redirector;

import java.util.List;

/**
 * A DNS response as the answer core builds it, before any wire encoding. RA is never set (this
 * server does not recurse) and QR is implied.
 *
 * @param id               the query ID
 * @param opcode           the query's OPCODE, echoed
 * @param rcode            the full response code, up to 12 bits; codes above 15 need {@code edns}
 *                         (RFC 6891 §6.1.3) and are split by {@link #headerRcode()} and {@link #extendedRcode()}
 * @param authoritative    the AA bit: set on every answer from a served zone
 * @param truncated        the TC bit: the answer did not fit and was cut (see {@link #truncatedTo(int)})
 * @param recursionDesired the RD bit, copied from the query
 * @param checkingDisabled the CD bit, copied from the query
 * @param questions        the question section as the query spelled it (empty in some FORMERR answers)
 * @param answers          the answer section
 * @param authority        the authority section (the zone's SOA in negative answers)
 * @param additional       the additional section, without the OPT record
 * @param edns             whether an OPT record follows the additional section: exactly when the query had one
 */
public record Answer(int id, int opcode, int rcode, boolean authoritative, boolean truncated,
                     boolean recursionDesired, boolean checkingDisabled, List<Query.Question> questions,
                     List<ResourceRecord> answers, List<ResourceRecord> authority,
                     List<ResourceRecord> additional, boolean edns) {

    /** Octets of our OPT record: root owner (1), type, class, TTL, RDLENGTH (10), no options. */
    static final int OPT_SIZE = 11;

    public Answer {
        questions = List.copyOf(questions);
        answers = List.copyOf(answers);
        authority = List.copyOf(authority);
        additional = List.copyOf(additional);
        if (rcode < 0 || rcode > 0xFFF || (rcode > 0xF && !edns)) {
            throw new IllegalArgumentException("rcode: " + rcode + " (expected: 0..15, or up to 4095 with edns)");
        }
    }

    /** An answer with no records, for errors: the question is echoed when {@code echoQuestion}. */
    static Answer error(Query query, int rcode, boolean echoQuestion) {
        return new Answer(query.id(), query.opcode(), rcode, false, false, query.recursionDesired(),
                query.checkingDisabled(), echoQuestion ? query.questions() : List.of(), List.of(), List.of(),
                List.of(), query.edns() != null);
    }

    /** The four RCODE bits of the header. */
    public int headerRcode() {
        return rcode & 0xF;
    }

    /** The upper eight bits of the response code, carried in the OPT record's TTL field. */
    public int extendedRcode() {
        return rcode >>> 4;
    }

    /**
     * Octets of this answer on the wire with every name written in full. Netty's encoder writes
     * names that way, so this is the exact size it sends; an encoder that compresses names would
     * only send fewer.
     */
    public int wireSize() {
        int size = Dns.HEADER_SIZE + (edns ? OPT_SIZE : 0);
        for (Query.Question q : questions) {
            size += DomainNames.wireLength(q.name()) + 4;
        }
        return size + sectionSize(answers) + sectionSize(authority) + sectionSize(additional);
    }

    private static int sectionSize(List<ResourceRecord> records) {
        int size = 0;
        for (ResourceRecord r : records) {
            size += r.wireSize();
        }
        return size;
    }

    /**
     * This answer cut to at most {@code limit} octets. The additional section goes first: its
     * addresses are a courtesy, so dropping it does not set TC (RFC 2181 §9). If the answer still
     * does not fit, every record section is dropped and TC is set, which tells the client to ask
     * again over TCP (RFC 1035 §4.2.1, RFC 7766 §5); the question and the OPT record stay.
     */
    public Answer truncatedTo(int limit) {
        if (wireSize() <= limit) {
            return this;
        }
        Answer withoutAdditional = new Answer(id, opcode, rcode, authoritative, false, recursionDesired,
                checkingDisabled, questions, answers, authority, List.of(), edns);
        if (withoutAdditional.wireSize() <= limit) {
            return withoutAdditional;
        }
        return new Answer(id, opcode, rcode, authoritative, true, recursionDesired, checkingDisabled, questions,
                List.of(), List.of(), List.of(), edns);
    }
}
