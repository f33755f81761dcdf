package dev.braid.frontend.cache;

import io.netty.handler.codec.http.HttpHeaders;

import java.util.List;

/**
 * The stored responses of one primary key, one per secondary key (RFC 9111 §4.1). A Variants
 * value owns one reference to the body of each response it lists; the cache's removal listener
 * releases them when the value leaves the cache, whether evicted, replaced or purged.
 */
final class Variants {

    /** Most responses kept for one URL; the oldest goes first (Vary on a field with many values). */
    static final int MAX_VARIANTS = 16;

    final List<StoredResponse> responses;
    private final int weight;

    /** The caller hands over one body reference per response. */
    Variants(List<StoredResponse> responses) {
        this.responses = List.copyOf(responses);
        long w = 0;
        for (StoredResponse r : responses) {
            w += r.weight();
        }
        this.weight = (int) Math.min(Integer.MAX_VALUE, w);
    }

    int weight() {
        return weight;
    }

    void release() {
        for (StoredResponse r : responses) {
            r.body.release();
        }
    }

    /**
     * The response to use for a request: of those whose nominated fields match, the most recent by
     * Date (RFC 9111 §4, §4.1), the later receipt breaking ties. Null when none matches.
     */
    StoredResponse select(HttpHeaders request) {
        StoredResponse best = null;
        for (StoredResponse r : responses) {
            if (!r.matches(request)) {
                continue;
            }
            if (best == null || r.dateValue > best.dateValue
                    || r.dateValue == best.dateValue && r.responseTime > best.responseTime) {
                best = r;
            }
        }
        return best;
    }
}
