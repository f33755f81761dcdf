package dev.braid.managers.config;

/**
 * What a front-end accepts from one client before it refuses (the {@code frontEnds[].limits}
 * section): the size of a request's parts and how long a connection may take or sit idle. Each
 * limit has one status the front-end answers with, listed in {@code docs/front-end.md}.
 *
 * @param maxRequestLineBytes  longest request line, in bytes (default 8192); longer: 414
 * @param maxHeaderBytes       largest header section, in bytes (default 16384); larger: 431
 * @param maxHeaderCount       most header fields in one request (default 100); more: 431
 * @param maxBodyBytes         largest request body, in bytes (default 1 GiB); larger: 413, decided from
 *                             Content-Length up front, and as a chunked body passes it
 * @param headerTimeoutMillis  time the whole request head may take from its first byte, in milliseconds
 *                             (default 10000); slower: 408 and close
 * @param idleTimeoutMillis    time a connection may sit between requests without a byte, in milliseconds
 *                             (default 60000); then it is closed without a response
 * @param drainTimeoutMillis   on shutdown, time in-flight exchanges get to finish, in milliseconds
 *                             (default 10000)
 * @param maxClassRequests     concurrent requests of the highest-priority class (ring 0) the front-end takes
 *                             (default 10000); a class on ring r of R rings gets the share (R - r) / R of it,
 *                             so lower classes are shed first (503 with Retry-After)
 */
public record GatewayLimits(Integer maxRequestLineBytes, Integer maxHeaderBytes, Integer maxHeaderCount,
                            Long maxBodyBytes, Integer headerTimeoutMillis, Integer idleTimeoutMillis,
                            Integer drainTimeoutMillis, Integer maxClassRequests) {

    public static final int DEFAULT_MAX_REQUEST_LINE_BYTES = 8192;
    public static final int DEFAULT_MAX_HEADER_BYTES = 16384;
    public static final int DEFAULT_MAX_HEADER_COUNT = 100;
    public static final long DEFAULT_MAX_BODY_BYTES = 1L << 30;
    public static final int DEFAULT_HEADER_TIMEOUT_MILLIS = 10_000;
    public static final int DEFAULT_IDLE_TIMEOUT_MILLIS = 60_000;
    public static final int DEFAULT_DRAIN_TIMEOUT_MILLIS = 10_000;
    public static final int DEFAULT_MAX_CLASS_REQUESTS = 10_000;

    public static final GatewayLimits DEFAULT = new GatewayLimits(null, null, null, null, null, null, null, null);

    public GatewayLimits {
        maxRequestLineBytes = maxRequestLineBytes == null ? DEFAULT_MAX_REQUEST_LINE_BYTES : maxRequestLineBytes;
        maxHeaderBytes = maxHeaderBytes == null ? DEFAULT_MAX_HEADER_BYTES : maxHeaderBytes;
        maxHeaderCount = maxHeaderCount == null ? DEFAULT_MAX_HEADER_COUNT : maxHeaderCount;
        maxBodyBytes = maxBodyBytes == null ? DEFAULT_MAX_BODY_BYTES : maxBodyBytes;
        headerTimeoutMillis = headerTimeoutMillis == null ? DEFAULT_HEADER_TIMEOUT_MILLIS : headerTimeoutMillis;
        idleTimeoutMillis = idleTimeoutMillis == null ? DEFAULT_IDLE_TIMEOUT_MILLIS : idleTimeoutMillis;
        drainTimeoutMillis = drainTimeoutMillis == null ? DEFAULT_DRAIN_TIMEOUT_MILLIS : drainTimeoutMillis;
        maxClassRequests = maxClassRequests == null ? DEFAULT_MAX_CLASS_REQUESTS : maxClassRequests;
    }
}
