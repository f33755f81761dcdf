package dev.braid.tmp;

/**
 * Why a stream or link was reset. Carried in RESET and GOAWAY frames together with a
 * human-readable reason; the same code appears in logs and metrics.
 */
public enum ResetCode {
    NO_ERROR(0),
    PROTOCOL_ERROR(1),
    INTERNAL_ERROR(2),
    FLOW_CONTROL_ERROR(3),
    STREAM_LIMIT_ERROR(4),
    FRAME_ENCODING_ERROR(5),
    VERSION_MISMATCH(6),
    /** The receiver does not accept the stream (e.g. no such site). */
    REFUSED(7),
    /** The application no longer wants the stream (the client went away). */
    CANCELLED(8),
    /** The link carrying the stream broke. */
    LINK_LOST(9),
    /** The back-end could not reach an origin for the request. */
    ORIGIN_UNREACHABLE(10),
    TIMEOUT(11),
    /** The node is shutting down. */
    SHUTDOWN(12),
    /** A code this node does not know (from a newer peer). */
    UNKNOWN(-1);

    private final int code;

    ResetCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static ResetCode of(long code) {
        for (ResetCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return UNKNOWN;
    }
}
