package dev.braid.cli;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.PkiSettings;
import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The demo's PKI, the one place that makes it: a Braid CA in a fresh temporary directory and a key
 * and certificate for every front-end and back-end the demo runs, issued by the same
 * {@link CertificateAuthority} as {@code braid keys}. {@link #pki()} points a configuration's
 * {@code pki} at the files, so the demo's nodes find their identities exactly as installed nodes
 * do; {@link #close()} deletes the directory with the keys in it.
 *
 * <p>Layout: {@code <dir>/ca/} (the CA, as {@code braid keys init} makes it) and
 * {@code <dir>/nodes/} ({@code <name>.key}, {@code <name>.crt}, {@code trust.pem}).
 */
public final class DemoPki implements AutoCloseable {

    /** How long the demo's certificates last: long enough for any demo, short enough to be obviously a demo's. */
    static final Duration VALIDITY = Duration.ofDays(7);

    private final Path dir;
    private final Path nodes;
    private final Path caDir;
    private final PkiSettings pki;

    private DemoPki(Path dir, Map<NodeRole, List<String>> nodesByRole) throws IOException {
        this.dir = dir;
        this.nodes = dir.resolve("nodes");
        this.caDir = dir.resolve("ca");
        try (CertificateAuthority ca = CertificateAuthority.init(caDir, "Braid demo CA", Duration.ofDays(30),
                Clock.systemUTC())) {
            for (Map.Entry<NodeRole, List<String>> e : nodesByRole.entrySet()) {
                for (String name : e.getValue()) {
                    ca.issue(e.getKey(), name, VALIDITY, nodes);
                }
            }
            this.pki = new PkiSettings(nodes.resolve("trust.pem").toString(), nodes.resolve("{name}.crt").toString(),
                    nodes.resolve("{name}.key").toString(), ca.crls(), null);
        }
    }

    /**
     * Makes a CA in a new temporary directory and issues the front-ends and back-ends of
     * {@code config} (by name) a key and certificate each.
     */
    public static DemoPki create(BraidConfig config) throws IOException {
        Path dir = Files.createTempDirectory("braid-demo-pki-");
        try {
            return new DemoPki(dir, Map.of(
                    NodeRole.FRONT_END, config.frontEnds().stream().map(n -> n.name()).toList(),
                    NodeRole.BACK_END, config.backEnds().stream().map(n -> n.name()).toList()));
        } catch (IOException | RuntimeException e) {
            delete(dir);
            throw e;
        }
    }

    /** The {@code pki} section that names these files (with {@code {name}}) and carries the CA's CRLs. */
    public PkiSettings pki() {
        return pki;
    }

    /** {@code config} with its {@code pki} pointing here. */
    public BraidConfig applyTo(BraidConfig config) {
        return config.withPki(pki);
    }

    /** The CA's directory, for {@code braid keys --ca DIR} while the demo runs. */
    public Path caDirectory() {
        return caDir;
    }

    /** Where the node keys, certificates and the trust bundle are. */
    public Path nodesDirectory() {
        return nodes;
    }

    /** Deletes the CA and every key. */
    @Override
    public void close() {
        delete(dir);
    }

    private static void delete(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("deleting the demo PKI in " + dir, e);
        }
    }
}
