package dev.braid.redirector;

import java.util.List;

/**
 * A DNS response as the answer core builds it, before any wire encoding. RA is never set (this
 * server does not recurse) and QR is implied. Truncation to a client's limit happens while
 * encoding ({@link MessageWriter}), where compressed sizes are known.
 *
 * @param id               the query ID
 * @param opcode           the query's OPCODE, echoed
 * @param rcode            the full response code, up to 12 bits; codes above 15 need {@code edns}
 *                         (RFC 6891 §6.1.3) and are split by {@link #headerRcode()} and {@link #extendedRcode()}
 * @param authoritative    the AA bit: set on answers from a served zone, clear on referrals
 * @param truncated        the TC bit: set here only for answers that must carry it whatever their size
 * @param recursionDesired the RD bit, copied from the query
 * @param checkingDisabled the CD bit, copied from the query
 * @param questions        the question section as the query spelled it (empty in some FORMERR answers)
 * @param answers          the answer section
 * @param authority        the authority section (the zone's SOA in negative answers, NS in referrals)
 * @param additional       the additional section, without the OPT record
 * @param edns             whether an OPT record follows the additional section: exactly when the query had one
 * @param clientSubnet     the Client Subnet option to echo with its scope (RFC 7871 §7.2.1), or null
 * @param dnssecOk         the DO bit of the OPT record, copied from the query (RFC 3225 §3)
 */
public record Answer(int id, int opcode, int rcode, boolean authoritative, boolean truncated,
                     boolean recursionDesired, boolean checkingDisabled, List<Query.Question> questions,
                     List<ResourceRecord> answers, List<ResourceRecord> authority,
                     List<ResourceRecord> additional, boolean edns, ClientSubnet clientSubnet, boolean dnssecOk) {

    public Answer(int id, int opcode, int rcode, boolean authoritative, boolean truncated, boolean recursionDesired,
                  boolean checkingDisabled, List<Query.Question> questions, List<ResourceRecord> answers,
                  List<ResourceRecord> authority, List<ResourceRecord> additional, boolean edns,
                  ClientSubnet clientSubnet) {
        this(id, opcode, rcode, authoritative, truncated, recursionDesired, checkingDisabled, questions, answers,
                authority, additional, edns, clientSubnet, false);
    }

    public Answer {
        questions = List.copyOf(questions);
        answers = List.copyOf(answers);
        authority = List.copyOf(authority);
        additional = List.copyOf(additional);
        if (rcode < 0 || rcode > 0xFFF || (rcode > 0xF && !edns)) {
            throw new IllegalArgumentException("rcode: " + rcode + " (expected: 0..15, or up to 4095 with edns)");
        }
        if (clientSubnet != null && !edns) {
            throw new IllegalArgumentException("clientSubnet: " + clientSubnet + " (expected: null without edns)");
        }
    }

    /** An answer with no records, for errors: the question is echoed when {@code echoQuestion}. */
    static Answer error(Query query, int rcode, boolean echoQuestion) {
        return new Answer(query.id(), query.opcode(), rcode, false, false, query.recursionDesired(),
                query.checkingDisabled(), echoQuestion ? query.questions() : List.of(), List.of(), List.of(),
                List.of(), query.edns() != null, null,
                // DO is copied (RFC 3225 §3), except under BADVERS, whose OPT speaks version 0 only.
                query.edns() != null && query.edns().dnssecOk() && rcode != Dns.RCODE_BADVERS);
    }

    /** This answer with every record section emptied and TC set: the client must ask again over TCP. */
    Answer emptyTruncated() {
        return new Answer(id, opcode, rcode, authoritative, true, recursionDesired, checkingDisabled, questions,
                List.of(), List.of(), List.of(), edns, clientSubnet, dnssecOk);
    }

    /** The four RCODE bits of the header. */
    public int headerRcode() {
        return rcode & 0xF;
    }

    /** The upper eight bits of the response code, carried in the OPT record's TTL field. */
    public int extendedRcode() {
        return rcode >>> 4;
    }
}
