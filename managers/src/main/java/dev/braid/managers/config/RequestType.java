package dev.braid.managers.config;

import java.util.List;

/**
 * A kind of request that loads an origin differently (the seed's static pages, dynamic pages,
 * database queries and multimedia): what it costs, and which requests are of it.
 *
 * @param name   names the type in origin capabilities ({@link Origin#types()}), logs and metrics
 * @param cost   load one request of this type puts on an origin, relative to the others (default 1)
 * @param spread whether a request of this type prefers an origin with none of its type in flight
 *               (default false; true for media by default)
 * @param rules  a request is of this type when any rule matches; a type without rules matches
 *               every request (put it last)
 */
public record RequestType(String name, Integer cost, Boolean spread, List<TypeRule> rules) {

    public static final int MAX_COST = 1000;

    /**
     * The default types: {@code media} (cost 16, spread) by extension, {@code static} (cost 1) by
     * extension, {@code query} (cost 8) by API and search paths, and {@code page} (cost 4) for the rest.
     */
    public static final List<RequestType> DEFAULTS = List.of(
            new RequestType("media", 16, true, List.of(new TypeRule(null, null, List.of(
                    "mp4", "m4v", "m4a", "webm", "mkv", "mov", "avi", "mp3", "ogg", "oga", "flac", "wav", "ts",
                    "m4s"), null))),
            new RequestType("static", 1, false, List.of(new TypeRule(null, null, List.of(
                    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico", "woff",
                    "woff2", "ttf", "otf", "txt", "xml", "pdf"), null))),
            new RequestType("query", 8, false, List.of(
                    new TypeRule(null, "/api/", null, null),
                    new TypeRule(null, "/search", null, null),
                    new TypeRule(null, "/graphql", null, null))),
            new RequestType("page", 4, false, List.of()));

    public RequestType {
        cost = cost == null ? 1 : cost;
        spread = spread == null ? Boolean.FALSE : spread;
        rules = rules == null ? List.of() : List.copyOf(rules);
    }
}
