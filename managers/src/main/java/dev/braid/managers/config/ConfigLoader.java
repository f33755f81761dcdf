package dev.braid.managers.config;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.yaml.snakeyaml.LoaderOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads and writes a {@link BraidConfig} as YAML or JSON.
 *
 * <p>Reading is strict and reports every problem of a document at once: an unknown key names its
 * path and the keys that were expected ({@code frontEnds[0].lisen: unknown field (expected one of:
 * name, listen, ...)}); a value of the wrong type names its path, the value and the type
 * ({@code tmp.packetBytes: "big" (expected: integer)}); duplicate keys, trailing documents and
 * syntax errors name their line. Strings are never silently turned into numbers; whole numbers
 * are accepted where a string is expected (YAML writes {@code name: 1} unquoted). Missing keys and
 * explicit nulls take the records' defaults.
 *
 * <p>Reading checks shape and types only; {@link ConfigValidator} checks meaning.
 *
 * <p>Writing is deterministic: {@link #toJson} is the canonical form that versions are hashed over
 * (compact, keys in record order, nulls omitted).
 */
public final class ConfigLoader {

    /** The two notations a configuration may be written in. */
    public enum Format { JSON, YAML }

    /** Largest configuration file {@link #load} reads, in bytes. */
    public static final long MAX_FILE_BYTES = 16L * 1024 * 1024;

    private static final StreamReadConstraints LIMITS = StreamReadConstraints.builder()
            .maxNestingDepth(64)
            .maxStringLength(1 << 20)
            .maxNumberLength(40)
            .build();

    private static final JsonInclude.Value NON_NULL =
            JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL);

    static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder().streamReadConstraints(LIMITS).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .defaultPropertyInclusion(NON_NULL)
            .build();

    private static final ObjectMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
                    .loaderOptions(loaderOptions())
                    .streamReadConstraints(LIMITS)
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .defaultPropertyInclusion(NON_NULL)
            .build();

    /** Properties of each record type, in declaration order, as Jackson will bind them. */
    private static final Map<Class<?>, Map<String, JavaType>> PROPERTIES = new ConcurrentHashMap<>();

    private ConfigLoader() {
    }

    private static LoaderOptions loaderOptions() {
        // Jackson reads a YAML alias as the plain string of its name and never expands it, so an
        // alias bomb cannot grow; the shape check then refuses the string where a mapping belongs.
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setNestingDepthLimit(64);
        return options;
    }

    /**
     * Parses a configuration, guessing the notation from the content: JSON when the first
     * non-blank character is '{' or '[', YAML otherwise.
     *
     * @throws ConfigException with every problem found
     */
    public static BraidConfig parse(String text) {
        return parse(text, detect(text));
    }

    /**
     * Parses a configuration written in {@code format}.
     *
     * @throws ConfigException with every problem found
     */
    public static BraidConfig parse(String text, Format format) {
        return bind(readTree(text, format), "");
    }

    /**
     * Reads a configuration file: {@code .json} is JSON, {@code .yaml}/{@code .yml} is YAML, any
     * other name is guessed from the content.
     *
     * @throws ConfigException naming the file, with every problem found (including a file that
     *                         cannot be read)
     */
    public static BraidConfig load(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ConfigException(file.toString(), List.of("size: " + size + " bytes (expected: at most "
                        + MAX_FILE_BYTES + ")"), null);
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot read: " + e), e);
        }
        return parseFile(file, bytes);
    }

    /** Parses the content of {@code file}, already read; the notation follows the file's name as in {@link #load}. */
    static BraidConfig parseFile(Path file, byte[] bytes) {
        String context = file.toString();
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ConfigException(context, List.of("content: not UTF-8 (expected: UTF-8 text)"), e);
        }
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        Format format = name.endsWith(".json") ? Format.JSON
                : name.endsWith(".yaml") || name.endsWith(".yml") ? Format.YAML
                : detect(text);
        try {
            return parse(text, format);
        } catch (ConfigException e) {
            throw new ConfigException(context, e.errors(), e.getCause());
        }
    }

    /** The canonical JSON form: compact, keys in record order, nulls omitted. Equal configs give equal text. */
    public static String toJson(BraidConfig config) {
        try {
            return JSON.writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A YAML form for people: block style, keys in record order, nulls omitted. */
    public static String toYaml(BraidConfig config) {
        try {
            return YAML.writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Format detect(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\uFEFF' || Character.isWhitespace(c)) {
                continue;
            }
            return c == '{' || c == '[' ? Format.JSON : Format.YAML;
        }
        return Format.YAML;
    }

    static JsonNode readTree(String text, Format format) {
        ObjectMapper mapper = format == Format.JSON ? JSON : YAML;
        try {
            return mapper.readTree(text);
        } catch (JsonMappingException e) {
            throw new ConfigException(List.of(pathOf(e.getPath()) + ": " + firstLines(e.getOriginalMessage())
                    + at(e.getLocation())));
        } catch (JsonProcessingException e) {
            String path = e.getProcessor() instanceof JsonParser p ? pathOf(p.getParsingContext()) : "(root)";
            throw new ConfigException(List.of(path + ": syntax error" + at(e.getLocation()) + ": "
                    + firstLines(e.getOriginalMessage())));
        }
    }

    /** Checks the tree's shape against {@link BraidConfig}, then binds it. {@code root} prefixes every path. */
    static BraidConfig bind(JsonNode tree, String root) {
        JavaType type = JSON.constructType(BraidConfig.class);
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            throw new ConfigException(List.of(display(root) + ": empty document (expected: " + describe(type) + ")"));
        }
        List<String> errors = new ArrayList<>();
        check(tree, type, root, errors);
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        try {
            return JSON.treeToValue(tree, BraidConfig.class);
        } catch (JsonMappingException e) {
            // The shape check should have caught this; report it in the same form rather than fail obscurely.
            String path = pathOf(e.getPath());
            String full = root.isEmpty() ? path : path.equals("(root)") ? root : root + "." + path;
            throw new ConfigException(List.of(full + ": " + firstLines(e.getOriginalMessage())));
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new ConfigException(List.of(display(root) + ": " + e.getMessage()));
        }
    }

    private static void check(JsonNode node, JavaType type, String path, List<String> errors) {
        if (node.isNull()) {
            return;
        }
        Class<?> raw = type.getRawClass();
        if (raw == String.class) {
            if (!node.isTextual() && !node.isIntegralNumber()) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type)
                        + (node.isValueNode() ? "; quote it" : "") + ")");
            }
        } else if (raw == Integer.class || raw == int.class) {
            if (!node.isIntegralNumber() || !node.canConvertToInt()) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type) + ")");
            }
        } else if (raw == Long.class || raw == long.class) {
            if (!node.isIntegralNumber() || !node.canConvertToLong()) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type) + ")");
            }
        } else if (raw == Double.class || raw == double.class) {
            if (!node.isNumber() || !Double.isFinite(node.asDouble())) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type) + ")");
            }
        } else if (raw == Boolean.class || raw == boolean.class) {
            if (!node.isBoolean()) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type) + ")");
            }
        } else if (type.isCollectionLikeType()) {
            if (!node.isArray()) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type) + ")");
                return;
            }
            JavaType element = type.getContentType();
            for (int i = 0; i < node.size(); i++) {
                String at = path + "[" + i + "]";
                if (node.get(i).isNull()) {
                    errors.add(at + ": null (expected: " + describe(element) + ")");
                } else {
                    check(node.get(i), element, at, errors);
                }
            }
        } else if (type.isMapLikeType() && type.getKeyType().getRawClass() == String.class) {
            if (!node.isObject()) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type) + ")");
                return;
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                check(e.getValue(), type.getContentType(), join(path, e.getKey()), errors);
            }
        } else if (raw.isRecord()) {
            if (!node.isObject()) {
                errors.add(display(path) + ": " + show(node) + " (expected: " + describe(type) + ")");
                return;
            }
            Map<String, JavaType> properties = properties(type);
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JavaType propertyType = properties.get(e.getKey());
                if (propertyType == null) {
                    errors.add(join(path, e.getKey()) + ": unknown field (expected one of: "
                            + String.join(", ", properties.keySet()) + ")");
                } else {
                    check(e.getValue(), propertyType, join(path, e.getKey()), errors);
                }
            }
        } else {
            throw new IllegalStateException("configuration type " + type + " at " + display(path)
                    + " is not supported by the shape check");
        }
    }

    private static Map<String, JavaType> properties(JavaType type) {
        return PROPERTIES.computeIfAbsent(type.getRawClass(), c -> {
            BeanDescription description = JSON.getDeserializationConfig().introspect(type);
            Map<String, JavaType> map = new LinkedHashMap<>();
            for (BeanPropertyDefinition p : description.findProperties()) {
                if (p.couldDeserialize()) {
                    map.put(p.getName(), p.getPrimaryType());
                }
            }
            return Collections.unmodifiableMap(map);
        });
    }

    private static String describe(JavaType type) {
        Class<?> raw = type.getRawClass();
        if (raw == String.class) {
            return "string";
        } else if (raw == Integer.class || raw == int.class) {
            return "integer";
        } else if (raw == Long.class || raw == long.class) {
            return "integer (64-bit)";
        } else if (raw == Double.class || raw == double.class) {
            return "number";
        } else if (raw == Boolean.class || raw == boolean.class) {
            return "true or false";
        } else if (type.isCollectionLikeType()) {
            return "a list of " + plural(type.getContentType());
        } else if (type.isMapLikeType()) {
            return "a mapping of names to " + plural(type.getContentType());
        } else if (raw.isRecord()) {
            return "a mapping with keys " + String.join(", ", properties(type).keySet());
        }
        return raw.getSimpleName();
    }

    private static String plural(JavaType type) {
        Class<?> raw = type.getRawClass();
        if (raw == String.class) {
            return "strings";
        } else if (raw == Integer.class || raw == int.class || raw == Long.class || raw == long.class) {
            return "integers";
        } else if (raw.isRecord()) {
            return "mappings";
        }
        return describe(type);
    }

    private static String join(String path, String field) {
        // An empty key ("" in JSON, a bare "?" in YAML) would leave the reason without a path.
        String f = field.isEmpty() ? "\"\"" : field;
        return path.isEmpty() ? f : path + "." + f;
    }

    private static String display(String path) {
        return path.isEmpty() ? "(root)" : path;
    }

    private static String show(JsonNode node) {
        String s = node.toString();
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    private static String at(JsonLocation location) {
        if (location == null || location.getLineNr() <= 0) {
            return "";
        }
        return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }

    /** Jackson's message without its location echo; for YAML, snakeyaml's context lines are dropped. */
    private static String firstLines(String message) {
        if (message == null) {
            return "invalid document";
        }
        List<String> kept = new ArrayList<>();
        for (String line : message.split("\n")) {
            if (line.isBlank() || line.startsWith(" ")) {
                continue;
            }
            kept.add(line.strip());
        }
        return kept.isEmpty() ? message.strip() : String.join("; ", kept);
    }

    private static String pathOf(List<JsonMappingException.Reference> references) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : references) {
            if (r.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return display(sb.toString());
    }

    private static String pathOf(JsonStreamContext context) {
        List<String> parts = new ArrayList<>();
        for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
            if (c.inArray()) {
                parts.add(0, "[" + Math.max(0, c.getCurrentIndex()) + "]");
            } else if (c.inObject() && c.getCurrentName() != null) {
                parts.add(0, "." + c.getCurrentName());
            }
        }
        String path = String.join("", parts);
        return display(path.startsWith(".") ? path.substring(1) : path);
    }
}
