package dev.braid.redirector;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Chooses the front-ends one site-name answer lists. Pure: the configuration's candidates, the
 * live state, the client's address and a rotation counter come in; the ranked addresses and the
 * scope of the decision come out.
 *
 * <ol>
 *   <li><b>Eligible</b>: assigned to the site and linked to one of its back-ends (the configuration),
 *       not marked failed by the managers, alive by the redirector's own probes, and under capacity.</li>
 *   <li><b>Ranked</b> by proximity (the client's region from the prefix table: front-ends of that
 *       region first), refined by measured round-trip times (the front-ends' measurements to the
 *       client's network, or at a point-of-presence redirector its own connect times; times within
 *       {@value #RTT_TOLERANCE_MILLIS} ms count as equal), then by load (in tenths of capacity), then
 *       in configured order.</li>
 *   <li><b>Handed off</b> by the ordered hand-off weights of `001_…`: the answer starts with the
 *       ranked front-end at position i in w[i] / sum(w) of the answers (the rotation counter walks
 *       through them), followed by the best of the others, at most {@code count} in all.</li>
 * </ol>
 */
final class FrontEndSelector {

    /** Round-trip times closer than this count as equal, so load decides between them. */
    static final double RTT_TOLERANCE_MILLIS = 10;

    private FrontEndSelector() {
    }

    /** A front-end as the configuration offers it for one site. */
    record Candidate(String name, String region, long capacity, ResourceRecord record) {
    }

    /** A candidate that the live state lets through, with what ranks it. */
    record Eligible(Candidate candidate, int order, long loadTenths, PrefixTable<Double> rtts, double probeRtt) {
    }

    /** Where the client is, as far as ranking goes. */
    record Client(byte[] address, PrefixTable<String> regions, String fixedRegion, boolean useProbeRtt) {
    }

    /** The chosen records, best first, and the prefix length of the client address they depended on. */
    record Choice(List<ResourceRecord> records, int scope) {
    }

    /** The candidates the live state lets through, in base order (load, then configured order). */
    static List<Eligible> eligible(List<Candidate> candidates, NodeState state, Map<String, ProbeResult> probes) {
        List<Eligible> out = new ArrayList<>(candidates.size());
        for (int i = 0; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            NodeState.FrontEnd fe = state.frontEnd(c.name());
            ProbeResult probe = probes.getOrDefault(c.name(), ProbeResult.UNPROBED);
            long capacity = fe.capacity() > 0 ? fe.capacity() : c.capacity();
            if (!fe.healthy() || !probe.alive() || fe.load() >= capacity) {
                continue;
            }
            PrefixTable<Double> rtts = null;
            if (!fe.rtts().isEmpty()) {
                rtts = new PrefixTable<>();
                for (NodeState.Rtt r : fe.rtts()) {
                    try {
                        rtts.put(r.prefix(), r.millis());
                    } catch (IllegalArgumentException e) {
                        // A report with a bad prefix loses that one measurement, not the front-end.
                    }
                }
            }
            out.add(new Eligible(c, i, fe.load() * 10 / capacity, rtts, probe.rttMillis()));
        }
        out.sort(Comparator.comparingLong(Eligible::loadTenths).thenComparingInt(Eligible::order));
        return List.copyOf(out);
    }

    /** Whether ranking {@code eligible} can depend on where the client is. */
    static boolean locationDependent(List<Eligible> eligible, boolean hasRegionTable) {
        Set<String> regions = new HashSet<>();
        for (Eligible e : eligible) {
            if (e.rtts() != null) {
                return true;
            }
            regions.add(e.candidate().region());
        }
        return hasRegionTable && regions.size() > 1;
    }

    /**
     * The answer for one query.
     *
     * @param eligible the eligible candidates in base order
     * @param dependent whether the client's location can change the ranking ({@link #locationDependent})
     * @param client   where the client is, or null when unknown
     */
    static Choice choose(List<Eligible> eligible, boolean dependent, Client client, int rotation, int count,
                         int[] weights) {
        int n = eligible.size();
        if (n == 0) {
            return new Choice(List.of(), 0);
        }
        List<Eligible> ranked = eligible;
        int scope = 0;
        if (client != null && (dependent || client.useProbeRtt())) {
            String region = client.fixedRegion();
            if (region == null && client.address() != null && !client.regions().isEmpty()) {
                PrefixTable.Match<String> m = client.regions().lookup(client.address());
                region = m.value();
                scope = m.scope();
            }
            long[] keys = new long[n];
            Integer[] index = new Integer[n];
            for (int i = 0; i < n; i++) {
                Eligible e = eligible.get(i);
                double rtt = Double.NaN;
                if (client.useProbeRtt()) {
                    rtt = e.probeRtt();
                } else if (e.rtts() != null && client.address() != null) {
                    PrefixTable.Match<Double> m = e.rtts().lookup(client.address());
                    scope = Math.max(scope, m.scope());
                    rtt = m.value() == null ? Double.NaN : m.value();
                }
                long regionRank = region != null && region.equals(e.candidate().region()) ? 0 : 1;
                long rttBucket = Double.isNaN(rtt) ? 0xFFFF : Math.min(0xFFFE, (long) (rtt / RTT_TOLERANCE_MILLIS));
                keys[i] = regionRank << 40 | rttBucket << 20 | Math.min(e.loadTenths(), 0xFFFFF);
                index[i] = i;
            }
            Arrays.sort(index, (x, y) -> keys[x] != keys[y] ? Long.compare(keys[x], keys[y]) : Integer.compare(x, y));
            List<Eligible> r = new ArrayList<>(n);
            for (Integer i : index) {
                r.add(eligible.get(i));
            }
            ranked = r;
            if (client.address() == null || client.useProbeRtt()) {
                scope = 0;
            }
        }
        int positions = Math.min(n, weights.length);
        int total = 0;
        for (int i = 0; i < positions; i++) {
            total += weights[i];
        }
        int first = 0;
        if (total > 0) {
            int pick = Math.floorMod(rotation, total);
            while (pick >= weights[first]) {
                pick -= weights[first++];
            }
        }
        List<ResourceRecord> out = new ArrayList<>(Math.min(n, count));
        out.add(ranked.get(first).candidate().record());
        for (int i = 0; i < n && out.size() < count; i++) {
            if (i != first) {
                out.add(ranked.get(i).candidate().record());
            }
        }
        return new Choice(out, scope);
    }
}
