package dev.braid.tmp;

/**
 * The adaptive window of seed 004: the link behaves like N Reno flows, N the streams it hosts.
 *
 * <ul>
 *   <li>Slow start (the window grows by the bytes acknowledged) until the first loss.</li>
 *   <li>Congestion avoidance: N packets of growth per round trip without loss.</li>
 *   <li>Losses are attributed to N virtual flows: k losses in one recovery episode hit on average
 *       d(k) = N·(1 − (1 − 1/N)^k) distinct flows, and each flow hit halves its 1/N of the window,
 *       so the window of the episode's start is cut to W·(1 − β)^d(k) with β = 1/(2N) (MulTCP's
 *       cut per loss event). One loss cuts by 1/(2N), exactly what N Reno flows lose when one of
 *       them halves; k ≫ N losses cut by 1 − e^(−1/2) ≈ 40%, as when every flow is hit at once.
 *       The alternative 2/(3N+1) equates the throughput formula of one AIMD sawtooth with N Reno
 *       flows under independent random loss; combined with the per-flow attribution above it cuts
 *       each hit by more than a Reno flow would lose, and measured beside N Reno flows on a
 *       drop-tail bottleneck it took 0.79–0.84 of the fair share at N = 4, against 0.82–0.95 for
 *       1/(2N) (docs/tmp.md). A single cut per episode, whatever k, took 1.2–1.8.</li>
 *   <li>During the recovery round only the flows hit pause: the window keeps growing at the share
 *       (N − d(k))/N, so for N = 1 it pauses like Reno.</li>
 *   <li>Never below N packets, except after persistent congestion (RFC 9002 §7.6): then 2 packets,
 *       and the N-packet floor returns once the window has regrown to it.</li>
 *   <li>Pacing at 1.25 · window / smoothed RTT (2 · in slow start, so the pacer does not cap the
 *       doubling).</li>
 * </ul>
 */
final class NFlowController implements CongestionController {

    private final int mss;
    private final double maxFlows;
    private long cwnd;
    private long ssthresh = Long.MAX_VALUE;
    private long recoveryStart = Long.MIN_VALUE;
    private double flows = 1;
    private boolean afterPersistentCongestion;
    private long episodeStartWindow;
    private long episodeGrowth;
    private int episodeLosses;
    private double growthCarry;

    NFlowController(DatagramSettings settings, int mss) {
        this.mss = mss;
        this.maxFlows = settings.maxFlows();
        this.cwnd = (long) settings.initialWindowPackets() * mss;
    }

    @Override
    public String name() {
        return "n-flow";
    }

    double flows() {
        return flows;
    }

    boolean inSlowStart() {
        return cwnd < ssthresh;
    }

    /** The cut of one loss event for {@code n} hosted streams. */
    static double beta(double n) {
        return 1 / (2 * n);
    }

    /** Expected distinct flows of {@code n} that {@code losses} random losses hit. */
    static double flowsHit(double n, int losses) {
        return n <= 1 ? 1 : n * (1 - Math.pow(1 - 1 / n, losses));
    }

    private long floor() {
        return afterPersistentCongestion ? 2L * mss : Math.max(2L * mss, (long) Math.ceil(flows * mss));
    }

    @Override
    public long window() {
        return cwnd;
    }

    @Override
    public double pacingRate(RttEstimator rtt) {
        double gain = inSlowStart() ? 2.0 : 1.25;
        return gain * cwnd * 1e9 / Math.max(1, rtt.smoothed());
    }

    @Override
    public void hostedStreams(double n) {
        flows = Math.max(1, Math.min(maxFlows, n));
        if (!afterPersistentCongestion) {
            cwnd = Math.max(cwnd, floor());
        }
    }

    @Override
    public void onPacketAcked(long now, long sentTime, int bytes, long priorInFlight) {
        double growing = 1;
        if (sentTime <= recoveryStart) {
            // Of N Reno flows only those hit by the episode's losses pause their growth for the
            // recovery round; the others keep growing.
            growing = Math.max(0, 1 - flowsHit(flows, episodeLosses) / flows);
            if (growing == 0) {
                return;
            }
        }
        if (priorInFlight < cwnd / 2) {
            return; // not window-limited (RFC 9002 §7.8): growth would not have been tested
        }
        if (inSlowStart()) {
            cwnd += bytes;
        } else {
            growthCarry += growing * flows * mss * (double) bytes / cwnd;
            long whole = (long) growthCarry;
            cwnd += whole;
            episodeGrowth += whole;
            growthCarry -= whole;
        }
        if (afterPersistentCongestion && cwnd >= flows * mss) {
            afterPersistentCongestion = false;
        }
    }

    @Override
    public void onAck(long now, AckSample sample) {
    }

    @Override
    public void onPacketLost(long now, long sentTime, int bytes) {
        if (sentTime > recoveryStart) {
            recoveryStart = now;
            episodeStartWindow = cwnd;
            episodeLosses = 0;
            episodeGrowth = 0;
        }
        episodeLosses++;
        double cut = Math.pow(1 - beta(flows), flowsHit(flows, episodeLosses));
        // Growth of the flows not hit during the episode is kept; only the start window is cut.
        cwnd = Math.max(floor(), (long) (episodeStartWindow * cut) + episodeGrowth);
        ssthresh = cwnd;
        growthCarry = 0;
    }

    @Override
    public void onPersistentCongestion(long now) {
        cwnd = 2L * mss;
        afterPersistentCongestion = true;
        recoveryStart = now;
    }
}
