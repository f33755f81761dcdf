package dev.braid.backend;

import dev.braid.managers.config.RequestType;

import java.util.List;
import java.util.Set;

/**
 * Chooses the origin for a request (FIG. 7 of the conductor-gateway design), as a pure function of
 * the origins' state, the request's type and the time:
 *
 * <ol>
 *   <li>Only usable origins that serve the type, are not excluded (a retry avoids the origin that failed)
 *       and are healthy at {@code now} take part. None that serve it: the request cannot be served.
 *       None healthy: it waits.</li>
 *   <li>Of those, the ones below their high water mark of requests in flight have room. None: it waits.</li>
 *   <li>A type that spreads (media by default) keeps to the origins with room and none of its type
 *       in flight, when there are any.</li>
 *   <li>The freshest healthy origin (lowest freshness rank; a primary before a mirror at equal rank;
 *       then configuration order) takes the request if it is among them: it takes requests until it
 *       reaches its high water mark.</li>
 *   <li>Otherwise the origin whose cost-weighted load would be least with the request added
 *       ((cost in flight + the request's cost) / weight) takes it; ties go to the fresher, then to
 *       the earlier in the configuration.</li>
 * </ol>
 */
final class OriginSelector {

    /** Why no origin was chosen. */
    enum Verdict {
        /** An origin was chosen. */
        CHOSEN,
        /** No origin of the site serves this type (or every one is excluded): it cannot be served. */
        NO_ORIGIN,
        /** Origins serve it, but none is healthy now: it waits. */
        NONE_HEALTHY,
        /** Healthy origins serve it, but all are at their high water mark: it waits. */
        ALL_BUSY
    }

    /** The outcome: the chosen origin, or null and why not. */
    record Choice(Verdict verdict, OriginState origin) {
        static final Choice NO_ORIGIN = new Choice(Verdict.NO_ORIGIN, null);
        static final Choice NONE_HEALTHY = new Choice(Verdict.NONE_HEALTHY, null);
        static final Choice ALL_BUSY = new Choice(Verdict.ALL_BUSY, null);
    }

    private OriginSelector() {
    }

    static Choice choose(List<OriginState> origins, RequestType type, Set<String> excluded, long now) {
        OriginState freshest = null;
        boolean capable = false;
        boolean room = false;
        boolean roomWithoutType = false;
        for (OriginState o : origins) {
            if (!o.serves(type.name()) || excluded.contains(o.name())) {
                continue;
            }
            capable = true;
            if (!o.available(now)) {
                continue;
            }
            if (freshest == null || fresher(o, freshest)) {
                freshest = o;
            }
            if (o.inFlight() < o.highWaterMark()) {
                room = true;
                roomWithoutType |= o.inFlight(type.name()) == 0;
            }
        }
        if (!capable) {
            return Choice.NO_ORIGIN;
        }
        if (freshest == null) {
            return Choice.NONE_HEALTHY;
        }
        if (!room) {
            return Choice.ALL_BUSY;
        }
        boolean spread = type.spread() && roomWithoutType;
        if (eligible(freshest, type, spread)) {
            return new Choice(Verdict.CHOSEN, freshest);
        }
        OriginState best = null;
        double bestLoad = Double.MAX_VALUE;
        for (OriginState o : origins) {
            if (!o.serves(type.name()) || excluded.contains(o.name()) || !o.available(now)
                    || !eligible(o, type, spread)) {
                continue;
            }
            double load = (double) (o.inFlightCost() + type.cost()) / o.origin().weight();
            if (best == null || load < bestLoad || load == bestLoad && fresher(o, best)) {
                best = o;
                bestLoad = load;
            }
        }
        return new Choice(Verdict.CHOSEN, best);
    }

    private static boolean eligible(OriginState o, RequestType type, boolean spread) {
        return o.inFlight() < o.highWaterMark() && (!spread || o.inFlight(type.name()) == 0);
    }

    /** Whether {@code a} is fresher than {@code b}: lower rank, then primary before mirror (configuration order breaks the rest). */
    private static boolean fresher(OriginState a, OriginState b) {
        int ra = a.origin().freshnessRank();
        int rb = b.origin().freshnessRank();
        if (ra != rb) {
            return ra < rb;
        }
        return "primary".equals(a.origin().role()) && !"primary".equals(b.origin().role());
    }
}
