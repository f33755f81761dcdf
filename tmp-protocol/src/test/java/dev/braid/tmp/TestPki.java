package dev.braid.tmp;

import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import dev.braid.tmp.security.NodeIdentity;
import dev.braid.tmp.security.PeerIdentity;
import dev.braid.tmp.security.PeerVerifier;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Set;

/**
 * Node keys for tests of the encrypted UDP carrier, minted by the real certificate authority in a
 * temporary directory: {@code fe}, {@code be} and {@code be-2} of the Braid CA, {@code fe-expired}
 * (issued by the same CA a year ago for 10 days), {@code fe-revoked} (on the CA's CRL, which the
 * verifiers hold), {@code fe-stranger} of another CA, and {@code rd} (a redirector).
 */
final class TestPki {

    final Path dir;
    final Path nodes;
    final Path strangers;

    private TestPki(Path dir) {
        this.dir = dir;
        this.nodes = dir.resolve("nodes");
        this.strangers = dir.resolve("strangers");
    }

    static TestPki create(Path dir) throws IOException {
        TestPki pki = new TestPki(dir);
        Clock yearAgo = Clock.fixed(Instant.now().minus(Duration.ofDays(365)), ZoneOffset.UTC);
        try (CertificateAuthority old = CertificateAuthority.init(dir.resolve("ca"), null, Duration.ofDays(3650), yearAgo)) {
            old.issue(NodeRole.FRONT_END, "fe-expired", Duration.ofDays(10), pki.nodes);
        }
        try (CertificateAuthority ca = CertificateAuthority.open(dir.resolve("ca"), Clock.systemUTC())) {
            ca.issue(NodeRole.FRONT_END, "fe", Duration.ofDays(90), pki.nodes);
            ca.issue(NodeRole.BACK_END, "be", Duration.ofDays(90), pki.nodes);
            ca.issue(NodeRole.BACK_END, "be-2", Duration.ofDays(90), pki.nodes);
            ca.issue(NodeRole.REDIRECTOR, "rd", Duration.ofDays(90), pki.nodes);
            ca.issue(NodeRole.FRONT_END, "fe-revoked", Duration.ofDays(90), pki.nodes);
            ca.revoke("fe-revoked", null);
            Files.writeString(dir.resolve("crls.txt"), String.join("\n====\n", ca.crls()));
        }
        try (CertificateAuthority other = CertificateAuthority.init(dir.resolve("other-ca"), null, Duration.ofDays(3650),
                Clock.systemUTC())) {
            other.issue(NodeRole.FRONT_END, "fe-stranger", Duration.ofDays(90), pki.strangers);
        }
        return pki;
    }

    PeerVerifier verifier(String acceptedRole) {
        try {
            PeerVerifier v = PeerVerifier.load(nodes.resolve("trust.pem"), Set.of(acceptedRole), Clock.systemUTC());
            v.updateCrls(java.util.List.of(Files.readString(dir.resolve("crls.txt")).split("\n====\n")));
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    NodeIdentity identity(String name) {
        Path d = name.equals("fe-stranger") ? strangers : nodes;
        try {
            return NodeIdentity.load(d.resolve(name + ".crt"), d.resolve(name + ".key"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    X509Certificate certificate(String name) {
        return identity(name).current().certificate();
    }

    /** The security of a back-end named {@code name}: accepts front-ends. */
    UdpSecurity responder(String name) {
        try {
            return UdpSecurity.load(identity(name), verifier(PeerIdentity.FRONT_END));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The security of front-end {@code name} (any certificate, even a bad one) towards back-end {@code backEnd}. */
    UdpSecurity initiator(String name, String backEnd) throws Exception {
        return UdpSecurity.load(identity(name), verifier(PeerIdentity.BACK_END)).towards(backEnd, certificate(backEnd));
    }

    /**
     * Issues {@code name} again, as {@code braid keys issue} renews a node: new EC and X25519 keys and a
     * certificate valid for {@code validity} from {@code at}, written over the node's files in
     * {@code outDir} (the node directory when null).
     */
    void renew(NodeRole role, String name, Clock at, Duration validity, Path outDir) throws IOException {
        try (CertificateAuthority ca = CertificateAuthority.open(dir.resolve("ca"), at)) {
            ca.issue(role, name, validity, outDir == null ? nodes : outDir);
        }
    }

    /** {@link #renew} now, for 90 days, into the node directory. */
    void renew(NodeRole role, String name) throws IOException {
        renew(role, name, Clock.systemUTC(), Duration.ofDays(90), null);
    }

    /** Revokes {@code name}'s certificates and returns the CA's CRLs, as the configuration would carry them. */
    java.util.List<String> revoke(String name) throws IOException {
        try (CertificateAuthority ca = CertificateAuthority.open(dir.resolve("ca"), Clock.systemUTC())) {
            ca.revoke(name, null);
            Files.writeString(dir.resolve("crls.txt"), String.join("\n====\n", ca.crls()));
            return ca.crls();
        }
    }

    static LinkSettings with(LinkSettings s, UdpSecurity security) {
        return s.withDatagram(s.datagram().withSecurity(security));
    }
}
