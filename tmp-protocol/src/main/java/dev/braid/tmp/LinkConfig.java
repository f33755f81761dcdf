package dev.braid.tmp;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.CertificateFiles;
import dev.braid.managers.config.PkiSettings;
import dev.braid.managers.config.TmpSettings;
import dev.braid.runtime.Metrics;
import dev.braid.tmp.security.LinkTls;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What a node's configuration means for its TMP links, in one place for both ends: the link
 * settings of {@code tmp}, and the node's security on each carrier from {@code pki} and
 * {@code tmp.security}. Front-end and back-end differ only in their role and the role they accept.
 */
public final class LinkConfig {

    private LinkConfig() {
    }

    /** The link settings {@code tmp} asks for (without the UDP carrier's security). */
    public static LinkSettings linkSettings(BraidConfig config) {
        TmpSettings tmp = config.tmp();
        LinkSettings s = LinkSettings.of(tmp.packetBytes(), tmp.subPacketBytes(), tmp.blenderPolicy(),
                config.ringWeights(), tmp.rateLimitMbps(), tmp.carrier(), tmp.congestionControl());
        return s.withDatagram(s.datagram().withDeadPeerTimeout(Duration.ofMillis(tmp.deadPeerTimeoutMillis())));
    }

    /** {@code tmp.security: plaintext}: TMP links in clear text on both carriers, identity or not. */
    public static boolean plainTextByChoice(BraidConfig config) {
        return UdpSecurity.Mode.parse(config.tmp().security()) == UdpSecurity.Mode.PLAINTEXT;
    }

    /**
     * The UDP carrier's security of node {@code name} in {@code role}, accepting peers in
     * {@code acceptedRole}, as {@code tmp.security} asks; null for plain text. {@code required}
     * without the node's files fails here, with the file it looked for. Its files are checked
     * every {@code pki.reloadCheckSeconds} until {@link UdpSecurity#close}.
     */
    public static UdpSecurity udpSecurity(BraidConfig config, String role, String name, String acceptedRole) {
        CertificateFiles files = config.pki().identityOf(role, name);
        TmpSettings tmp = config.tmp();
        try {
            UdpSecurity s = UdpSecurity.forNode(UdpSecurity.Mode.parse(tmp.security()), role, name,
                    Path.of(files.certificate()), Path.of(files.key()), Path.of(config.pki().trustBundle()),
                    config.pki().crls(), acceptedRole, tmp.keyUpdatePackets(), Duration.ofSeconds(tmp.keyUpdateSeconds()));
            if (s != null) {
                s.checkEvery(Duration.ofSeconds(config.pki().reloadCheckSeconds()));
            }
            return s;
        } catch (IOException e) {
            throw new IllegalArgumentException("pki: " + e.getMessage(), e);
        }
    }

    /** The TCP carrier's TLS of node {@code name} in {@code role}; null in clear text (by choice or without a certificate). */
    public static LinkTls linkTls(BraidConfig config, String role, String name, Metrics metrics) {
        if (plainTextByChoice(config)) {
            return null;
        }
        PkiSettings pki = config.pki();
        CertificateFiles identity = pki.identityOf(role, name);
        return LinkTls.forNode(role, name, identity.certificate(), identity.key(), pki.trustBundle(), pki.crls(),
                Duration.ofSeconds(pki.reloadCheckSeconds()), metrics);
    }
}
