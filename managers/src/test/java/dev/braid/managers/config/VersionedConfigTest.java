package dev.braid.managers.config;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VersionedConfigTest {

    private static final VersionedConfig V = new VersionedConfig(7, TestConfigs.example(),
            Instant.parse("2025-01-02T03:04:05.123Z"), null, "alice@10.0.0.1");

    @Test
    void theHashIsTheSha256OfTheCanonicalJson() {
        assertEquals(VersionedConfig.sha256Of(TestConfigs.example()), V.sha256());
        assertTrue(V.sha256().matches("[0-9a-f]{64}"), V.sha256());
        assertEquals(V.sha256(), VersionedConfig.sha256Of(ConfigLoader.parse(ConfigLoader.toYaml(TestConfigs.example()))));
        assertNotEquals(V.sha256(), VersionedConfig.sha256Of(TestConfigs.exampleWithGoldWeight(9)));
        assertEquals(V.sha256(), new VersionedConfig(7, TestConfigs.example(), null, null).sha256());
    }

    @Test
    void theEnvelopeRoundTrips() {
        String json = V.toJson();
        assertTrue(json.startsWith("{\"version\":7,\"sha256\":\"" + V.sha256() + "\",\"appliedAt\":\"2025-01-02T03:04:05.123Z\","
                + "\"author\":\"alice@10.0.0.1\",\"config\":{\"sites\":"), json);
        assertEquals(V, VersionedConfig.parseJson(json));
    }

    @Test
    void unknownEnvelopeFieldsAreIgnoredButTheConfigurationIsReadStrictly() {
        String json = V.toJson().replace("{\"version\":7,", "{\"version\":7,\"changed\":true,");
        assertEquals(V, VersionedConfig.parseJson(json));

        String unknown = V.toJson().replace("\"publicAddress\"", "\"publicAdress\"");
        assertEquals(List.of("config.frontEnds[0].publicAdress: unknown field (expected one of: name, listen, "
                        + "publicAddress, admin, region, capacity, sites, backEnds, cache)"),
                assertThrows(ConfigException.class, () -> VersionedConfig.parseJson(unknown)).errors());
    }

    @Test
    void aBrokenEnvelopeNamesTheField() {
        assertEquals(List.of("version: -1 (expected: an integer >= 0)"), assertThrows(ConfigException.class,
                () -> VersionedConfig.parseJson(V.toJson().replace("\"version\":7", "\"version\":-1"))).errors());
        assertEquals(List.of("sha256: \"abc\" (expected: 64 lower-case hex digits)"), assertThrows(ConfigException.class,
                () -> VersionedConfig.parseJson(V.toJson().replace(V.sha256(), "abc"))).errors());
        assertEquals(List.of("appliedAt: \"yesterday\" (expected: an ISO-8601 instant)"), assertThrows(ConfigException.class,
                () -> VersionedConfig.parseJson(V.toJson().replace("2025-01-02T03:04:05.123Z", "yesterday"))).errors());
        assertTrue(assertThrows(ConfigException.class, () -> VersionedConfig.parseJson("{\"version\":1,\"sha256\":\""
                + V.sha256() + "\"}")).errors().get(0).startsWith("config: empty document"));
    }

    @Test
    void versionsAreNotNegative() {
        assertEquals("version: -1 (expected: >= 0)", assertThrows(IllegalArgumentException.class,
                () -> new VersionedConfig(-1, BraidConfig.EMPTY, null, null)).getMessage());
    }
}
