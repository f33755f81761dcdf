package dev.braid.frontend;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Request smuggling cases: each a request that a strict HTTP/1.1 server must refuse, followed on
 * the same connection by a second request ({@code smuggled}) that must never be answered or
 * forwarded. {@link #suite} is Braid's own suite (each case refused with 400 and the connection
 * closed, {@code GatewayMannersIT}); {@link #literature} adds published variants (CL.TE, TE.CL,
 * TE.TE obfuscations, chunk extensions with bare LF, absolute-form targets, ...) for the comparison
 * with nginx and Varnish ({@code PeerRejectionIT}).
 */
final class SmugglingCases {

    private SmugglingCases() {
    }

    /** The cases every one of which Braid answers with 400 and a closed connection. */
    static Map<String, String> suite(String h, String smuggled) {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("CL and TE", "POST / HTTP/1.1\r\n" + h + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE and CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("two different CL", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0\r\nContent-Length: 44\r\n\r\n" + smuggled);
        cases.put("two equal CL", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n" + smuggled);
        cases.put("CL list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0, 0\r\n\r\n" + smuggled);
        cases.put("CL sign", "POST / HTTP/1.1\r\n" + h + "Content-Length: +0\r\n\r\n" + smuggled);
        cases.put("CL hex", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x0\r\n\r\n" + smuggled);
        cases.put("CL negative", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n" + smuggled);
        cases.put("TE xchunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE chunked, identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n" + smuggled);
        cases.put("TE twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE with space before colon", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE with tab before colon", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE folded", "POST / HTTP/1.1\r\n" + h + "X-A: b\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE name with leading space", "POST / HTTP/1.1\r\n" + h + " Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE in HTTP/1.0", "POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE vertical tab", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \u000bchunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("space before colon", "GET / HTTP/1.1\r\n" + h + "X-A : b\r\n\r\n" + smuggled);
        cases.put("bare LF", "GET / HTTP/1.1\n" + h.replace("\r\n", "\n") + "\n" + smuggled);
        cases.put("bare CR in a value", "GET / HTTP/1.1\r\n" + h + "X-A: b\rc\r\n\r\n" + smuggled);
        cases.put("bare CR line end", "GET / HTTP/1.1\r" + h + "\r\n" + smuggled);
        cases.put("NUL in a value", "GET / HTTP/1.1\r\n" + h + "X-A: b\u0000c\r\n\r\n" + smuggled);
        cases.put("NUL in a name", "GET / HTTP/1.1\r\n" + h + "X-\u0000A: b\r\n\r\n" + smuggled);
        cases.put("NUL in the target", "GET /a\u0000b HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("missing Host", "GET / HTTP/1.1\r\n\r\n" + smuggled);
        cases.put("two Hosts", "GET / HTTP/1.1\r\n" + h + "Host: evil.example\r\n\r\n" + smuggled);
        cases.put("Host list", "GET / HTTP/1.1\r\nHost: www.shop.example, evil.example\r\n\r\n" + smuggled);
        cases.put("Host with space", "GET / HTTP/1.1\r\nHost: www.shop.example evil\r\n\r\n" + smuggled);
        cases.put("space in the target", "GET /a b HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("bad version", "GET / HTTP/1.2x\r\n" + h + "\r\n" + smuggled);
        cases.put("header without colon", "GET / HTTP/1.1\r\n" + h + "X-A b\r\n\r\n" + smuggled);
        // Body-stage errors: the head was fine, so the request is on its way, but never whole.
        cases.put("chunk size not hex", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk size overflow", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1000000000000000000000000000000\r\nab\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk size with sign", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk size with bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk data longer than its size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk extension with bare CR", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2;a=b\rc\r\nab\r\n0\r\n\r\n" + smuggled);

        return cases;
    }

    /**
     * More cases from the request smuggling literature (Linhart et al. 2005, Kettle 2019,
     * RFC 9112 §6.3 and §11.2). Not all are errors: a few are well-formed requests in unusual
     * spellings that a server may accept (upper-case {@code CHUNKED}, optional whitespace after
     * the value, an obs-fold in an ordinary field, which RFC 9112 §5.2 lets a server unfold).
     */
    static Map<String, String> literature(String h, String smuggled) {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("CL.TE classic", "POST / HTTP/1.1\r\n" + h + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG" + smuggled);
        cases.put("TE.CL classic", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE second TE unknown", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE tab before value", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE upper-case CHUNKED", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE trailing space", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked \r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE quoted", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE comma first", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE x-then-chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: x, chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE bare LF before TE", "POST / HTTP/1.1\r\n" + h + "X: y\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("TE.TE name with underscore", "POST / HTTP/1.1\r\n" + h + "Transfer_Encoding: chunked\r\nContent-Length: 0\r\n\r\n" + smuggled);
        cases.put("TE gzip, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk size overflow 2^64+1", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n10000000000000001\r\na\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk size 0x prefix", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk size leading space", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n 2\r\nab\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk extension with bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2;a=b\nab\r\n0\r\n\r\n" + smuggled);
        cases.put("chunk data without CRLF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n" + smuggled);
        cases.put("last chunk with bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\n\r\n" + smuggled);
        cases.put("obs-fold in an ordinary field", "GET / HTTP/1.1\r\n" + h + "X-A: b\r\n c\r\n\r\n" + smuggled);
        cases.put("obs-fold in Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n 0\r\n\r\n" + smuggled);
        cases.put("space before colon in CL", "POST / HTTP/1.1\r\n" + h + "Content-Length : 0\r\n\r\n" + smuggled);
        cases.put("CL with trailing garbage", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0abc\r\n\r\n" + smuggled);
        cases.put("CL huge", "POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999\r\n\r\n" + smuggled);
        cases.put("NUL in a header name start", "GET / HTTP/1.1\r\n" + h + "\u0000X: b\r\n\r\n" + smuggled);
        cases.put("duplicate Host, same value", "GET / HTTP/1.1\r\n" + h + h + "\r\n" + smuggled);
        cases.put("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n" + smuggled);
        cases.put("absolute-form, Host differs", "GET http://evil.example/ HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("absolute-form with userinfo", "GET http://a@www.shop.example/ HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("request line with bare LF", "GET / HTTP/1.1\n" + h + "\r\n" + smuggled);
        cases.put("two spaces in the request line", "GET  / HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("tab in the request line", "GET\t/ HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("lower-case version", "GET / http/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("HTTP/0.9 style", "GET /\r\n" + h + "\r\n" + smuggled);
        cases.put("empty field name", "GET / HTTP/1.1\r\n" + h + ": b\r\n\r\n" + smuggled);
        cases.put("space in a field name", "GET / HTTP/1.1\r\n" + h + "X A: b\r\n\r\n" + smuggled);
        cases.put("DEL in a value", "GET / HTTP/1.1\r\n" + h + "X-A: b\u007fc\r\n\r\n" + smuggled);
        cases.put("high byte in a value", "GET / HTTP/1.1\r\n" + h + "X-A: b\u00e9c\r\n\r\n" + smuggled);
        cases.put("fragment in the target", "GET /a#b HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        cases.put("CONNECT", "CONNECT www.shop.example:443 HTTP/1.1\r\n" + h + "\r\n" + smuggled);
        return cases;
    }
}
