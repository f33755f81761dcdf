package dev.braid.backend;

/**
 * A snapshot of one origin as this back-end sees it, for reports to the managers and for tests.
 *
 * @param site            the site's name
 * @param origin          the origin's name
 * @param healthy         whether it takes requests now (false while ejected)
 * @param healthReason    why it was last ejected, or "healthy"
 * @param inFlight        requests in flight to it
 * @param highWaterMark   its high water mark of requests in flight
 * @param inFlightCost    the summed cost of the requests in flight
 * @param queueDepth      requests of its site waiting for any origin
 * @param requests        requests sent to it so far (retries included)
 * @param errors          connect failures, resets and timeouts so far
 * @param ejections       times it was ejected so far
 * @param responses       complete responses whose latency was measured so far
 */
public record OriginStats(String site, String origin, boolean healthy, String healthReason, int inFlight,
                          int highWaterMark, int inFlightCost, int queueDepth, long requests, long errors,
                          long ejections, long responses) {
}
