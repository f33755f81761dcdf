package dev.braid.managers;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.config.BraidConfig;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What changed between two configurations, for the audit log and for people: a list of
 * {@code path: old -> new} lines. Lists of named things are addressed by name
 * ({@code clientClasses[gold].weight: 8 -> 12}), other lists by index.
 */
final class ConfigDiff {

    /** Lines kept in a summary; the rest are counted. */
    static final int MAX_LINES = 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private ConfigDiff() {
    }

    static List<String> lines(BraidConfig before, BraidConfig after) {
        List<String> out = new ArrayList<>();
        diff("", JSON.valueToTree(before), JSON.valueToTree(after), out);
        return out;
    }

    /** The lines joined with "; ", at most {@link #MAX_LINES} of them. */
    static String summary(BraidConfig before, BraidConfig after) {
        List<String> all = lines(before, after);
        if (all.isEmpty()) {
            return "no change";
        }
        List<String> shown = all.subList(0, Math.min(MAX_LINES, all.size()));
        String s = String.join("; ", shown);
        return all.size() > shown.size() ? s + "; and " + (all.size() - shown.size()) + " more" : s;
    }

    private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
        if (a == null || a.isMissingNode()) {
            out.add(display(path) + ": added " + abbreviate(b));
        } else if (b == null || b.isMissingNode()) {
            out.add(display(path) + ": removed");
        } else if (a.isObject() && b.isObject()) {
            Set<String> keys = new LinkedHashSet<>();
            a.fieldNames().forEachRemaining(keys::add);
            b.fieldNames().forEachRemaining(keys::add);
            for (String k : keys) {
                JsonNode x = a.get(k);
                JsonNode y = b.get(k);
                if (x == null || !x.equals(y)) {
                    diff(path.isEmpty() ? k : path + "." + k, x, y, out);
                }
            }
        } else if (a.isArray() && b.isArray() && named(a) && named(b)) {
            Set<String> names = new LinkedHashSet<>();
            for (JsonNode n : a) {
                names.add(n.get("name").asText());
            }
            for (JsonNode n : b) {
                names.add(n.get("name").asText());
            }
            for (String name : names) {
                JsonNode x = byName(a, name);
                JsonNode y = byName(b, name);
                if (x == null || !x.equals(y)) {
                    diff(path + "[" + name + "]", x, y, out);
                }
            }
        } else if (!a.equals(b)) {
            out.add(display(path) + ": " + abbreviate(a) + " -> " + abbreviate(b));
        }
    }

    private static boolean named(JsonNode array) {
        for (Iterator<JsonNode> it = array.elements(); it.hasNext(); ) {
            JsonNode n = it.next();
            if (!n.isObject() || !n.path("name").isTextual()) {
                return false;
            }
        }
        return true;
    }

    private static JsonNode byName(JsonNode array, String name) {
        for (JsonNode n : array) {
            if (name.equals(n.get("name").asText())) {
                return n;
            }
        }
        return null;
    }

    private static String display(String path) {
        return path.isEmpty() ? "(root)" : path;
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }
}
