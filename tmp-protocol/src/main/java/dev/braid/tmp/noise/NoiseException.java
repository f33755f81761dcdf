package dev.braid.tmp.noise;

/** A Noise message that cannot be processed: it failed authentication, is too short, or gave a bad DH value. */
public final class NoiseException extends Exception {

    private static final long serialVersionUID = 1L;

    public NoiseException(String message) {
        super(message);
    }
}
