package dev.braid.redirector;

import java.util.List;

/**
 * A DNS query as the answer core sees it: the header fields that matter, the question section
 * and the EDNS(0) options, with no buffers and no I/O.
 *
 * @param id               the query ID, echoed in the answer
 * @param opcode           the header's OPCODE (0 is QUERY)
 * @param recursionDesired the RD bit, copied into the answer
 * @param checkingDisabled the CD bit, copied into the answer (RFC 6840 §5.9)
 * @param questions        the question section, names exactly as sent
 * @param edns             the first OPT record of the additional section, or {@code null} without EDNS
 * @param optRecords       how many OPT records the additional section held (more than one is a format error)
 */
public record Query(int id, int opcode, boolean recursionDesired, boolean checkingDisabled,
                    List<Question> questions, Edns edns, int optRecords) {

    public Query {
        questions = List.copyOf(questions);
        if (optRecords < 0 || (edns == null) != (optRecords == 0)) {
            throw new IllegalArgumentException("optRecords: " + optRecords + " (expected: 0 without edns, >= 1 with)");
        }
    }

    /** A standard query (opcode QUERY, RD set) for one name and type, with or without EDNS. */
    public static Query of(int id, String name, int type, Edns edns) {
        return new Query(id, Dns.OPCODE_QUERY, true, false, List.of(new Question(name, type, Dns.CLASS_IN)),
                edns, edns == null ? 0 : 1);
    }

    /**
     * The largest answer this query's sender accepts over UDP: 512 octets without EDNS, else the
     * payload size it advertised, at least 512 and at most {@link Dns#UDP_PAYLOAD_SIZE}.
     */
    public int udpResponseLimit() {
        if (edns == null) {
            return Dns.CLASSIC_UDP_LIMIT;
        }
        return Math.min(Math.max(edns.udpPayloadSize(), Dns.CLASSIC_UDP_LIMIT), Dns.UDP_PAYLOAD_SIZE);
    }

    /**
     * One entry of the question section.
     *
     * @param name     the name as sent (case preserved, with or without the trailing dot)
     * @param type     QTYPE
     * @param dnsClass QCLASS
     */
    public record Question(String name, int type, int dnsClass) {
        public Question {
            if (name == null) {
                throw new IllegalArgumentException("name: null (expected: a domain name)");
            }
        }
    }

    /**
     * The EDNS(0) pseudo-record (RFC 6891 §6.1.3).
     *
     * @param udpPayloadSize the sender's UDP payload size (the OPT record's CLASS)
     * @param version        the EDNS version
     * @param dnssecOk       the DO bit
     * @param clientSubnet   the EDNS Client Subnet option (RFC 7871), or null
     */
    public record Edns(int udpPayloadSize, int version, boolean dnssecOk, ClientSubnet clientSubnet) {

        public Edns(int udpPayloadSize, int version, boolean dnssecOk) {
            this(udpPayloadSize, version, dnssecOk, null);
        }
    }
}
