package dev.braid.frontend;

import io.netty.handler.codec.http.HttpMethod;

import java.util.Set;

/**
 * When a request whose TMP link died may be sent again over another link. A request is replayed
 * only when all of these hold:
 *
 * <ul>
 *   <li>its method is idempotent (RFC 9110 §9.2.2): GET, HEAD, OPTIONS, PUT or DELETE (TRACE is
 *       never forwarded with a body and is left out with the unsafe methods);</li>
 *   <li>no byte of a response to it has come back on the dead link;</li>
 *   <li>every body byte it sent is still held: at most {@link #MAX_BODY_BYTES}, kept from the first
 *       byte (a longer body is forwarded as it streams and cannot be sent again);</li>
 *   <li>another link to a back-end of its site is up, and not one this request already tried.</li>
 * </ul>
 *
 * Any other request whose link dies is answered 502 with the reason, and is never sent again.
 */
final class Replay {

    /** The most request body bytes kept for sending the request again. */
    static final int MAX_BODY_BYTES = 64 * 1024;

    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.PUT, HttpMethod.DELETE);

    private Replay() {
    }

    /** Why a request with {@code method} may never be replayed, or null when it may be. */
    static String refusal(HttpMethod method) {
        return IDEMPOTENT.contains(method) ? null : method + " is not idempotent";
    }
}
