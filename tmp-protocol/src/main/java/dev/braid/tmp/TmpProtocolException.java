package dev.braid.tmp;

/** A peer broke the protocol; the link answers with GOAWAY carrying {@link #code()} and the message. */
public final class TmpProtocolException extends Exception {

    private static final long serialVersionUID = 1L;

    private final ResetCode code;

    public TmpProtocolException(ResetCode code, String reason) {
        super(reason, null, false, false);
        this.code = code;
    }

    public ResetCode code() {
        return code;
    }
}
