package dev.braid.managers.config;

/**
 * A front-end's client-facing HTTPS listener: TLS 1.2 and 1.3, each site's certificate chosen by
 * SNI, HTTP/2 and HTTP/1.1 by ALPN.
 *
 * @param listen               address to bind, {@code host:port} (required; {@code 0.0.0.0:8443} by convention)
 * @param maxConcurrentStreams HTTP/2 streams a client may have open on one connection (default 100)
 * @param maxHeaderListBytes   largest HTTP/2 header list a client may send, in bytes, as RFC 9113
 *                             §6.5.2 counts it (default 16384, the HTTP/1.1 header limit)
 * @param maxResetsPerWindow   RST_STREAM frames a client may send per window before the connection
 *                             is closed: the rapid-reset flood guard, CVE-2023-44487 (default 200)
 * @param resetWindowSeconds   length of that window, in seconds (default 30)
 */
public record HttpsSettings(String listen, Integer maxConcurrentStreams, Integer maxHeaderListBytes,
                            Integer maxResetsPerWindow, Integer resetWindowSeconds) {

    public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 100;
    public static final int DEFAULT_MAX_HEADER_LIST_BYTES = 16_384;
    public static final int DEFAULT_MAX_RESETS_PER_WINDOW = 200;
    public static final int DEFAULT_RESET_WINDOW_SECONDS = 30;

    public HttpsSettings {
        maxConcurrentStreams = maxConcurrentStreams == null ? DEFAULT_MAX_CONCURRENT_STREAMS : maxConcurrentStreams;
        maxHeaderListBytes = maxHeaderListBytes == null ? DEFAULT_MAX_HEADER_LIST_BYTES : maxHeaderListBytes;
        maxResetsPerWindow = maxResetsPerWindow == null ? DEFAULT_MAX_RESETS_PER_WINDOW : maxResetsPerWindow;
        resetWindowSeconds = resetWindowSeconds == null ? DEFAULT_RESET_WINDOW_SECONDS : resetWindowSeconds;
    }

    /** HTTPS on {@code listen} with every limit at its default. */
    public static HttpsSettings on(String listen) {
        return new HttpsSettings(listen, null, null, null, null);
    }
}
