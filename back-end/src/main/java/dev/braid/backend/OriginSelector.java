package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.managers.config.Site;

import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Chooses the origin for a request: the freshest origin (lowest freshness rank, primaries before
 * mirrors at equal rank) until it reaches its high water mark of requests in flight, then the next
 * freshest with room; when all are full, the least loaded relative to its mark.
 */
final class OriginSelector {

    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

    private static final Comparator<Origin> FRESHEST_FIRST = Comparator
            .comparingInt(Origin::freshnessRank)
            .thenComparing(o -> !"primary".equals(o.role()));

    Origin choose(Site site) {
        Origin best = null;
        double bestLoad = Double.MAX_VALUE;
        for (Origin o : site.origins().stream().sorted(FRESHEST_FIRST).toList()) {
            int n = inFlight(o.name());
            if (n < o.maxInFlight()) {
                return o;
            }
            double load = (double) n / o.maxInFlight();
            if (load < bestLoad) {
                bestLoad = load;
                best = o;
            }
        }
        return best;
    }

    int inFlight(String origin) {
        AtomicInteger n = inFlight.get(origin);
        return n == null ? 0 : n.get();
    }

    void started(String origin) {
        inFlight.computeIfAbsent(origin, k -> new AtomicInteger()).incrementAndGet();
    }

    void finished(String origin) {
        AtomicInteger n = inFlight.get(origin);
        if (n != null) {
            n.decrementAndGet();
        }
    }
}
