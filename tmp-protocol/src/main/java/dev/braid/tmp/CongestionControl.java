package dev.braid.tmp;

import java.util.Arrays;
import java.util.Locale;

/** The congestion controllers a UDP link can run; chosen per link ({@code tmp.congestionControl}). */
public enum CongestionControl {
    /**
     * The adaptive window of seed 004: the link behaves like N Reno flows, N the streams it hosts
     * (smoothed, capped): N packets of growth per loss-free round trip, a cut of 1/(2N) per virtual
     * flow a loss event hits, never below N packets except after persistent congestion.
     */
    N_FLOW("n-flow"),
    /** A model of bottleneck rate and minimum RTT that paces at the rate and tolerates random loss (BBR). */
    BBR("bbr");

    /** What a link runs when the configuration names none: the one that measured best (docs/tmp.md). */
    public static final CongestionControl DEFAULT = BBR;

    private final String label;

    CongestionControl(String label) {
        this.label = label;
    }

    /** The name in configuration: {@code n-flow} or {@code bbr}. */
    public String label() {
        return label;
    }

    public static CongestionControl parse(String name) {
        String wanted = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (CongestionControl c : values()) {
            if (c.label.equals(wanted)) {
                return c;
            }
        }
        throw new IllegalArgumentException("congestionControl: " + name + " (expected one of: "
                + String.join(", ", Arrays.stream(values()).map(CongestionControl::label).toList()) + ")");
    }

    CongestionController create(DatagramSettings settings, int maxDatagramBytes) {
        return switch (this) {
            case N_FLOW -> new NFlowController(settings, maxDatagramBytes);
            case BBR -> new BbrController(settings, maxDatagramBytes);
        };
    }
}
