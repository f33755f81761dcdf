package dev.braid.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.VersionedConfig;
import dev.braid.managers.pki.AuthorityEntry;
import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.CertificateEntry;
import dev.braid.managers.pki.IssuedFiles;
import dev.braid.managers.pki.NodeRole;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code braid keys}: the Braid certificate authority from the command line (see
 * {@code docs/security.md}). Every verb works on a CA directory ({@code --ca}, default
 * {@code $BRAID_CA_DIR} or {@code ./braid-ca}). Exit status: 0 done, 1 failed, 2 bad arguments.
 */
@Command(name = "keys", mixinStandardHelpOptions = true,
        description = "Node keys and certificates: the Braid certificate authority.",
        subcommands = {KeysCommand.Init.class, KeysCommand.Issue.class, KeysCommand.Revoke.class, KeysCommand.ListCommand.class,
                KeysCommand.Rotate.class, KeysCommand.Retire.class, KeysCommand.Crl.class, KeysCommand.Publish.class})
final class KeysCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** What every verb shares: the CA directory, the clock, where output goes, and error handling. */
    abstract static class Verb implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--ca", paramLabel = "DIR", defaultValue = "${env:BRAID_CA_DIR:-braid-ca}",
                description = "CA directory (default: $BRAID_CA_DIR, else ./braid-ca).")
        Path ca;

        Clock clock = Clock.systemUTC();

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        PrintWriter err() {
            return spec.commandLine().getErr();
        }

        @Override
        public final Integer call() {
            try {
                return run();
            } catch (IllegalArgumentException e) {
                err().println("braid keys " + spec.name() + ": " + e.getMessage());
                return 2;
            } catch (IOException | IllegalStateException | ConfigException e) {
                err().println("braid keys " + spec.name() + ": " + e.getMessage());
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }

        abstract int run() throws IOException, InterruptedException;

        CertificateAuthority open() throws IOException {
            return CertificateAuthority.open(ca, clock);
        }

        static Duration days(int days) {
            if (days < 1) {
                throw new IllegalArgumentException("--days: " + days + " (expected: >= 1)");
            }
            return Duration.ofDays(days);
        }
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Create the CA: an EC P-256 key (mode 0600) and a self-signed certificate.")
    static final class Init extends Verb {
        @Option(names = "--name", paramLabel = "CN", description = "The CA certificate's common name (default: Braid CA 1).")
        String name;

        @Option(names = "--days", paramLabel = "N", defaultValue = "3650", description = "Validity in days (default: 3650).")
        int days;

        @Override
        int run() throws IOException {
            try (CertificateAuthority authority = CertificateAuthority.init(ca, name, days(days), clock)) {
                AuthorityEntry a = authority.currentAuthority();
                out().println("created CA " + a.id() + " (" + a.subject() + ") in " + ca + ", valid until "
                        + a.notAfter().truncatedTo(ChronoUnit.SECONDS));
                out().println("trust bundle for every node: " + authority.trustBundle());
            }
            return 0;
        }
    }

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = "Issue a key and certificate for a node; issuing again for the same name renews it.")
    static final class Issue extends Verb {
        @Option(names = "--role", required = true, paramLabel = "ROLE",
                description = "front-end, back-end, redirector or manager.")
        String role;

        @Option(names = "--name", required = true, paramLabel = "ID", description = "The node's name in the configuration.")
        String name;

        @Option(names = "--days", paramLabel = "N", defaultValue = "90", description = "Validity in days (default: 90).")
        int days;

        @Option(names = "--out", paramLabel = "DIR",
                description = "Where to write <name>.key, <name>.crt and trust.pem (default: <ca>/nodes).")
        Path outDir;

        @Override
        int run() throws IOException {
            NodeRole r = NodeRole.parse(role);
            try (CertificateAuthority authority = open()) {
                IssuedFiles files = authority.issue(r, name, days(days), outDir != null ? outDir : ca.resolve("nodes"));
                CertificateEntry e = files.entry();
                out().println("issued " + e.role().label() + " " + e.name() + ": serial " + e.serialHex() + ", CA "
                        + e.authority() + ", valid until " + e.notAfter().truncatedTo(ChronoUnit.SECONDS));
                out().println("  key          " + files.key() + " (mode 0600)");
                out().println("  UDP key      " + files.key().resolveSibling(e.name() + CertificateAuthority.TMP_KEY_SUFFIX)
                        + " (X25519, mode 0600)");
                out().println("  certificate  " + files.certificate());
                out().println("  trust bundle " + files.trustBundle());
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke a node's certificates (by node name) or one certificate (by serial); "
                    + "then run braid keys publish so that nodes learn it.")
    static final class Revoke extends Verb {
        @Parameters(paramLabel = "ID", description = "A node name, or a certificate serial number in hex.")
        String id;

        @Option(names = "--reason", paramLabel = "REASON", description = "unspecified (default), keyCompromise, "
                + "affiliationChanged, superseded or cessationOfOperation.")
        String reason;

        @Override
        int run() throws IOException {
            try (CertificateAuthority authority = open()) {
                List<CertificateEntry> revoked = authority.revoke(id, reason);
                if (revoked.isEmpty()) {
                    out().println("nothing to revoke: every certificate " + id + " names is revoked or expired already");
                }
                for (CertificateEntry e : revoked) {
                    out().println("revoked " + e.role().label() + " " + e.name() + " serial " + e.serialHex()
                            + " (" + e.reason() + ")");
                }
                if (!revoked.isEmpty()) {
                    out().println("CRLs signed anew; braid keys publish --managers URL distributes them");
                }
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the CAs and the certificates issued.")
    static final class ListCommand extends Verb {
        @Override
        int run() throws IOException {
            Instant now = clock.instant();
            try (CertificateAuthority authority = open()) {
                int current = authority.currentAuthority().id();
                out().printf("%-4s %-10s %-22s %s%n", "CA", "STATUS", "NOT AFTER", "SUBJECT");
                for (AuthorityEntry a : authority.authorities()) {
                    String status = a.id() == current ? "current" : a.isRetired() ? "retired" : "trusted";
                    out().printf("%-4d %-10s %-22s %s%n", a.id(), status, a.notAfter().truncatedTo(ChronoUnit.SECONDS),
                            a.subject());
                }
                out().println();
                out().printf("%-32s %-11s %-20s %-3s %-22s %s%n", "SERIAL", "ROLE", "NAME", "CA", "NOT AFTER", "STATUS");
                for (CertificateEntry e : authority.certificates()) {
                    String status = e.status(now);
                    if (status.equals("valid") && renewalDue(e, now)) {
                        status = "valid, renew soon";
                    }
                    out().printf("%-32s %-11s %-20s %-3d %-22s %s%n", e.serialHex(), e.role().label(), e.name(),
                            e.authority(), e.notAfter().truncatedTo(ChronoUnit.SECONDS), status);
                }
            }
            return 0;
        }

        /** In the last third of its validity: the usual point to renew. */
        private static boolean renewalDue(CertificateEntry e, Instant now) {
            Duration total = Duration.between(e.notBefore(), e.notAfter());
            return Duration.between(now, e.notAfter()).compareTo(total.dividedBy(3)) < 0;
        }
    }

    @Command(name = "rotate", mixinStandardHelpOptions = true,
            description = "Start a CA rotation: a new CA issues from now on; the old stays trusted until retired.")
    static final class Rotate extends Verb {
        @Option(names = "--name", paramLabel = "CN", description = "The new CA's common name (default: Braid CA <n>).")
        String name;

        @Option(names = "--days", paramLabel = "N", defaultValue = "3650", description = "Validity in days (default: 3650).")
        int days;

        @Override
        int run() throws IOException {
            try (CertificateAuthority authority = open()) {
                AuthorityEntry a = authority.rotate(name, days(days));
                out().println("CA " + a.id() + " (" + a.subject() + ") now issues; trust bundle " + authority.trustBundle()
                        + " holds every CA not retired");
                out().println("next: copy the trust bundle to every node, issue every node anew, then braid keys retire");
            }
            return 0;
        }
    }

    @Command(name = "retire", mixinStandardHelpOptions = true,
            description = "End a CA rotation: stop trusting old CAs and delete their keys.")
    static final class Retire extends Verb {
        @Option(names = "--id", paramLabel = "N", description = "The CA to retire (default: every CA but the current one).")
        Integer id;

        @Option(names = "--force", description = "Retire even while certificates it issued are still valid.")
        boolean force;

        @Override
        int run() throws IOException {
            try (CertificateAuthority authority = open()) {
                List<AuthorityEntry> retired = authority.retire(id, force);
                if (retired.isEmpty()) {
                    out().println("no CA to retire");
                }
                for (AuthorityEntry a : retired) {
                    out().println("retired CA " + a.id() + " (" + a.subject() + "); copy " + authority.trustBundle()
                            + " to every node");
                }
            }
            return 0;
        }
    }

    @Command(name = "crl", mixinStandardHelpOptions = true,
            description = "Print the CRLs as the pki.crls section of a configuration (YAML).")
    static final class Crl extends Verb {
        @Option(names = "--refresh", description = "Sign every CRL anew first (a new CRL number and next update).")
        boolean refresh;

        @Override
        int run() throws IOException {
            try (CertificateAuthority authority = open()) {
                if (refresh) {
                    authority.refreshCrls();
                }
                out().println("pki:");
                out().println("  crls:");
                for (String crl : authority.crls()) {
                    out().println("    - |");
                    for (String line : crl.strip().split("\n")) {
                        out().println("      " + line);
                    }
                }
            }
            return 0;
        }
    }

    @Command(name = "publish", mixinStandardHelpOptions = true,
            description = "Put the current CRLs into the managers' configuration (pki.crls), as a new version "
                    + "every node picks up. The write is conditional on the version read (If-Match): a change "
                    + "made by someone else in between is never overwritten; the CRLs are applied to the newer "
                    + "version instead, up to --attempts times.")
    static final class Publish extends Verb {
        /** Pause before re-reading after a conflict, doubled each time. */
        static final Duration FIRST_RETRY_PAUSE = Duration.ofMillis(100);

        @Option(names = "--managers", required = true, paramLabel = "URL", description = "e.g. http://127.0.0.1:9180")
        URI managers;

        @Option(names = "--token-file", paramLabel = "FILE", description = "File holding the managers' bearer token.")
        Path tokenFile;

        @Option(names = "--attempts", paramLabel = "N", defaultValue = "5",
                description = "Read-modify-write rounds before giving up when others keep changing the configuration "
                        + "(default: 5).")
        int attempts;

        @Override
        int run() throws IOException, InterruptedException {
            if (attempts < 1 || attempts > 100) {
                throw new IllegalArgumentException("--attempts: " + attempts + " (expected: 1..100)");
            }
            List<String> crls;
            try (CertificateAuthority authority = open()) {
                crls = authority.crls();
            }
            String base = managers.toString().replaceAll("/+$", "");
            String token = tokenFile == null ? null : Files.readString(tokenFile).strip();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            Duration pause = FIRST_RETRY_PAUSE;
            List<Long> conflicts = new java.util.ArrayList<>();
            for (int attempt = 1; ; attempt++) {
                HttpResponse<String> got = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/config"))
                        .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (got.statusCode() != 200) {
                    throw new IOException(base + ": GET /api/v1/config answered " + got.statusCode() + ": " + got.body());
                }
                VersionedConfig current = VersionedConfig.parseJson(got.body());
                if (current.version() == 0) {
                    throw new IOException(base + ": the managers hold no configuration yet (expected: version >= 1)");
                }
                BraidConfig next = current.config().withPki(current.config().pki().withCrls(crls));
                HttpRequest.Builder put = HttpRequest.newBuilder(URI.create(base + "/api/v1/config"))
                        .timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/json")
                        .header("Braid-Author", "braid-keys")
                        // Only onto the version just read: a change made meanwhile is never overwritten.
                        .header("If-Match", "\"" + current.version() + "\"")
                        .PUT(HttpRequest.BodyPublishers.ofString(ConfigLoader.toJson(next), StandardCharsets.UTF_8));
                if (token != null) {
                    put.header("Authorization", "Bearer " + token);
                }
                HttpResponse<String> answer = http.send(put.build(), HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() == 200) {
                    JsonNode result = new ObjectMapper().readTree(answer.body());
                    out().println(result.path("changed").asBoolean()
                            ? "published " + crls.size() + " CRL(s) as configuration version " + result.path("version").asLong()
                            : "the configuration already carries these CRLs (version " + result.path("version").asLong() + ")");
                    return 0;
                }
                if (answer.statusCode() != 412 && answer.statusCode() != 409) {
                    throw new IOException(base + ": PUT /api/v1/config answered " + answer.statusCode() + ": "
                            + answer.body());
                }
                conflicts.add(current.version());
                if (attempt >= attempts) {
                    throw new IOException(base + ": the configuration changed while publishing, " + attempt
                            + " time(s) in a row (read versions " + conflicts + "); nothing was published: run "
                            + "braid keys publish again once the other changes are done, or raise --attempts");
                }
                err().println("braid keys publish: configuration version " + current.version()
                        + " changed while publishing; reading it again (" + answer.body().strip() + ")");
                Thread.sleep(pause.toMillis());
                pause = pause.multipliedBy(2);
            }
        }
    }
}
