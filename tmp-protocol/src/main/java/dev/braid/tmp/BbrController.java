package dev.braid.tmp;

/**
 * A BBR-style controller: a model of the bottleneck's rate (the largest delivery rate over the last
 * ten rounds) and of the path's minimum RTT (over ten seconds), paced at a gain times that rate,
 * with at most cwndGain × rate × minRtt in flight. States STARTUP, DRAIN, PROBE_BW (gain cycle
 * 1.25, 0.75 until the link's queue is drained, then six rounds at 1) and PROBE_RTT (half a BDP
 * for 200 ms when the minimum RTT has not been refreshed for ten seconds), after the kernel's BBR
 * with two of BBRv2's changes and the kernel's pacing margin, which keep the bottleneck's queue
 * short ({@link #DRAIN_RTTS}, {@link #probeRttWindow}, {@link #PACING_MARGIN}).
 *
 * <p>Loss response: random loss is ignored, as the kernel's BBR does, up to a per-round loss rate
 * of {@link DatagramSettings#bbrLossThreshold()} (10% by default). Above it the round is taken as
 * congestion: the in-flight bound drops to 0.7 × what was in flight (BBRv3's β) and regrows by a
 * quarter per clean round. BBRv3's 2% threshold would back off at the 1–3% random loss a WAN shows;
 * the kernel TCP Braid competes with does not, so Braid would lose to it; a threshold well above
 * random loss but below what an overrun bottleneck buffer produces keeps the link from running
 * away when it alone overloads the path (measured in docs/tmp.md).
 */
final class BbrController implements CongestionController {

    enum Mode { STARTUP, DRAIN, PROBE_BW, PROBE_RTT }

    static final double HIGH_GAIN = 2.885;
    private static final double[] CYCLE = {1.25, 0.75, 1, 1, 1, 1, 1, 1};
    private static final int BW_ROUNDS = 10;
    private static final long MIN_RTT_WINDOW = 10_000_000_000L;
    private static final long PROBE_RTT_TIME = 200_000_000L;
    /**
     * The longest PROBE_BW down phase (gain 0.75), in minimum RTTs. BBRv1 ends it after one RTT;
     * then a rate estimate a percent or two above the bottleneck's (what jitter and ACK bunching
     * give the max filter) adds more queue per cycle than one RTT at 0.75 removes, and the queue
     * grows until the window (two BDPs) stops it: a standing queue of one BDP that every class,
     * the highest too, waits behind. Like BBRv2's PROBE_DOWN, the phase lasts until the link's own
     * queue is gone (in flight at most one BDP), bounded so that beside loss-based flows that fill
     * the queue whatever the link does, it does not give up its share (docs/tmp.md, measured).
     */
    static final int DRAIN_RTTS = 4;
    /**
     * Pacing runs this fraction below gain × rate, as the kernel's BBR does
     * ({@code bbr_pacing_margin_percent}): the max filter's rate errs high, and pacing exactly at
     * it would add queue in every cruising round.
     */
    static final double PACING_MARGIN = 0.01;

    private final int mss;
    private final long initialCwnd;
    private final double lossThreshold;
    private final long quantumNanos;
    private Mode mode = Mode.STARTUP;
    private long cwnd;
    private long inflightHi = Long.MAX_VALUE;
    private long priorCwnd;

    private final double[] bwSamples = new double[BW_ROUNDS];
    private final long[] bwRounds = new long[BW_ROUNDS];
    private long round;
    /**
     * Rounds of the bandwidth filter: only rounds in which a sample entered the filter count, as in
     * the kernel's windowed max, which app-limited samples below the max neither enter nor age. A
     * link carrying small exchanges (an HTML page now and then) produces app-limited rounds all the
     * time; were they to age the filter, ten of them would forget the path's rate, and the next
     * large response would be paced at what the small ones needed and grow back at 1.25 × per
     * eight rounds.
     */
    private long filterRound;
    private boolean filterSampled;
    private long roundStamp;
    private long minRtt = Long.MAX_VALUE;
    private long minRttStamp;

    private double pacingGain = HIGH_GAIN;
    private double cwndGain = HIGH_GAIN;
    private int cycleIndex;
    private long cycleStamp;
    private boolean filledPipe;
    private double fullBw;
    private int fullBwRounds;
    private long probeRttDone = -1;
    private boolean probeRttRoundDone;
    private long probeRttMin = Long.MAX_VALUE;
    /** Sending resumed from an empty pipe and nothing has been acknowledged since (the kernel's idle_restart). */
    private boolean idleRestart;

