package dev.braid.frontend.cache;

import dev.braid.runtime.AdminServer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CachePurgeApiTest {

    private static String body(AdminServer.Response r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void purgesAndCounts() {
        try (CacheHarness h = new CacheHarness()) {
            h.get("/a");
            h.get("/b");
            AdminServer.Response r = CachePurgeApi.purge(h.cache, "{\"url\":\"http://www.shop.example/a\"}");
            assertEquals(200, r.status());
            assertEquals("{\"purged\":1}", body(r));
            assertEquals("{\"purged\":1}", body(CachePurgeApi.purge(h.cache, "{\"all\":true}")));
        }
    }

    @Test
    void badRequestsNameTheFieldAndWhatWasExpected() {
        try (CacheHarness h = new CacheHarness()) {
            assertEquals(400, CachePurgeApi.purge(h.cache, "not json").status());
            assertEquals("{\"errors\":[\"url: \\\"/a\\\" (expected: an absolute http:// URL such as "
                    + "http://www.shop.example/path)\"]}", body(CachePurgeApi.purge(h.cache, "{\"url\":\"/a\"}")));
            AdminServer.Response two = CachePurgeApi.purge(h.cache, "{\"url\":\"http://x/\",\"prefix\":\"http://x/\"}");
            assertEquals(400, two.status());
            assertEquals("{\"errors\":[\"body: [url, prefix] (expected: exactly one of url, prefix, surrogateKey, "
                    + "all)\"]}", body(two));
            assertEquals(400, CachePurgeApi.purge(h.cache, "{\"urls\":\"http://x/\"}").status());
            assertEquals(400, CachePurgeApi.purge(h.cache, "{\"surrogateKey\":\"a b\"}").status());
            assertEquals(400, CachePurgeApi.purge(h.cache, "{\"all\":false}").status());
            assertEquals(400, CachePurgeApi.purge(h.cache, "[1]").status());
        }
    }
}
