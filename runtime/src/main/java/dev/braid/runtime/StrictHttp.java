package dev.braid.runtime;

import io.netty.handler.codec.http.HttpDecoderConfig;

/**
 * The one place Braid configures Netty's HTTP/1.1 decoders. Parsing is strict everywhere, on the
 * client side, the origin side and the admin port alike: bare CR or LF as line ends are refused,
 * duplicate Content-Length is refused, header names and values are validated, and
 * Transfer-Encoding follows RFC 9112 (chunked must be last; with Content-Length it is an error).
 */
public final class StrictHttp {

    /** Default limits; the front-end overrides them from its configuration. */
    public static final int MAX_REQUEST_LINE = 8192;
    public static final int MAX_HEADER_BYTES = 16384;
    public static final int MAX_CHUNK = 16384;

    private StrictHttp() {
    }

    public static HttpDecoderConfig decoderConfig() {
        return decoderConfig(MAX_REQUEST_LINE, MAX_HEADER_BYTES, MAX_CHUNK);
    }

    public static HttpDecoderConfig decoderConfig(int maxInitialLine, int maxHeaderBytes, int maxChunk) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(maxInitialLine)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(maxChunk)
                .setStrictLineParsing(true)
                .setAllowDuplicateContentLengths(false)
                .setValidateHeaders(true)
                .setUseRfc9112TransferEncoding(true);
    }
}