    BbrController(DatagramSettings settings, int mss) {
        this.mss = mss;
        this.initialCwnd = (long) settings.initialWindowPackets() * mss;
        this.cwnd = initialCwnd;
        this.lossThreshold = settings.bbrLossThreshold();
        this.quantumNanos = settings.pacingQuantum().toNanos();
        java.util.Arrays.fill(bwRounds, -1);
    }

    @Override
    public String name() {
        return "bbr";
    }

    Mode mode() {
        return mode;
    }

    /** The model's bottleneck rate, bytes per second (0 before any sample). */
    double bottleneckRate() {
        double max = 0;
        for (int i = 0; i < BW_ROUNDS; i++) {
            if (bwRounds[i] >= 0 && filterRound - bwRounds[i] < BW_ROUNDS) {
                max = Math.max(max, bwSamples[i]);
            }
        }
        return max;
    }

    private long bdp(double gain) {
        double bw = bottleneckRate();
        if (bw == 0 || minRtt == Long.MAX_VALUE) {
            return initialCwnd;
        }
        return (long) (gain * bw * minRtt / 1e9);
    }

    @Override
    public long window() {
        return cwnd;
    }

    @Override
    public double pacingRate(RttEstimator rtt) {
        double bw = bottleneckRate();
        if (bw == 0) {
            return pacingGain * initialCwnd * 1e9 / Math.max(1, rtt.smoothed());
        }
        return pacingGain * bw * (1 - PACING_MARGIN);
    }

    @Override
    public void hostedStreams(double n) {
    }

    @Override
    public void onPacketAcked(long now, long sentTime, int bytes, long priorInFlight) {
    }

    @Override
    public void onPacketLost(long now, long sentTime, int bytes) {
    }

    @Override
    public void onRestartFromIdle(long now) {
        idleRestart = true;
    }

    @Override
    public void onPersistentCongestion(long now) {
        priorCwnd = Math.max(priorCwnd, cwnd);
        cwnd = 4L * mss;
    }

    @Override
    public void onAck(long now, AckSample s) {
        if (s.rttSampled) {
            long latest = s.rtt.latest();
            probeRttMin = Math.min(probeRttMin, latest);
            // After idle the first packets crossed an empty pipe: their RTT is as good a minimum as
            // PROBE_RTT would measure, so an expired minimum is renewed from them instead (kernel BBR
            // likewise skips PROBE_RTT on an idle restart).
            boolean expired = now - minRttStamp > MIN_RTT_WINDOW;
            if (latest <= minRtt || expired && idleRestart) {
                minRtt = latest;
                minRttStamp = now;
            }
        }
        // A round is at least a few pacing quanta long: where the RTT is shorter than the quantum
        // (a LAN, loopback), packets leave in quantum-sized bursts and a window of ten RTTs would
        // hold too few rate samples to see the rate.
        if (s.roundStart && now - roundStamp >= 4 * quantumNanos) {
            round++;
            roundStamp = now;
            if (filterSampled) {
                filterRound++;
                filterSampled = false;
            }
            onRoundEnd(s);
        }
        if (s.deliveryRate > 0 && (!s.appLimited || s.deliveryRate >= bottleneckRate())) {
            int slot = (int) (filterRound % BW_ROUNDS);
            if (bwRounds[slot] != filterRound) {
                bwRounds[slot] = filterRound;
                bwSamples[slot] = 0;
            }
            bwSamples[slot] = Math.max(bwSamples[slot], s.deliveryRate);
            filterSampled = true;
        }
        updateMode(now, s);
        updateCwnd(s);
        if (s.ackedBytes > 0) {
            idleRestart = false;
        }
    }

    private void onRoundEnd(AckSample s) {
        long total = s.roundAcked + s.roundLost;
        if (s.roundLost >= 3 && s.roundLost > lossThreshold * total) {
            inflightHi = Math.max(4L * mss, (long) (0.7 * Math.max(s.inFlight, bdp(1))));
            filledPipe = true;
        } else if (inflightHi != Long.MAX_VALUE) {
            inflightHi = inflightHi > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : inflightHi + inflightHi / 4;
        }
        if (!filledPipe && !s.appLimited) {
            double bw = bottleneckRate();
            if (bw >= fullBw * 1.25) {
                fullBw = bw;
                fullBwRounds = 0;
            } else if (++fullBwRounds >= 3) {
                filledPipe = true;
            }
        }
        if (mode == Mode.PROBE_RTT && probeRttDone >= 0) {
            probeRttRoundDone = true;
        }
    }

