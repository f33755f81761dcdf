package dev.braid.frontend.cache;

import dev.braid.managers.config.SiteCachePolicy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One fetch of a URL from the back-end on the cache's behalf, and the storing of its response.
 *
 * <p>Whoever performs the fetch feeds the response in: {@link #head}, then {@link #content} for
 * each piece, then {@link #end}; or {@link #fail} / {@link #abandon}. These calls come from one
 * thread at a time, in order. Storing is decided from the head alone: a response that may not be
 * stored, or that declares a body over the object limit, is refused before any body byte is
 * copied; a body that grows past the limit without declaring its length is dropped the moment it
 * does (the fetcher may go on streaming it to a client). Content is copied into one pooled direct
 * buffer, which the fill owns until the cache takes it or the fill ends otherwise.
 *
 * <p>{@link #result()} completes exactly once: when the response is stored (or a 304 has
 * freshened the stored one), as soon as it is known that it will not be, or when the fetch fails
 * or is abandoned. Requests collapsed onto the fill wait for it (see {@link HttpCache}).
 */
public final class CacheFill {

    /** How a fill ended. */
    public enum Outcome {
        /** A response is stored (fetched, or a stored one validated by a 304); waiters may use it. */
        STORED,
        /**
         * The response may not be shared; each waiter forwards its own request, except the leader
         * of a detached fill, which is answered with the response itself when it came whole
         * ({@link Result#unstored()}): it was fetched for that leader's request.
         */
        UNCACHEABLE,
        /** The fill stopped for a reason that says nothing about the response (the client that carried it left). */
        RELEASED,
        /** The back-end could not answer, or answered with a server error (§4.3.3). */
        FAILED
    }

    /** What a fill produced. */
    public static final class Result {
        final Outcome outcome;
        final StoredResponse response;
        final boolean validated;
        final int status;
        final String reason;

        Result(Outcome outcome, StoredResponse response, boolean validated, int status, String reason) {
            this.outcome = outcome;
            this.response = response;
            this.validated = validated;
            this.status = status;
            this.reason = reason;
        }

        /** A failure of the fetch itself, for callers that could not even start it. */
        public static Result failed(int status, String reason) {
            return new Result(Outcome.FAILED, null, false, status, reason);
        }

        public Outcome outcome() {
            return outcome;
        }

        /** Whether the stored response came from a 304 validating the one stored before. */
        public boolean validated() {
            return validated;
        }

        /** The status to answer a failure with. */
        public int status() {
            return status;
        }

        public String reason() {
            return reason;
        }

        /**
         * The response a detached fill fetched but could not store, for its leader alone; null when
         * there is none. Its body has one owner, the leader: {@link HttpCache#serveUnstored} or
         * {@link #releaseUnstored} frees it.
         */
        public StoredResponse unstored() {
            return outcome == Outcome.UNCACHEABLE ? response : null;
        }

        /** Frees the body of {@link #unstored()}, for a leader that will not serve it. */
        public void releaseUnstored() {
            StoredResponse r = unstored();
            if (r != null) {
                r.body.release();
            }
        }

        /** Whether the stored response can answer {@code request}: its Vary nominates the same field values (§4.1). */
        public boolean matches(HttpRequest request) {
            return outcome == Outcome.STORED && response.matches(request.headers());
        }
    }

    /** Validators and range fields of the client's request: the fill fetches the whole response itself. */
    private static final List<CharSequence> CLIENT_ONLY = List.of(HttpHeaderNames.RANGE, HttpHeaderNames.IF_RANGE,
            HttpHeaderNames.IF_NONE_MATCH, HttpHeaderNames.IF_MODIFIED_SINCE, HttpHeaderNames.IF_MATCH,
            HttpHeaderNames.IF_UNMODIFIED_SINCE, HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.EXPECT);

    private final HttpCache cache;
    final CacheKey key;
    final SiteCachePolicy policy;
    /** The request the fill is for: its fields decide storability (§3.5) and the secondary key (§4.1). */
    final HttpHeaders requestHeaders;
    final String host;
    final String target;
    /** The stored response being validated, or null for a plain fetch. */
    final StoredResponse validating;
    /** Registered for request collapsing (others may wait for it). */
    final boolean shared;
    private final long requestTime;
    /** The cache's purge generation when the fetch started: later purges that match keep its response out. */
    private final long generation;
    private final CompletableFuture<Result> result = new CompletableFuture<>();

    private HttpResponse head;
    private ByteBuf body;
    private long responseTime;
    private boolean storing;
    private boolean done;
    /** A detached fill whose leader waits for it: a response it may not store is kept for the leader. */
    private boolean forLeader;
    /** Why the response being received will not be stored though it is kept for the leader, or null. */
    private String unstoredReason;

    CacheFill(HttpCache cache, CacheKey key, SiteCachePolicy policy, HttpHeaders requestHeaders, String host,
              String target, StoredResponse validating, boolean shared) {
        this.cache = cache;
        this.key = key;
        this.policy = policy;
        this.requestHeaders = requestHeaders;
        this.host = host;
        this.target = target;
        this.validating = validating;
        this.shared = shared;
        this.requestTime = cache.now();
        this.generation = cache.started(this);
    }

    /**
     * Marks a detached fill whose leader waits for its result: a response that may not be stored
     * (a validation answered with an uncacheable 200, say) is kept whole for the leader instead of
     * making the leader send its request again — the origin would see it twice.
     */
    void keepForLeader() {
        forLeader = true;
    }

    /** The site whose back-end is asked. */
    public String site() {
        return key.site();
    }

    public CompletableFuture<Result> result() {
        return result;
    }

    /**
     * The request to send for a detached fetch: GET of the target with the original request's
     * fields less its own validators and range, plus the stored response's validators when this
     * fill validates one (RFC 9111 §4.3.1).
     */
    public HttpRequest request() {
        HttpHeaders h = new DefaultHttpHeaders().add(requestHeaders);
        for (CharSequence name : CLIENT_ONLY) {
            h.remove(name);
        }
        if (!h.contains(HttpHeaderNames.HOST) && host != null) {
            h.set(HttpHeaderNames.HOST, host);
        }
        if (validating != null) {
            Conditionals.addValidators(h, validating);
        }
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, target, h);
    }

    /**
     * The response head arrived. Returns whether its body is wanted for storing; when false, a
     * detached fetcher may stop reading.
     */
    public boolean head(HttpResponse response) {
        if (done) {
            return false;
        }
        responseTime = cache.now();
        int status = response.status().code();
        if (status == 304) {
            if (validating != null) {
                notModified(response.headers());
            } else {
                finish(new Result(Outcome.FAILED, null, false, 502, "304 to a request without validators"));
            }
            return false;
        }
        if (validating != null && Storability.isServerError(status)) {
            // §4.3.3: act as if the server failed, so stale-if-error may apply.
            finish(new Result(Outcome.FAILED, null, false, status, "the origin answered " + status));
            return false;
        }
        CacheControl res = CacheControl.ofResponse(response.headers());
        Long date = HttpDates.parse(response.headers().get(HttpHeaderNames.DATE), responseTime);
        long lifetime = Freshness.lifetimeMillis(status, res, response.headers(), date != null ? date : responseTime,
                policy);
        String refusal = Storability.refusal(status, response.headers(), res, requestHeaders,
                CacheControl.ofRequest(requestHeaders), lifetime, cache.maxObjectBytes());
        long declared = Storability.contentLength(response.headers());
        if (refusal != null) {
            if (validating != null) {
                // A full response supersedes the stored one (§4.3.3), even when it cannot be stored.
                cache.remove(validating);
            }
            cache.markPass(key);
            if (Storability.isServerError(status)) {
                finish(new Result(Outcome.FAILED, null, false, status, "the origin answered " + status));
                return false;
            }
            if (!forLeader || declared > cache.maxObjectBytes()) {
                finish(new Result(Outcome.UNCACHEABLE, null, false, status, refusal));
                return false;
            }
            unstoredReason = refusal;
        }
        head = response;
        storing = true;
        int max = (int) Math.min(Integer.MAX_VALUE, cache.maxObjectBytes());
        body = ByteBufAllocator.DEFAULT.directBuffer(declared >= 0 ? (int) declared : Math.min(8192, max), max);
        return true;
    }

    /** A piece of the body; copied, not taken ({@code content} stays the caller's). Returns whether storing goes on. */
    public boolean content(ByteBuf content) {
        if (!storing) {
            return false;
        }
        int n = content.readableBytes();
        if ((long) body.readableBytes() + n > cache.maxObjectBytes()) {
            storing = false;
            body.release();
            body = null;
            cache.markPass(key);
            finish(new Result(Outcome.UNCACHEABLE, null, false, 0, "body over maxObjectBytes "
                    + cache.maxObjectBytes()));
            return false;
        }
        body.writeBytes(content, content.readerIndex(), n);
        return true;
    }

    /** The response is complete. Trailer fields are not kept: they are never combined with the header (§3.1). */
    public void end() {
        if (!storing) {
            if (!done) {
                finish(new Result(Outcome.FAILED, null, false, 502, "the response ended before its head"));
            }
            return;
        }
        storing = false;
        ByteBuf b = body;
        body = null;
        if (b.capacity() - b.readableBytes() > 4096) {
            // Growth doubled the buffer: keep only what the body needs, since the budget counts capacity.
            ByteBuf exact = ByteBufAllocator.DEFAULT.directBuffer(b.readableBytes(), b.readableBytes());
            try {
                exact.writeBytes(b);
            } finally {
                b.release();
            }
            b = exact;
        }
        if (unstoredReason != null) {
            // For the leader only, as the origin sent it: nothing is removed for storage's sake.
            HttpHeaders h = new DefaultHttpHeaders().add(head.headers());
            dev.braid.runtime.HttpForwarding.stripHopByHop(h);
            h.remove(HttpHeaderNames.AGE);
            h.set(HttpHeaderNames.CONTENT_LENGTH, b.readableBytes());
            StoredResponse r = new StoredResponse(key, head.status().code(), h, new StoredBody(b), requestTime,
                    responseTime, Freshness.ageValueSeconds(head.headers()), requestHeaders, host, target, policy);
            finish(new Result(Outcome.UNCACHEABLE, r, false, r.status, unstoredReason));
            return;
        }
        HttpHeaders h = Storability.storedHeaders(head.headers());
        h.set(HttpHeaderNames.CONTENT_LENGTH, b.readableBytes());
        StoredResponse r = new StoredResponse(key, head.status().code(), h, new StoredBody(b), requestTime,
                responseTime, Freshness.ageValueSeconds(head.headers()), requestHeaders, host, target, policy);
        String refused = cache.store(r, validating, generation);
        finish(refused == null
                ? new Result(Outcome.STORED, r, false, r.status, "stored")
                : new Result(Outcome.UNCACHEABLE, null, false, r.status, "not stored: " + refused));
    }

    /** The back-end could not answer: reset, timeout, malformed response, no link. */
    public void fail(int status, String reason) {
        drop();
        finish(new Result(Outcome.FAILED, null, false, status, reason));
    }

    /** The fetch stopped for a reason unrelated to the response (the client it was streamed to left). */
    public void abandon(String reason) {
        drop();
        finish(new Result(Outcome.RELEASED, null, false, 0, reason));
    }

    private void notModified(HttpHeaders headers) {
        if (!headers.contains(HttpHeaderNames.ETAG) && !headers.contains(HttpHeaderNames.LAST_MODIFIED)
                && validating.hasValidator()) {
            // A 304 without validators to a request that carried only this stored response's
            // validators: §4.3.4 identifies nothing to update, yet the 304 can only mean this one.
            // It answers the waiting requests as it is (fields and freshness not updated, so the
            // next request validates again) instead of their being sent to the origin once more.
            finish(new Result(Outcome.STORED, validating, true, validating.status,
                    "validated by a 304 without validators; the stored fields are kept"));
            return;
        }
        if (!Storability.mayUpdate(headers, validating)) {
            // §4.3.4: the 304 names another representation; the stored one cannot be used any more.
            cache.remove(validating);
            finish(new Result(Outcome.RELEASED, null, false, 0, "the 304 does not match the stored response"));
            return;
        }
        if (!validating.body.tryRetain()) {
            finish(new Result(Outcome.RELEASED, null, false, 0, "the stored response left the cache during validation"));
            return;
        }
        HttpHeaders h = Storability.updatedHeaders(validating.headers, headers);
        StoredResponse r = new StoredResponse(key, validating.status, h, validating.body, requestTime, responseTime,
                Freshness.ageValueSeconds(headers), validating.varyRequestHeaders, validating.host, validating.target,
                policy);
        String refused = cache.store(r, validating, generation);
        finish(refused == null
                ? new Result(Outcome.STORED, r, true, r.status, "validated")
                : new Result(Outcome.RELEASED, null, false, 0, "update not stored: " + refused));
    }

    private void drop() {
        storing = false;
        if (body != null) {
            body.release();
            body = null;
        }
    }

    private void finish(Result r) {
        if (done) {
            return;
        }
        done = true;
        cache.ended(this);
        if (shared) {
            cache.fillDone(this);
        }
        result.complete(r);
    }
}
