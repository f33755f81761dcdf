package dev.braid.managers.config;

import java.util.List;

/**
 * One rule of a {@link RequestType}; every field that is set must match (null fields match anything).
 *
 * @param method     request method, e.g. {@code POST}
 * @param pathPrefix request path prefix, e.g. {@code /api/}
 * @param extensions file extensions of the path's last segment, lower case, without the dot
 *                   ({@code mp4}); compared without case
 * @param header     {@code Name} (the field is present) or {@code Name: value} (an element of
 *                   the field's comma-separated value starts with {@code value}, without case)
 */
public record TypeRule(String method, String pathPrefix, List<String> extensions, String header) {

    public TypeRule {
        extensions = extensions == null ? null : List.copyOf(extensions);
    }
}
