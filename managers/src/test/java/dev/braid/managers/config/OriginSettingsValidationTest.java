package dev.braid.managers.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The back-end's part of a site: origin weights, capabilities, pools, health, request types and the queue. */
class OriginSettingsValidationTest {

    private static final String SITE = """
            sites:
              - name: shop
                hostnames: [www.shop.example]
                origins:
            %s
            %s
            """;

    private static final String TWO_ORIGINS = """
                  - name: primary
                    url: http://10.0.0.1:8000
                  - name: mirror
                    url: https://mirror.shop.example:8443
                    role: mirror
                    freshnessRank: 1
            """;

    private static List<String> errors(String origins, String rest) {
        return ConfigValidator.validate(ConfigLoader.parse(SITE.formatted(origins.stripTrailing(), rest)));
    }

    @Test
    void defaultsFillEveryOmittedKey() {
        Site site = ConfigLoader.parse(SITE.formatted(TWO_ORIGINS.stripTrailing(), "")).site("shop");
        Origin o = site.origin("primary");
        assertEquals(1, o.weight());
        assertEquals(List.of(), o.types());
        assertTrue(o.serves("media"));
        assertEquals(Origin.DEFAULT_MAX_IN_FLIGHT, o.maxConnections());
        assertEquals(2000, o.connectTimeoutMillis());
        assertEquals(30_000, o.responseTimeoutMillis());
        assertEquals(HealthCheck.DEFAULT, o.health());
        assertEquals(null, o.health().path());
        assertEquals(RequestType.DEFAULTS, site.requestTypes());
        assertEquals(List.of("media", "static", "query", "page"), site.requestTypes().stream().map(RequestType::name).toList());
        assertEquals(List.of(16, 1, 8, 4), site.requestTypes().stream().map(RequestType::cost).toList());
        assertEquals(new QueueSettings(1000, 5000, 5), site.queue());
        assertEquals(List.of(), ConfigValidator.validate(ConfigLoader.parse(SITE.formatted(TWO_ORIGINS.stripTrailing(), ""))));
        // The short constructors other modules use give the same defaults as reading a document.
        assertEquals(o, new Origin("primary", "http://10.0.0.1:8000", null, null, null));
        assertEquals(site, new Site("shop", List.of("www.shop.example"), null, site.origins()));
    }

    @Test
    void aFullSiteReadsBackUnchanged() {
        String yaml = SITE.formatted("""
                      - name: primary
                        url: https://origin.shop.example:8443
                        maxInFlight: 32
                        weight: 4
                        types: [page, query]
                        maxConnections: 16
                        connectTimeoutMillis: 500
                        responseTimeoutMillis: 10000
                        tlsRoots: /etc/braid/origin-roots.pem
                        health: {path: /health, intervalMillis: 1000, timeoutMillis: 300, rise: 3, fall: 2, errorRatio: 0.25, errorWindow: 40, ejectMillis: 5000}
                      - name: media
                        url: http://10.0.0.2:8000
                        role: mirror
                        types: [media, page]
                """.stripTrailing(), """
                    requestTypes:
                      - {name: media, cost: 16, spread: true, rules: [{extensions: [mp4, webm]}, {header: 'Accept: video/'}]}
                      - {name: query, cost: 8, rules: [{method: POST, pathPrefix: /api/}, {header: X-Query}]}
                      - {name: page, cost: 4}
                    queue: {maxRequests: 50, timeoutMillis: 2000, retryAfterSeconds: 2}
                """);
        BraidConfig config = ConfigLoader.parse(yaml);
        assertEquals(List.of(), ConfigValidator.validate(config));
        Site site = config.site("shop");
        Origin primary = site.origin("primary");
        assertEquals(new HealthCheck("/health", 1000, 300, 3, 2, 0.25, 40, 5000), primary.health());
        assertEquals("/etc/braid/origin-roots.pem", primary.tlsRoots());
        assertEquals(new TypeRule(null, null, List.of("mp4", "webm"), null), site.requestType("media").rules().get(0));
        assertTrue(site.requestType("media").spread());
        assertEquals(false, site.requestType("query").spread());
        assertEquals(new QueueSettings(50, 2000, 2), site.queue());
        assertEquals(config, ConfigLoader.parse(ConfigLoader.toJson(config)));
        assertEquals(config, ConfigLoader.parse(ConfigLoader.toYaml(config)));
    }

