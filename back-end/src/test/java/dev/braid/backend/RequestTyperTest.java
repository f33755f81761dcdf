package dev.braid.backend;

import dev.braid.managers.config.RequestType;
import dev.braid.managers.config.TypeRule;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RequestTyperTest {

    private static final HttpHeaders NONE = new DefaultHttpHeaders();
    private final RequestTyper defaults = new RequestTyper(RequestType.DEFAULTS);

    private String type(RequestTyper t, String method, String uri, HttpHeaders headers) {
        return t.type(method, uri, headers).name();
    }

    @Test
    void defaultTypesByExtensionAndPath() {
        assertEquals("media", type(defaults, "GET", "/v/clip.MP4?t=10", NONE));
        assertEquals("static", type(defaults, "GET", "/assets/app.js", NONE));
        assertEquals("static", type(defaults, "HEAD", "/logo.png#x", NONE));
        assertEquals("query", type(defaults, "POST", "/api/cart", NONE));
        assertEquals("query", type(defaults, "GET", "/search?q=shoes", NONE));
        assertEquals("page", type(defaults, "GET", "/", NONE));
        assertEquals("page", type(defaults, "GET", "/product/42", NONE));
        assertEquals("page", type(defaults, "GET", "/dir.d/", NONE), "a dot in a directory is no extension");
        assertEquals("static", type(defaults, "GET", "http://www.shop.example/a.css", NONE), "absolute form");
        assertEquals(16, defaults.type("GET", "/a.webm", NONE).cost());
    }

    @Test
    void rulesOverMethodPathExtensionAndHeaders() {
        RequestTyper t = new RequestTyper(List.of(
                new RequestType("media", 16, true, List.of(new TypeRule(null, null, null, "Accept: video/"),
                        new TypeRule(null, null, null, "Range"))),
                new RequestType("query", 8, false, List.of(new TypeRule("POST", "/api/", null, null))),
                new RequestType("static", 1, false, List.of(new TypeRule("GET", null, List.of("css"), null))),
                new RequestType("page", 4, false, List.of(new TypeRule(null, "/p/", null, null)))));
        HttpHeaders video = new DefaultHttpHeaders().add("Accept", "text/html, Video/MP4;q=0.9");
        assertEquals("media", type(t, "GET", "/watch", video));
        assertEquals("media", type(t, "GET", "/x", new DefaultHttpHeaders().add("Range", "bytes=0-")));
        assertEquals("query", type(t, "POST", "/api/x", NONE));
        assertEquals("page", type(t, "GET", "/api/x", NONE), "every field of a rule must match; the last type is the fallback");
        assertEquals("static", type(t, "GET", "/a.css;v=2", NONE));
        assertEquals("page", type(t, "POST", "/a.css", NONE));
    }

    @Test
    void pathsAndExtensions() {
        assertEquals("/a/b", RequestTyper.path("/a/b?c#d"));
        assertEquals("/", RequestTyper.path("https://h.example"));
        assertEquals("mp4", RequestTyper.extension("/x/y.tar.MP4"));
        assertNull(RequestTyper.extension("/x/y."));
        assertNull(RequestTyper.extension("/x.y/z"));
        assertThrows(IllegalArgumentException.class, () -> new RequestTyper(List.of()));
    }
}
