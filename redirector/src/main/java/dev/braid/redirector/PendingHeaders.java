package dev.braid.redirector;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The headers of the messages a channel's query decoder is about to decode, oldest first. Netty's
 * decoders drop a message they cannot parse and report only the exception, so a tap in front of
 * the decoder records each message's header here and the query handler takes one per decoded
 * query or per decoding failure; a failure can then still be answered FORMERR to the right ID and
 * client. Confined to the channel's event loop.
 */
final class PendingHeaders {

    /** A message too short to carry a whole header: never answered. */
    static final Header UNREADABLE = new Header(0, 0x8000, null);

    private final ArrayDeque<Header> headers = new ArrayDeque<>(4);

    void add(Header header) {
        headers.add(header);
    }

    /** The oldest header not yet taken, or {@link #UNREADABLE} when none is recorded. */
    Header take() {
        Header h = headers.poll();
        return h != null ? h : UNREADABLE;
    }

    void clear() {
        headers.clear();
    }

    /**
     * The first four octets of a message's header and, for UDP, where it came from.
     *
     * @param flags  the second 16-bit word: QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE
     * @param sender the client's address (UDP), or null (TCP)
     */
    record Header(int id, int flags, InetSocketAddress sender) {

        /** Whether the message claims to be a response: those are never answered, so two servers cannot loop. */
        boolean isResponse() {
            return (flags & 0x8000) != 0;
        }

        /** A query header-only FORMERR can answer: ID, OPCODE, RD and CD as sent. */
        Query asQuery() {
            return new Query(id, (flags >>> 11) & 0xF, (flags & 0x0100) != 0, (flags & 0x0010) != 0,
                    List.of(), null, 0);
        }
    }
}
