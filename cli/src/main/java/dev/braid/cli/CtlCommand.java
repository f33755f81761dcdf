package dev.braid.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.VersionedConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code braid ctl}: the operator's verbs over the managers' admin API — show and apply the
 * configuration, roll back, set a class weight, purge front-end caches, list nodes and links,
 * show the state and the audit log. Exit status: 0 done, 1 refused by the managers (their reasons
 * are printed), 2 unusable arguments, 3 managers unreachable.
 */
@Command(name = "ctl", mixinStandardHelpOptions = true,
        description = "Operate a running system through the managers' admin API.",
        subcommands = {CtlCommand.Config.class, CtlCommand.ClassWeight.class, CtlCommand.Purge.class,
                CtlCommand.NodeList.class, CtlCommand.Links.class, CtlCommand.State.class, CtlCommand.Audit.class})
final class CtlCommand implements Callable<Integer> {

    static final String MANAGERS_ENV = "BRAID_MANAGERS";

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--managers", paramLabel = "URL",
            description = "Managers' admin URL (default: $" + MANAGERS_ENV + ", else http://127.0.0.1:9180).")
    URI managers;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "File holding the managers' bearer token (default: $" + Nodes.TOKEN_ENV + ").")
    Path tokenFile;

    PrintStream out = System.out;
    PrintStream err = System.err;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() {
        err.println("braid ctl: a verb is needed: config, class-weight, purge, nodes, links, state or audit "
                + "(braid ctl --help)");
        return 2;
    }

    /** An answer from the managers, or the reason there is none. */
    private record Answer(int status, JsonNode body, String text) {
    }

    /** Thrown to end a verb with an exit status after its message is printed. */
    private static final class Exit extends RuntimeException {
        final int status;

        Exit(int status) {
            super(null, null, false, false);
            this.status = status;
        }
    }

    private URI base() {
        URI u = managers;
        if (u == null) {
            String env = System.getenv(MANAGERS_ENV);
            u = URI.create(env != null && !env.isBlank() ? env.strip() : "http://127.0.0.1:9180");
        }
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
            err.println("braid ctl: --managers: " + u + " (expected: http://host:port)");
            throw new Exit(2);
        }
        return URI.create(u.toString().replaceAll("/+$", ""));
    }

    private String token() {
        try {
            if (tokenFile != null) {
                return Files.readString(tokenFile).strip();
            }
        } catch (IOException e) {
            err.println("braid ctl: --token-file: " + tokenFile + ": " + e.getMessage());
            throw new Exit(2);
        }
        String env = System.getenv(Nodes.TOKEN_ENV);
        return env == null || env.isBlank() ? null : env.strip();
    }

    private Answer send(String method, String pathAndQuery, String body, String contentType) {
        URI uri = URI.create(base() + pathAndQuery);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(30))
                .header("Braid-Author", System.getProperty("user.name", "ctl"))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        String token = token();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            err.println("braid ctl: managers at " + base() + " unreachable: " + e);
            throw new Exit(3);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Exit(3);
        }
        JsonNode json = null;
        try {
            json = r.body().isEmpty() ? null : JSON.readTree(r.body());
        } catch (IOException e) {
            // Not JSON (a plain-text error from the admin endpoint): shown as text.
        }
        Answer a = new Answer(r.statusCode(), json, r.body());
        if (a.status() / 100 != 2) {
            err.println("braid ctl: " + method + " " + pathAndQuery + ": HTTP " + a.status());
            if (json != null && json.has("errors")) {
                json.get("errors").forEach(e -> err.println("  " + e.asText()));
            } else {
                err.println("  " + a.text().strip());
            }
            throw new Exit(1);
        }
        return a;
    }

    private int run(Runnable verb) {
        try {
            verb.run();
            return 0;
        } catch (Exit e) {
            return e.status;
        }
    }

    private void printJson(JsonNode n) {
        try {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void printVersion(JsonNode v) {
        out.println("version " + v.get("version").asLong() + " (sha256 " + v.get("sha256").asText().substring(0, 12)
                + "…, by " + v.get("author").asText() + ")" + (v.has("changed") && !v.get("changed").asBoolean()
                ? ": no change" : ""));
    }

    private static void table(PrintStream out, List<String> header, List<List<String>> rows) {
        int[] widths = new int[header.size()];
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        for (List<String> r : all) {
            for (int i = 0; i < r.size(); i++) {
                widths[i] = Math.max(widths[i], r.get(i).length());
            }
        }
        for (List<String> r : all) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                sb.append(String.format("%-" + widths[i] + "s", r.get(i)));
                if (i < r.size() - 1) {
                    sb.append("  ");
                }
            }
            out.println(sb.toString().stripTrailing());
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return "-";
        }
        if (v.isFloatingPointNumber()) {
            return String.format("%.2f", v.asDouble());
        }
        if (v.isArray()) {
            List<String> parts = new ArrayList<>();
            v.forEach(x -> parts.add(x.asText()));
            return parts.isEmpty() ? "-" : String.join(",", parts);
        }
        return v.asText();
    }

    @Command(name = "config", mixinStandardHelpOptions = true, description = "Show, apply or roll back the configuration.",
            subcommands = {Config.Show.class, Config.Apply.class, Config.History.class, Config.Rollback.class})
    static final class Config implements Callable<Integer> {
        @ParentCommand
        CtlCommand ctl;

        @Override
        public Integer call() {
            ctl.err.println("braid ctl config: show, apply, history or rollback (braid ctl config --help)");
            return 2;
        }

        @Command(name = "show", mixinStandardHelpOptions = true, description = "Print the current (or a kept) version.")
        static final class Show implements Callable<Integer> {
            @ParentCommand
            Config parent;

            @Option(names = "--yaml", description = "Print the configuration alone, as YAML.")
            boolean yaml;

            @Option(names = "--version", paramLabel = "N", description = "A kept version instead of the current one.")
            Long version;

            @Override
            public Integer call() {
                CtlCommand ctl = parent.ctl;
                return ctl.run(() -> {
                    Answer a = ctl.send("GET", version == null ? "/api/v1/config" : "/api/v1/config/versions/" + version,
                            null, null);
                    if (yaml) {
                        VersionedConfig v = VersionedConfig.parseJson(a.text());
                        ctl.out.print(ConfigLoader.toYaml(v.config()));
                    } else {
                        ctl.printJson(a.body());
                    }
                });
            }
        }

        @Command(name = "apply", mixinStandardHelpOptions = true,
                description = "Validate a configuration file locally, then make it the next version.")
        static final class Apply implements Callable<Integer> {
            @ParentCommand
            Config parent;

            @Parameters(paramLabel = "FILE", description = "The whole configuration, YAML or JSON.")
            Path file;

            @Override
            public Integer call() {
                CtlCommand ctl = parent.ctl;
                List<String> errors;
                try {
                    errors = ConfigValidator.validate(ConfigLoader.load(file));
                } catch (ConfigException e) {
                    errors = e.errors();
                }
                if (!errors.isEmpty()) {
                    ctl.err.println("braid ctl: " + file + " is not a valid configuration:");
                    errors.forEach(x -> ctl.err.println("  " + x));
                    return 2;
                }
                return ctl.run(() -> {
                    String text;
                    try {
                        text = Files.readString(file);
                    } catch (IOException e) {
                        ctl.err.println("braid ctl: " + file + ": " + e.getMessage());
                        throw new Exit(2);
                    }
                    String name = file.getFileName().toString();
                    String type = name.endsWith(".json") ? "application/json" : "application/yaml";
                    ctl.printVersion(ctl.send("PUT", "/api/v1/config", text, type).body());
                });
            }
        }

        @Command(name = "history", mixinStandardHelpOptions = true, description = "List the kept versions.")
        static final class History implements Callable<Integer> {
            @ParentCommand
            Config parent;

            @Override
            public Integer call() {
                CtlCommand ctl = parent.ctl;
                return ctl.run(() -> {
                    List<List<String>> rows = new ArrayList<>();
                    for (JsonNode v : ctl.send("GET", "/api/v1/config/history", null, null).body().get("versions")) {
                        rows.add(List.of(text(v, "version"), text(v, "appliedAt"), text(v, "author"),
                                v.get("sha256").asText().substring(0, 12)));
                    }
                    table(ctl.out, List.of("VERSION", "APPLIED", "BY", "SHA256"), rows);
                });
            }
        }

        @Command(name = "rollback", mixinStandardHelpOptions = true,
                description = "Make a kept version current again, as a new version.")
        static final class Rollback implements Callable<Integer> {
            @ParentCommand
            Config parent;

            @Parameters(paramLabel = "VERSION", description = "The kept version to return to.")
            long version;

            @Override
            public Integer call() {
                CtlCommand ctl = parent.ctl;
                return ctl.run(() -> ctl.printVersion(ctl.send("POST", "/api/v1/config/rollback",
                        "{\"version\":" + version + "}", "application/json").body()));
            }
        }
    }

    @Command(name = "class-weight", mixinStandardHelpOptions = true,
            description = "Set a client class's blend weight (and that of the classes sharing its ring).")
    static final class ClassWeight implements Callable<Integer> {
        @ParentCommand
        CtlCommand ctl;

        @Parameters(index = "0", paramLabel = "CLASS")
        String name;

        @Parameters(index = "1", paramLabel = "WEIGHT", description = "1..1000")
        int weight;

        @Override
        public Integer call() {
            return ctl.run(() -> ctl.printVersion(ctl.send("PUT",
                    "/api/v1/classes/" + URLEncoder.encode(name, StandardCharsets.UTF_8) + "/weight",
                    "{\"weight\":" + weight + "}", "application/json").body()));
        }
    }

    @Command(name = "purge", mixinStandardHelpOptions = true,
            description = "Purge front-end caches; the request is forwarded to each front-end's admin endpoint.")
    static final class Purge implements Callable<Integer> {
        @ParentCommand
        CtlCommand ctl;

        @Option(names = "--front-end", paramLabel = "NAME", description = "Only this front-end (repeatable; default: all).")
        List<String> frontEnds = new ArrayList<>();

        @Option(names = "--request", paramLabel = "JSON", defaultValue = "{}",
                description = "The purge request the front-ends take, as JSON (default: {}).")
        String request;

        @Override
        public Integer call() {
            try {
                JSON.readTree(request);
            } catch (IOException e) {
                ctl.err.println("braid ctl: --request: not JSON (expected: a JSON object such as {\"prefix\":\"/img/\"})");
                return 2;
            }
            StringBuilder q = new StringBuilder();
            for (String fe : frontEnds) {
                q.append(q.length() == 0 ? "?" : "&").append("frontEnd=").append(URLEncoder.encode(fe, StandardCharsets.UTF_8));
            }
            return ctl.run(() -> {
                JsonNode body = ctl.send("POST", "/api/v1/cache/purge" + q, request, "application/json").body();
                List<List<String>> rows = new ArrayList<>();
                for (JsonNode fe : body.get("frontEnds")) {
                    rows.add(List.of(text(fe, "name"), text(fe, "status"), fe.has("error") ? text(fe, "error")
                            : fe.has("body") ? fe.get("body").toString() : "-"));
                }
                table(ctl.out, List.of("FRONT-END", "STATUS", "ANSWER"), rows);
            });
        }
    }

    @Command(name = "nodes", mixinStandardHelpOptions = true, description = "List nodes: status, health, load, version.")
    static final class NodeList implements Callable<Integer> {
        @ParentCommand
        CtlCommand ctl;

        @Override
        public Integer call() {
            return ctl.run(() -> {
                JsonNode body = ctl.send("GET", "/api/v1/nodes", null, null).body();
                List<List<String>> rows = new ArrayList<>();
                for (JsonNode n : body.get("nodes")) {
                    JsonNode refused = n.get("refused");
                    rows.add(List.of(text(n, "role"), text(n, "name"), text(n, "status"), text(n, "health"),
                            text(n, "load"), text(n, "configVersion"), text(n, "sites"),
                            refused == null || refused.isNull() ? "-"
                                    : "v" + refused.get("version").asLong() + ": " + refused.get("reason").asText()));
                }
                table(ctl.out, List.of("ROLE", "NAME", "STATUS", "HEALTH", "LOAD", "VERSION", "SITES", "REFUSED"), rows);
                ctl.out.println("configuration version " + body.get("configVersion").asLong());
            });
        }
    }

    @Command(name = "links", mixinStandardHelpOptions = true, description = "List TMP links and their quality.")
    static final class Links implements Callable<Integer> {
        @ParentCommand
        CtlCommand ctl;

        @Override
        public Integer call() {
            return ctl.run(() -> {
                List<List<String>> rows = new ArrayList<>();
                for (JsonNode l : ctl.send("GET", "/api/v1/links", null, null).body().get("links")) {
                    rows.add(List.of(text(l, "node"), text(l, "peer"), text(l, "up"), text(l, "carrier"),
                            text(l, "rttMs"), text(l, "lossRate"), text(l, "windowPackets"), text(l, "streams"),
                            text(l, "sentBytesPerSecond")));
                }
                table(ctl.out, List.of("NODE", "PEER", "UP", "CARRIER", "RTT_MS", "LOSS", "WINDOW", "STREAMS", "SENT_B/S"),
                        rows);
            });
        }
    }

    @Command(name = "state", mixinStandardHelpOptions = true, description = "Print the state snapshot (JSON).")
    static final class State implements Callable<Integer> {
        @ParentCommand
        CtlCommand ctl;

        @Override
        public Integer call() {
            return ctl.run(() -> ctl.printJson(ctl.send("GET", "/api/v1/state", null, null).body()));
        }
    }

    @Command(name = "audit", mixinStandardHelpOptions = true, description = "Print the audit log, oldest first.")
    static final class Audit implements Callable<Integer> {
        @ParentCommand
        CtlCommand ctl;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "Most recent entries (default: 50).")
        int limit;

        @Override
        public Integer call() {
            return ctl.run(() -> {
                List<List<String>> rows = new ArrayList<>();
                for (JsonNode e : ctl.send("GET", "/api/v1/audit?limit=" + limit, null, null).body().get("entries")) {
                    rows.add(List.of(text(e, "at"), text(e, "who"), text(e, "action"),
                            text(e, "fromVersion") + "->" + text(e, "toVersion"), text(e, "detail")));
                }
                table(ctl.out, List.of("AT", "WHO", "ACTION", "VERSIONS", "DETAIL"), rows);
            });
        }
    }
}
