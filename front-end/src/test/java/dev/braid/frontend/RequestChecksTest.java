package dev.braid.frontend;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestChecksTest {

    private static HttpRequest request(HttpVersion version, HttpMethod method, String uri, String... headers) {
        HttpRequest r = new DefaultHttpRequest(version, method, uri);
        for (int i = 0; i < headers.length; i += 2) {
            r.headers().add(headers[i], headers[i + 1]);
        }
        return r;
    }

    private static int status(HttpRequest r) {
        RequestChecks.Rejection rejection = RequestChecks.check(r);
        return rejection == null ? 0 : rejection.status();
    }

    @Test
    void anOrdinaryRequestPasses() {
        assertNull(RequestChecks.check(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "/a?b", "Host", "www.shop.example:8080")));
        assertNull(RequestChecks.check(request(HttpVersion.HTTP_1_0, HttpMethod.GET, "/")));
        assertNull(RequestChecks.check(request(HttpVersion.HTTP_1_1, HttpMethod.OPTIONS, "*", "Host", "h")));
    }

    @Test
    void versionsOtherThanHttp1AreRefusedWith505() {
        assertEquals(505, status(request(HttpVersion.valueOf("HTTP/2.0"), HttpMethod.GET, "/", "Host", "h")));
        assertEquals(505, status(request(HttpVersion.valueOf("HTTP/1.2"), HttpMethod.GET, "/", "Host", "h")));
    }

    @Test
    void hostIsRequiredOnceInHttp11AndMustBeAnAuthority() {
        // RFC 9112 §3.2: a missing, repeated or invalid Host is a 400.
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "/")));
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "/", "Host", "a", "Host", "b")));
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "/", "Host", "www.shop.example/evil")));
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "/", "Host", "a b")));
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "/", "Host", "h:99999")));
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "/", "Host", "")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"www.shop.example", "127.0.0.1:8080", "[::1]:80", "[2001:db8::1]", "xn--bcher-kva.example"})
    void validHostsPass(String host) {
        assertTrue(RequestChecks.isValidHost(host), host);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ":80", "[::1", "a/b", "a@b", "h:", "h:8o"})
    void invalidHostsFail(String host) {
        assertFalse(RequestChecks.isValidHost(host), host);
    }

    @Test
    void anAbsoluteFormTargetNamesTheHostAndBecomesOriginForm() {
        // RFC 9112 §3.2.2: the target's authority wins over the Host field.
        HttpRequest r = request(HttpVersion.HTTP_1_1, HttpMethod.GET, "http://www.other.example/x?y#f", "Host", "www.shop.example");
        assertNull(RequestChecks.check(r));
        assertEquals("/x?y", r.uri());
        assertEquals("www.other.example", r.headers().get("Host"));
        HttpRequest bare = request(HttpVersion.HTTP_1_1, HttpMethod.GET, "HTTP://h.example", "Host", "h.example");
        assertNull(RequestChecks.check(bare));
        assertEquals("/", bare.uri());
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "http://u@h.example/", "Host", "h.example")));
    }

    @Test
    void otherTargetFormsAndConnectAreRefused() {
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "*", "Host", "h")));
        assertEquals(400, status(request(HttpVersion.HTTP_1_1, HttpMethod.GET, "h.example:443", "Host", "h")));
        assertEquals(501, status(request(HttpVersion.HTTP_1_1, HttpMethod.CONNECT, "h.example:443", "Host", "h.example:443")));
    }

    @Test
    void onlyChunkedAloneIsAcceptedAsATransferCoding() {
        assertNull(RequestChecks.check(request(HttpVersion.HTTP_1_1, HttpMethod.POST, "/", "Host", "h",
                "Transfer-Encoding", "Chunked")));
        assertEquals(501, status(request(HttpVersion.HTTP_1_1, HttpMethod.POST, "/", "Host", "h",
                "Transfer-Encoding", "gzip, chunked")));
        assertEquals(501, status(request(HttpVersion.HTTP_1_1, HttpMethod.POST, "/", "Host", "h",
                "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked")));
        assertEquals(400, status(request(HttpVersion.HTTP_1_0, HttpMethod.POST, "/", "Transfer-Encoding", "chunked")));
    }
}
