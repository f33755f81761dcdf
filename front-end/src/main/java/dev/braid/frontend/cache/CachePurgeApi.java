package dev.braid.frontend.cache;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.runtime.AdminServer;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The cache's admin API on the front-end's admin port:
 *
 * <pre>
 * POST /api/v1/cache/purge   {"url": "http://www.shop.example/a?b=1"}     one URL, every variant
 *                            {"prefix": "http://www.shop.example/img/"}  every URL starting so
 *                            {"surrogateKey": "product-42"}              every response whose Surrogate-Key lists it
 *                            {"all": true}                               everything
 * → 200 {"purged": N}, N the stored responses removed
 * → 400 {"errors": ["field: value (expected: ...)"]}
 * </pre>
 *
 * URLs are absolute {@code http://} URLs; host and scheme are compared without case and a
 * default port is dropped, as in the cache key.
 */
public final class CachePurgeApi {

    public static final String PURGE_PATH = "/api/v1/cache/purge";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("url", "prefix", "surrogateKey", "all");

    private CachePurgeApi() {
    }

    public static AdminServer.Builder addRoutes(AdminServer.Builder admin, HttpCache cache) {
        return admin.route("POST", PURGE_PATH, request -> CompletableFuture.completedFuture(purge(cache,
                request.bodyText())));
    }

    static AdminServer.Response purge(HttpCache cache, String body) {
        JsonNode tree;
        try {
            tree = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            return errors(List.of("body: not JSON (expected: an object such as {\"url\": \"http://host/path\"})"));
        }
        if (tree == null || !tree.isObject()) {
            return errors(List.of("body: " + (tree == null ? "empty" : tree.getNodeType().toString().toLowerCase())
                    + " (expected: an object with one of url, prefix, surrogateKey, all)"));
        }
        List<String> errors = new ArrayList<>();
        List<String> given = new ArrayList<>();
        for (Iterator<String> it = tree.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                errors.add(f + ": unknown field (expected one of: url, prefix, surrogateKey, all)");
            } else {
                given.add(f);
            }
        }
        if (given.size() != 1) {
            errors.add("body: " + given + " (expected: exactly one of url, prefix, surrogateKey, all)");
        }
        if (!errors.isEmpty()) {
            return errors(errors);
        }
        String field = given.get(0);
        JsonNode value = tree.get(field);
        int purged;
        switch (field) {
            case "all" -> {
                if (!value.isBoolean() || !value.asBoolean()) {
                    return errors(List.of("all: " + value + " (expected: true)"));
                }
                purged = cache.purgeAll();
            }
            case "surrogateKey" -> {
                if (!value.isTextual() || value.asText().isEmpty() || value.asText().chars().anyMatch(c -> c <= ' ')) {
                    return errors(List.of("surrogateKey: " + value + " (expected: a key without spaces, as listed in "
                            + "a Surrogate-Key response field)"));
                }
                purged = cache.purgeSurrogateKey(value.asText());
            }
            default -> {
                String url = value.isTextual() ? CacheKey.normalUrl(value.asText()) : null;
                if (url == null) {
                    return errors(List.of(field + ": " + value + " (expected: an absolute http:// URL such as "
                            + "http://www.shop.example/path)"));
                }
                purged = field.equals("url") ? cache.purgeUrl(url) : cache.purgePrefix(url);
            }
        }
        return AdminServer.Response.json(200, "{\"purged\":" + purged + "}");
    }

    private static AdminServer.Response errors(List<String> errors) {
        try {
            return AdminServer.Response.json(400, JSON.writeValueAsString(java.util.Map.of("errors", errors)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
