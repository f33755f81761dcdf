package dev.braid.managers.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One version of the configuration as the managers hold it: its number (1 for the first applied
 * configuration, 0 for the empty configuration before it), when it was applied and by whom, and
 * the SHA-256 of its canonical JSON ({@link ConfigLoader#toJson}), which identifies the content.
 *
 * <p>On the wire (admin API, state files) it is the envelope
 * {@code {"version":N,"sha256":"…","appliedAt":"…","author":"…","config":{…}}}.
 *
 * @param sha256 lower-case hex; computed from {@code config} when null
 * @param author who applied it (default {@code "unknown"})
 */
public record VersionedConfig(long version, BraidConfig config, Instant appliedAt, String sha256, String author) {

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** Version 0: the empty configuration the managers hold before anything is applied. */
    public static final VersionedConfig EMPTY = new VersionedConfig(0, BraidConfig.EMPTY, Instant.EPOCH, null, "none");

    public VersionedConfig {
        Objects.requireNonNull(config, "config");
        if (version < 0) {
            throw new IllegalArgumentException("version: " + version + " (expected: >= 0)");
        }
        appliedAt = appliedAt == null ? Instant.EPOCH : appliedAt;
        sha256 = sha256 == null ? sha256Of(config) : sha256;
        author = author == null ? "unknown" : author;
    }

    public VersionedConfig(long version, BraidConfig config, Instant appliedAt, String sha256) {
        this(version, config, appliedAt, sha256, null);
    }

    /** The SHA-256 of {@code config}'s canonical JSON, as lower-case hex. */
    public static String sha256Of(BraidConfig config) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(ConfigLoader.toJson(config).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    /** The envelope as a JSON object, for callers that add fields to it. */
    public ObjectNode toJsonTree() {
        ObjectNode node = ConfigLoader.JSON.createObjectNode();
        node.put("version", version);
        node.put("sha256", sha256);
        node.put("appliedAt", appliedAt.toString());
        node.put("author", author);
        node.set("config", ConfigLoader.JSON.valueToTree(config));
        return node;
    }

    /** The envelope as compact JSON text. */
    public String toJson() {
        try {
            return ConfigLoader.JSON.writeValueAsString(toJsonTree());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads an envelope written by {@link #toJson}. The configuration inside is read as strictly as
     * {@link ConfigLoader#parse} reads a file; envelope fields other than the five above are ignored
     * (a newer managers may add some). The configuration is not validated here.
     *
     * @throws ConfigException with every problem found, paths starting at {@code config}
     */
    public static VersionedConfig parseJson(String json) {
        return fromTree(ConfigLoader.readTree(json, ConfigLoader.Format.JSON));
    }

    /** Like {@link #parseJson}, from an already parsed tree. */
    static VersionedConfig fromTree(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new ConfigException(List.of("(root): " + node + " (expected: a mapping with keys version, "
                    + "sha256, appliedAt, author, config)"));
        }
        long version = versionOf(node);
        JsonNode sha = node.get("sha256");
        if (sha == null || !sha.isTextual() || !SHA256.matcher(sha.asText()).matches()) {
            throw new ConfigException(List.of("sha256: " + sha + " (expected: 64 lower-case hex digits)"));
        }
        Instant appliedAt;
        JsonNode at = node.get("appliedAt");
        try {
            appliedAt = at == null || at.isNull() ? null : Instant.parse(at.asText());
        } catch (DateTimeParseException e) {
            throw new ConfigException(List.of("appliedAt: " + at + " (expected: an ISO-8601 instant)"));
        }
        JsonNode author = node.get("author");
        BraidConfig config = ConfigLoader.bind(node.get("config"), "config");
        return new VersionedConfig(version, config, appliedAt, sha.asText(),
                author == null || author.isNull() ? null : author.asText());
    }

    /**
     * The version number of an envelope, read before (and regardless of) its configuration, so that
     * a node refusing a configuration still knows which version it refused.
     *
     * @throws ConfigException when the envelope has no valid version
     */
    static long versionOf(JsonNode envelope) {
        JsonNode v = envelope == null ? null : envelope.get("version");
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
            throw new ConfigException(List.of("version: " + v + " (expected: an integer >= 0)"));
        }
        return v.asLong();
    }
}
