package dev.braid.managers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;

/**
 * One line of the managers' audit log: who did what, when, and which configuration version it
 * turned into which. Every change made through the admin API is recorded, accepted changes of the
 * configuration in the same durable write as the version itself.
 *
 * <p>JSON: {@code {"at":"2025-01-02T03:04:05Z","who":"alice@10.0.0.7","action":"config.put",
 * "fromVersion":3,"toVersion":4,"detail":"clientClasses[gold].weight: 8 -> 12"}}. For actions
 * that change no configuration ({@code cache.purge}) both versions are the version current then.
 *
 * @param action {@code config.initial}, {@code config.put}, {@code config.rollback},
 *               {@code class.weight} or {@code cache.purge}
 * @param detail what changed, for people: changed paths, or the action's parameters
 */
public record AuditEntry(Instant at, String who, String action, long fromVersion, long toVersion, String detail) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public AuditEntry {
        Objects.requireNonNull(at, "at");
        who = who == null ? "unknown" : who;
        Objects.requireNonNull(action, "action");
        detail = detail == null ? "" : detail;
    }

    public ObjectNode toJsonTree() {
        ObjectNode n = JSON.createObjectNode();
        n.put("at", at.toString());
        n.put("who", who);
        n.put("action", action);
        n.put("fromVersion", fromVersion);
        n.put("toVersion", toVersion);
        n.put("detail", detail);
        return n;
    }

    public String toJson() {
        return toJsonTree().toString();
    }

    /**
     * Reads an entry written by {@link #toJson}.
     *
     * @throws IllegalArgumentException naming the first field that is missing or malformed
     */
    public static AuditEntry fromTree(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("audit entry: " + n + " (expected: an object)");
        }
        Instant at;
        try {
            at = Instant.parse(text(n, "at"));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("at: " + n.get("at") + " (expected: an ISO-8601 instant)");
        }
        return new AuditEntry(at, text(n, "who"), text(n, "action"), number(n, "fromVersion"),
                number(n, "toVersion"), n.path("detail").asText(""));
    }

    public static AuditEntry parseJson(String json) {
        try {
            return fromTree(JSON.readTree(json));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("audit entry: not JSON (" + e.getOriginalMessage() + ")");
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(field + ": " + v + " (expected: a string)");
        }
        return v.asText();
    }

    private static long number(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException(field + ": " + v + " (expected: an integer)");
        }
        return v.asLong();
    }
}
