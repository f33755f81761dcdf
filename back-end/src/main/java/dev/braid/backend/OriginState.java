package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.managers.config.RequestType;

import java.util.HashMap;
import java.util.Map;

/**
 * What the back-end knows of one origin at a moment: its settings, its health, and the requests it
 * has in flight (how many, their summed cost, how many of each type). Owned by the site's
 * dispatcher loop; the counters other threads read for metrics are volatile and written there only.
 */
final class OriginState {

    private Origin origin;
    private final OriginHealth health;
    private final Map<String, Integer> inFlightByType = new HashMap<>();
    private volatile int inFlight;
    private volatile int inFlightCost;
    private volatile boolean healthy = true;
    private volatile long requests;
    private volatile long errors;
    private volatile long ejections;
    /** Connection details, rebuilt when the URL or TLS roots change; null in pure tests. */
    private OriginTarget target;
    /** Why the origin cannot be used at all (e.g. its TLS roots cannot be read), or null. */
    private String unusable;

    OriginState(Origin origin) {
        this.origin = origin;
        this.health = new OriginHealth(origin.health());
    }

    Origin origin() {
        return origin;
    }

    String name() {
        return origin.name();
    }

    void update(Origin newOrigin) {
        origin = newOrigin;
        health.update(newOrigin.health());
    }

    OriginHealth health() {
        return health;
    }

    OriginTarget target() {
        return target;
    }

    void target(OriginTarget t) {
        target = t;
    }

    String unusable() {
        return unusable;
    }

    void unusable(String why) {
        unusable = why;
    }

    /** Whether this origin may take requests of {@code type} at all. */
    boolean serves(String type) {
        return unusable == null && origin.serves(type);
    }

    /** The high water mark of requests in flight: at most one per connection, as HTTP/1.1 has one exchange per connection. */
    int highWaterMark() {
        return Math.min(origin.maxInFlight(), origin.maxConnections());
    }

    int inFlight() {
        return inFlight;
    }

    int inFlightCost() {
        return inFlightCost;
    }

    int inFlight(String type) {
        return inFlightByType.getOrDefault(type, 0);
    }

    /** Health as last evaluated on the dispatcher loop (for metrics). */
    boolean healthy() {
        return healthy;
    }

    boolean available(long now) {
        boolean a = health.available(now);
        healthy = a;
        return a;
    }

    long requests() {
        return requests;
    }

    long errors() {
        return errors;
    }

    long ejections() {
        return ejections;
    }

    void failed() {
        errors++;
    }

    void ejected() {
        ejections++;
    }

    void started(RequestType type) {
        requests++;
        inFlight++;
        inFlightCost += type.cost();
        inFlightByType.merge(type.name(), 1, Integer::sum);
    }

    void finished(RequestType type) {
        inFlight--;
        inFlightCost -= type.cost();
        inFlightByType.computeIfPresent(type.name(), (k, n) -> n > 1 ? n - 1 : null);
    }

    @Override
    public String toString() {
        return origin.name() + " (" + inFlight + "/" + highWaterMark() + " in flight, cost " + inFlightCost + ")";
    }
}