    @Test
    void originSettingsOutOfRangeAreNamed() {
        assertEquals(List.of(
                        "sites[0].origins[0].weight: 0 (expected: 1..1000)",
                        "sites[0].origins[0].types[0]: video (expected: the name of a type in the site's requestTypes "
                                + "[media, page, query, static])",
                        "sites[0].origins[0].types[2]: page (expected: each name listed once)",
                        "sites[0].origins[0].maxConnections: 0 (expected: >= 1)",
                        "sites[0].origins[0].connectTimeoutMillis: 0 (expected: 1..600000)",
                        "sites[0].origins[0].responseTimeoutMillis: 600001 (expected: 1..600000)",
                        "sites[0].origins[0].tlsRoots: /roots.pem (expected: no tlsRoots for an http url; they verify https origins)"),
                errors("""
                              - url: http://10.0.0.1:8000
                                weight: 0
                                types: [video, page, page]
                                maxConnections: 0
                                connectTimeoutMillis: 0
                                responseTimeoutMillis: 600001
                                tlsRoots: /roots.pem
                              - url: http://10.0.0.2:8000
                        """, ""));
    }

    @Test
    void healthChecksOutOfRangeAreNamed() {
        assertEquals(List.of(
                        "sites[0].origins[0].health.path: health (expected: a path starting with '/', such as /health, without spaces or '#')",
                        "sites[0].origins[0].health.intervalMillis: 5 (expected: 10..600000)",
                        "sites[0].origins[0].health.timeoutMillis: 0 (expected: 1..600000)",
                        "sites[0].origins[0].health.rise: 0 (expected: 1..100)",
                        "sites[0].origins[0].health.fall: 101 (expected: 1..100)",
                        "sites[0].origins[0].health.errorRatio: 0.0 (expected: a share above 0 and at most 1, such as 0.5)",
                        "sites[0].origins[0].health.errorWindow: 0 (expected: 1..10000)",
                        "sites[0].origins[0].health.ejectMillis: 0 (expected: 1..600000)"),
                errors("""
                              - url: http://10.0.0.1:8000
                                health: {path: health, intervalMillis: 5, timeoutMillis: 0, rise: 0, fall: 101, errorRatio: 0, errorWindow: 0, ejectMillis: 0}
                        """, ""));
        assertEquals(List.of(), errors("""
                      - url: http://10.0.0.1:8000
                        health: {path: '/status?deep=1', errorRatio: 1}
                """, ""));
    }

    @Test
    void requestTypesAndQueueAreChecked() {
        assertEquals(List.of(
                        "sites[0].requestTypes[1].name: page (expected: a name unique among sites[0].requestTypes; "
                                + "sites[0].requestTypes[0] has it)",
                        "sites[0].requestTypes[0].cost: 0 (expected: 1..1000)",
                        "sites[0].requestTypes[0].rules: [] (expected: at least one rule, or this type last: a type "
                                + "without rules matches every request and hides the types after it)",
                        "sites[0].requestTypes[1].rules[0]: {} (expected: at least one of method, pathPrefix, extensions, header "
                                + "(a type with no rules already matches everything))",
                        "sites[0].requestTypes[1].rules[1].method: get (expected: an HTTP method in upper case, such as GET)",
                        "sites[0].requestTypes[1].rules[1].pathPrefix: api (expected: a path starting with '/', without spaces, '?' or '#')",
                        "sites[0].requestTypes[1].rules[1].extensions[0]: .MP4 (expected: 1 to 16 lower-case letters or digits, "
                                + "without the dot, such as mp4)",
                        "sites[0].requestTypes[1].rules[1].header: \"Bad Name: x\" (expected: Name (the field is present) or "
                                + "Name: value, such as Range or Accept: video/)",
                        "sites[0].queue.maxRequests: -1 (expected: 0..1000000)",
                        "sites[0].queue.timeoutMillis: 0 (expected: 1..600000)",
                        "sites[0].queue.retryAfterSeconds: -1 (expected: 0..86400)"),
                errors("""
                              - url: http://10.0.0.1:8000
                        """, """
                            requestTypes:
                              - {name: page, cost: 0, rules: []}
                              - name: page
                                rules:
                                  - {}
                                  - {method: get, pathPrefix: api, extensions: [.MP4], header: 'Bad Name: x'}
                            queue: {maxRequests: -1, timeoutMillis: 0, retryAfterSeconds: -1}
                        """));
        assertEquals(List.of("sites[0].requestTypes: [] (expected: at least one request type (leave the key out for the defaults))"),
                errors("      - url: http://10.0.0.1:8000\n", "    requestTypes: []\n"));
    }

    @Test
    void everyTypeNeedsAnOriginThatServesIt() {
        assertEquals(List.of("sites[0].requestTypes[0].name: media (expected: a type at least one of the site's origins "
                        + "serves (see origins[].types))"),
                errors("""
                              - url: http://10.0.0.1:8000
                                types: [static, query, page]
                        """, ""));
    }
}
