package dev.braid.managers;

import dev.braid.runtime.AdminServer.Response;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Properties;

/**
 * The ops console: one page ({@code GET /console}) with its script and style, and the chart
 * library, served from the class path. The library is Chart.js from its WebJar
 * ({@code org.webjars.npm:chart.js}), so the console works without reaching any other host. The
 * page reads and writes through the same admin API as {@code braid ctl}.
 */
final class Console {

    private static final String BASE = "/dev/braid/managers/console/";
    private static final String WEBJAR_POM = "/META-INF/maven/org.webjars.npm/chart.js/pom.properties";
    /** Where the page loads the chart library from. */
    static final String CHART_PATH = "/console/lib/chart.umd.js";

    private final Map<String, Response> assets;
    private final Response page;

    Console() {
        String chartVersion = webJarVersion();
        page = asset("text/html; charset=utf-8", BASE + "index.html");
        assets = Map.of(
                "/console/console.js", asset("text/javascript; charset=utf-8", BASE + "console.js"),
                "/console/console.css", asset("text/css; charset=utf-8", BASE + "console.css"),
                CHART_PATH, asset("text/javascript; charset=utf-8",
                        "/META-INF/resources/webjars/chart.js/" + chartVersion + "/dist/chart.umd.js"));
    }

    Response page() {
        return page;
    }

    Response asset(String path) {
        if (path.equals("/console/")) {
            return page;
        }
        Response r = assets.get(path);
        return r != null ? r : Response.text(404, "no such console resource: " + path + "\n");
    }

    private static String webJarVersion() {
        try (InputStream in = Console.class.getResourceAsStream(WEBJAR_POM)) {
            if (in == null) {
                throw new IllegalStateException("the Chart.js WebJar is not on the class path (" + WEBJAR_POM + ")");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Response asset(String contentType, String resource) {
        try (InputStream in = Console.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("console resource missing from the class path: " + resource);
            }
            return new Response(200, contentType, in.readAllBytes(), Map.of("Cache-Control", "no-cache"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
