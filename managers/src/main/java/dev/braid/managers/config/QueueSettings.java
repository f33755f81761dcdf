package dev.braid.managers.config;

/**
 * How a site's requests wait at the back-end when every origin is at its high water mark (or
 * unhealthy). They are released by client priority, then arrival.
 *
 * @param maxRequests       requests that may wait at once; past it the lowest-priority newest
 *                          one is refused (default 1000)
 * @param timeoutMillis     longest wait, in milliseconds, before a 503 (default 5000)
 * @param retryAfterSeconds the Retry-After of that 503, in seconds (default 5)
 */
public record QueueSettings(Integer maxRequests, Integer timeoutMillis, Integer retryAfterSeconds) {

    public static final QueueSettings DEFAULT = new QueueSettings(null, null, null);

    public QueueSettings {
        maxRequests = maxRequests == null ? 1000 : maxRequests;
        timeoutMillis = timeoutMillis == null ? 5000 : timeoutMillis;
        retryAfterSeconds = retryAfterSeconds == null ? 5 : retryAfterSeconds;
    }
}
