package dev.braid.redirector;

/**
 * The protocol numbers the redirector speaks (RFC 1035 §3.2 and §4.1.1, RFC 3596, RFC 6891), and
 * the names its metrics use for response codes.
 */
public final class Dns {

    public static final int OPCODE_QUERY = 0;

    public static final int RCODE_NOERROR = 0;
    public static final int RCODE_FORMERR = 1;
    public static final int RCODE_SERVFAIL = 2;
    public static final int RCODE_NXDOMAIN = 3;
    public static final int RCODE_NOTIMP = 4;
    public static final int RCODE_REFUSED = 5;
    /** An extended response code (RFC 6891 §9): its upper eight bits travel in the OPT record. */
    public static final int RCODE_BADVERS = 16;

    public static final int TYPE_A = 1;
    public static final int TYPE_NS = 2;
    public static final int TYPE_CNAME = 5;
    public static final int TYPE_SOA = 6;
    public static final int TYPE_AAAA = 28;
    public static final int TYPE_OPT = 41;
    public static final int TYPE_DS = 43;
    public static final int TYPE_IXFR = 251;
    public static final int TYPE_AXFR = 252;
    public static final int TYPE_ANY = 255;

    public static final int CLASS_IN = 1;
    public static final int CLASS_ANY = 255;

    /** Octets of the DNS message header (RFC 1035 §4.1.1); a message shorter than this has no readable header. */
    public static final int HEADER_SIZE = 12;

    /** Largest DNS message over UDP without EDNS (RFC 1035 §2.3.4), and the floor of any EDNS size (RFC 6891 §6.2.5). */
    public static final int CLASSIC_UDP_LIMIT = 512;
    /**
     * The UDP payload size this server advertises in its OPT record and the most it sends over UDP,
     * whatever larger size a client offers: 1232 octets fit a 1280-octet IPv6 minimum MTU, so answers
     * are never fragmented (the 2020 DNS flag day value).
     */
    public static final int UDP_PAYLOAD_SIZE = 1232;
    /** Largest DNS message over TCP: its two-octet length prefix (RFC 1035 §4.2.2). */
    public static final int TCP_LIMIT = 65_535;

    private Dns() {
    }

    /** The response code's mnemonic as the metrics label it: {@code NOERROR}, {@code NXDOMAIN}, ... */
    public static String rcodeName(int rcode) {
        return switch (rcode) {
            case RCODE_NOERROR -> "NOERROR";
            case RCODE_FORMERR -> "FORMERR";
            case RCODE_SERVFAIL -> "SERVFAIL";
            case RCODE_NXDOMAIN -> "NXDOMAIN";
            case RCODE_NOTIMP -> "NOTIMP";
            case RCODE_REFUSED -> "REFUSED";
            case RCODE_BADVERS -> "BADVERS";
            default -> "RCODE" + rcode;
        };
    }
}
