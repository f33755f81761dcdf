package dev.braid.managers.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes what a node or the managers do with a configuration file: {@link ConfigLoader} reads it
 * (YAML, JSON or guessed from the content, as {@link ConfigLoader#load} does by the file's name)
 * and {@link ConfigValidator} checks it. Whatever the bytes, the outcome is a configuration or a
 * {@link ConfigException} whose every reason names a field path; any other exception is a finding.
 * A configuration that reads also validates without throwing, and writes back (canonical JSON and
 * YAML) to text that reads to an equal configuration, so what the managers store is what they were
 * given.
 *
 * <p>The first input byte picks the file name: {@code j} for {@code config.json}, {@code y} for
 * {@code config.yaml}, anything else for a name without extension (notation guessed). {@code mvn
 * verify} replays {@code ConfigFileFuzzTestInputs/}; {@code JAZZER_FUZZ=1} fuzzes
 * (docs/security.md).
 */
class ConfigFileFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void parseAndValidate(byte[] input) {
        if (input.length == 0) {
            return;
        }
        Path file = Path.of(input[0] == 'j' ? "config.json" : input[0] == 'y' ? "config.yaml" : "config");
        byte[] content = Arrays.copyOfRange(input, 1, input.length);
        BraidConfig config;
        try {
            config = ConfigLoader.parseFile(file, content);
        } catch (ConfigException refused) {
            checkReasons(refused);
            return;
        }
        assertNotNull(config);
        List<String> problems = ConfigValidator.validate(config);
        for (String p : problems) {
            assertTrue(p != null && !p.isBlank() && p.contains(": "), () -> "a validation reason without a path: " + p);
        }
        assertEquals(config, ConfigLoader.parse(ConfigLoader.toJson(config), ConfigLoader.Format.JSON),
                "canonical JSON reads back to the same configuration");
        assertEquals(config, ConfigLoader.parse(ConfigLoader.toYaml(config), ConfigLoader.Format.YAML),
                "YAML reads back to the same configuration");
    }

    /** Found by this target: an empty key gave the reason ": unknown field", without a path. */
    @Test
    void anEmptyKeyIsNamedInItsReason() {
        ConfigException yaml = assertThrows(ConfigException.class, () -> ConfigLoader.parse("?", ConfigLoader.Format.YAML));
        assertEquals("\"\": unknown field (expected one of: sites, frontEnds, backEnds, clientClasses, redirectors, "
                + "managers, tmp, dns, regions, pki)", yaml.errors().get(0));
        ConfigException json = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse("{\"tmp\":{\"\":1}}", ConfigLoader.Format.JSON));
        assertTrue(json.errors().get(0).startsWith("tmp.\"\": unknown field"), json.errors().get(0));
    }

    private static void checkReasons(ConfigException refused) {
        assertFalse(refused.errors().isEmpty(), "a refusal carries at least one reason");
        for (String reason : refused.errors()) {
            assertTrue(reason != null && !reason.isBlank(), "a blank reason");
            // "field.path: what was wrong (expected: ...)", the root being "(root)".
            int colon = reason.indexOf(": ");
            assertTrue(colon > 0, () -> "a reason without a field path: " + reason);
        }
        assertTrue(refused.getMessage().startsWith("config"), refused::getMessage);
    }
}