    private void updateMode(long now, AckSample s) {
        switch (mode) {
            case STARTUP -> {
                if (filledPipe) {
                    mode = Mode.DRAIN;
                    pacingGain = 1 / HIGH_GAIN;
                    cwndGain = HIGH_GAIN;
                }
            }
            case DRAIN -> {
                if (s.inFlight <= bdp(1)) {
                    enterProbeBw(now);
                }
            }
            case PROBE_BW -> {
                long rtt = minRtt == Long.MAX_VALUE ? s.rtt.smoothed() : minRtt;
                boolean elapsed = now - cycleStamp > rtt;
                double gain = CYCLE[cycleIndex];
                boolean advance = gain == 1.25 ? elapsed && s.inFlight >= bdp(1.25)
                        : gain == 0.75 ? s.inFlight <= bdp(1) || now - cycleStamp > DRAIN_RTTS * rtt : elapsed;
                if (gain == 1.25 && elapsed && now - cycleStamp > 2 * rtt) {
                    advance = true; // could not fill the probe (window- or app-limited)
                }
                if (advance) {
                    cycleIndex = (cycleIndex + 1) % CYCLE.length;
                    cycleStamp = now;
                    pacingGain = CYCLE[cycleIndex];
                }
            }
            case PROBE_RTT -> {
                if (probeRttDone < 0 && s.inFlight <= probeRttWindow()) {
                    probeRttDone = now + PROBE_RTT_TIME;
                    probeRttRoundDone = false;
                } else if (probeRttDone >= 0 && probeRttRoundDone && now >= probeRttDone) {
                    if (probeRttMin != Long.MAX_VALUE) {
                        minRtt = probeRttMin; // the fresh minimum replaces the expired one
                    }
                    minRttStamp = now;
                    cwnd = Math.max(cwnd, priorCwnd);
                    if (filledPipe) {
                        enterProbeBw(now);
                    } else {
                        mode = Mode.STARTUP;
                        pacingGain = HIGH_GAIN;
                        cwndGain = HIGH_GAIN;
                    }
                }
            }
        }
        if (mode != Mode.PROBE_RTT && !idleRestart && now - minRttStamp > MIN_RTT_WINDOW && minRtt != Long.MAX_VALUE) {
            enterProbeRtt(now);
        }
    }

    private void enterProbeRtt(long now) {
        if (mode == Mode.PROBE_RTT) {
            return;
        }
        mode = Mode.PROBE_RTT;
        pacingGain = 1;
        priorCwnd = cwnd;
        probeRttDone = -1;
        probeRttMin = Long.MAX_VALUE;
    }

    private void enterProbeBw(long now) {
        mode = Mode.PROBE_BW;
        cwndGain = 2;
        cycleIndex = 2 + (int) (now % 6); // never start in the draining phase (kernel BBR: random but not 1)
        cycleStamp = now;
        pacingGain = CYCLE[cycleIndex];
    }

    /**
     * PROBE_RTT's window: half a BDP, as BBRv2 has it, not BBRv1's four packets. Half a BDP in flight
     * already leaves the bottleneck's queue empty, so the minimum RTT is measured as well; four
     * packets would hold every stream, the highest class's too, to four packets per RTT for 200 ms
     * every ten seconds — the tail of an interactive request's latency.
     */
    private long probeRttWindow() {
        return Math.max(4L * mss, bdp(0.5));
    }

    private void updateCwnd(AckSample s) {
        // Like the kernel's quantization budget: the pacer releases a quantum's worth at a time, so
        // a burst of two quanta must fit beside the BDP, or short paths (where the quantum exceeds
        // the RTT) run window-limited far below their rate.
        long sendQuantum = (long) (bottleneckRate() * quantumNanos / 1e9);
        long target = bdp(cwndGain) + 3L * mss + 2 * sendQuantum;
        if (filledPipe) {
            cwnd = Math.min(cwnd + s.ackedBytes, target);
        } else if (cwnd < target || cwnd < initialCwnd) {
            cwnd += s.ackedBytes;
        }
        cwnd = Math.max(cwnd, 4L * mss);
        cwnd = Math.min(cwnd, Math.max(4L * mss, inflightHi));
        if (mode == Mode.PROBE_RTT) {
            cwnd = Math.min(cwnd, probeRttWindow());
        }
    }
}
