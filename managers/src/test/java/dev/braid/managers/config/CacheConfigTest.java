package dev.braid.managers.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The cache sections: {@code frontEnds[].cache} and {@code sites[].cache}. */
class CacheConfigTest {

    private static List<String> errors(String yaml) {
        return ConfigValidator.validate(ConfigLoader.parse(yaml));
    }

    private static String example(String from, String to) {
        String yaml = TestConfigs.exampleYaml();
        if (!yaml.contains(from)) {
            throw new AssertionError("example.yaml has no '" + from + "'");
        }
        return yaml.replace(from, to);
    }

    @Test
    void defaultsApplyWhenTheSectionsAreLeftOut() {
        BraidConfig c = TestConfigs.example();
        CacheSettings fe = c.frontEnd("fe-1").cache();
        assertEquals(true, fe.enabled());
        assertEquals(256L << 20, fe.maxBytes());
        assertEquals(8L << 20, fe.maxObjectBytes());
        assertEquals(10, fe.refreshMinHits());
        assertEquals(10, fe.refreshAheadSeconds());
        SiteCachePolicy site = c.site("shop").cache();
        assertEquals(true, site.enabled());
        assertEquals(10, site.heuristicPercent());
        assertEquals(86_400, site.maxHeuristicSeconds());
    }

    @Test
    void sectionsAreReadAndValid() {
        BraidConfig c = ConfigLoader.parse(example("    backEnds: [be-1]\n",
                "    backEnds: [be-1]\n    cache: {maxBytes: 1073741824, maxObjectBytes: 1048576, refreshMinHits: 0}\n"));
        assertEquals(List.of(), ConfigValidator.validate(c));
        assertEquals(1L << 30, c.frontEnd("fe-1").cache().maxBytes());
        assertEquals(0, c.frontEnd("fe-1").cache().refreshMinHits());
        c = ConfigLoader.parse(example("    origins:\n", "    cache: {enabled: false, heuristicPercent: 0}\n"
                + "    origins:\n"));
        assertEquals(List.of(), ConfigValidator.validate(c));
        assertEquals(false, c.site("shop").cache().enabled());
    }

    @Test
    void limitsAreChecked() {
        assertEquals(List.of(
                        "frontEnds[0].cache.maxBytes: 1000 (expected: 1048576..1099511627776)",
                        "frontEnds[0].cache.maxObjectBytes: 0 (expected: 1..2147483647)",
                        "frontEnds[0].cache.refreshMinHits: -1 (expected: >= 0)",
                        "frontEnds[0].cache.refreshAheadSeconds: 0 (expected: 1..3600)"),
                errors(example("    backEnds: [be-1]\n", "    backEnds: [be-1]\n    cache: {maxBytes: 1000, "
                        + "maxObjectBytes: 0, refreshMinHits: -1, refreshAheadSeconds: 0}\n")));
        assertEquals(List.of("frontEnds[0].cache.maxObjectBytes: 2097152 (expected: 1..1048576, at most maxBytes)"),
                errors(example("    backEnds: [be-1]\n", "    backEnds: [be-1]\n    cache: {maxBytes: 1048576, "
                        + "maxObjectBytes: 2097152}\n")));
        assertEquals(List.of("sites[0].cache.heuristicPercent: 101 (expected: 0..100)",
                        "sites[0].cache.maxHeuristicSeconds: -1 (expected: 0..31536000)"),
                errors(example("    origins:\n", "    cache: {heuristicPercent: 101, maxHeuristicSeconds: -1}\n"
                        + "    origins:\n")));
        assertEquals(List.of("sites[0].cache.enable: unknown field (expected one of: enabled, heuristicPercent, "
                + "maxHeuristicSeconds)"), shapeErrors(example("    origins:\n", "    cache: {enable: false}\n"
                + "    origins:\n")));
    }

    private static List<String> shapeErrors(String yaml) {
        try {
            ConfigLoader.parse(yaml);
            return List.of();
        } catch (ConfigException e) {
            return e.errors();
        }
    }
}
