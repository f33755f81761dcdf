package dev.braid.managers.pki;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The role a node certificate is issued for. It is carried in the certificate as the subject's
 * organisational unit and in the subject alternative name {@code urn:braid:<role>:<name>}, which
 * is what peers check ({@code dev.braid.tmp.security.PeerVerifier}).
 */
public enum NodeRole {
    FRONT_END("front-end"),
    BACK_END("back-end"),
    REDIRECTOR("redirector"),
    MANAGER("manager");

    private final String label;

    NodeRole(String label) {
        this.label = label;
    }

    /** The role as certificates and commands spell it, such as {@code front-end}. */
    public String label() {
        return label;
    }

    /**
     * The role spelled {@code label}, without regard to case.
     *
     * @throws IllegalArgumentException naming the value and the roles there are
     */
    public static NodeRole parse(String label) {
        for (NodeRole r : values()) {
            if (r.label.equalsIgnoreCase(label == null ? "" : label.strip())) {
                return r;
            }
        }
        throw new IllegalArgumentException("role: " + label + " (expected: one of "
                + Arrays.stream(values()).map(NodeRole::label).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return label.toLowerCase(Locale.ROOT);
    }
}
