package dev.braid.tmp.security;

import dev.braid.runtime.Metrics;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * TLS for one node's TMP links on the TCP carrier: the node's {@link NodeTls}, the links it secures
 * now, and the account of every peer refused.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>every refusal — in the TLS handshake, at HELLO (the name a peer announces is not the one its
 *       certificate carries), or later when an established peer is checked again — is logged with
 *       its reason and counted in {@code braid_link_peer_refused_total{carrier,stage,reason}};</li>
 *   <li>established links are checked again ({@link NodeTls#recheck}) whenever new CRLs arrive
 *       ({@link #updateCrls}), and at every file check ({@link #checkEvery}), which also picks up a
 *       renewed certificate, a new trust bundle and expiry; a link whose peer is no longer
 *       acceptable is closed with GOAWAY and the reason;</li>
 *   <li>nothing here runs on an event loop except the bookkeeping the carrier calls: file reads
 *       and re-checks run on this object's own thread or the caller's.</li>
 * </ul>
 */
public final class LinkTls implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LinkTls.class);

    /** Where a peer was refused, the {@code stage} label. */
    public enum Stage {
        /** During the TLS handshake: certificate refused, or the peer refused ours. */
        HANDSHAKE,
        /** At the peer's HELLO: its name or role differs from its certificate's. */
        HELLO,
        /** An established link, checked again: revoked, expired, or its CA no longer trusted. */
        RECHECK;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Reason label of a HELLO whose name or role is not its certificate's. */
    public static final String HELLO_MISMATCH = "hello_mismatch";
    /** Reason label of a handshake the peer ended with an alert (it refused this node). */
    public static final String PEER_ALERT = "peer_alert";
    /** Reason label of any other failed handshake (timeout, protocol error, no TLS on the other side). */
    public static final String HANDSHAKE_FAILED = "handshake_failed";

    private final NodeTls tls;
    private final Metrics.Counter refused;
    private final Map<SslHandler, Tracked> links = new ConcurrentHashMap<>();
    private volatile ScheduledExecutorService checks;

    private record Tracked(String peer, Consumer<String> close) {
    }

    private LinkTls(NodeTls tls, Metrics metrics) {
        this.tls = Objects.requireNonNull(tls, "tls");
        this.refused = Objects.requireNonNull(metrics, "metrics").counter("braid_link_peer_refused_total",
                "TMP peers refused, by carrier, stage (handshake, hello, recheck) and reason",
                "carrier", "stage", "reason");
        metrics.gauge("braid_link_tls_certificate_expiry_timestamp_seconds",
                "When the certificate this node's new TLS links present expires (Unix time): alert well before it",
                () -> tls.identity().current().certificate().getNotAfter().getTime() / 1000.0);
        metrics.gauge("braid_link_tls_certificate_reload_failing",
                "1 while renewed key or certificate files are on disk but refused (the log says why), else 0",
                () -> tls.identity().lastReloadError() == null ? 0 : 1);
    }

    /** TLS with {@code tls}, refusals counted in {@code metrics}. */
    public static LinkTls create(NodeTls tls, Metrics metrics) {
        return new LinkTls(tls, metrics);
    }

    /**
     * Loads the identity of node {@code name} in {@code role} and the trust bundle, and builds TLS
     * that accepts the roles a node of {@code role} talks to: a front-end accepts back-ends, a
     * back-end front-ends.
     *
     * @throws IOException when a file cannot be read or is not what it should be, or when the
     *                     certificate names another node or role than this one
     */
    public static LinkTls load(String role, String name, Path certificate, Path key, Path trustBundle,
                               Metrics metrics) throws IOException {
        Set<String> accepts = switch (role) {
            case PeerIdentity.FRONT_END -> Set.of(PeerIdentity.BACK_END);
            case PeerIdentity.BACK_END -> Set.of(PeerIdentity.FRONT_END);
            default -> throw new IllegalArgumentException("role: " + role + " (expected: front-end or back-end)");
        };
        NodeIdentity identity = NodeIdentity.load(certificate, key);
        PeerIdentity self = identity.self();
        if (!self.role().equals(role) || !self.name().equals(name)) {
            throw new IOException(certificate + ": the certificate names " + self + " (expected: " + role + " " + name
                    + "; issue one with braid keys issue --role " + role + " --name " + name + ")");
        }
        PeerVerifier verifier = PeerVerifier.load(trustBundle, accepts, Clock.systemUTC());
        return new LinkTls(NodeTls.create(identity, verifier), metrics);
    }

    /**
     * {@link #load} when the node's certificate file exists — a node has an identity exactly when
     * its certificate is in place — else null, and the node's TMP links over TCP run in clear text
     * (logged as a warning, since a peer with an identity will refuse such a link).
     *
     * @throws IOException when the certificate exists but the identity or trust bundle cannot be loaded
     */
    public static LinkTls loadIfPresent(String role, String name, Path certificate, Path key, Path trustBundle,
                                        Metrics metrics) throws IOException {
        if (!java.nio.file.Files.exists(certificate)) {
            log.warn("{} {}: no node certificate at {}: TMP links over TCP run in clear text, and peers with a "
                    + "certificate refuse them", role, name, certificate);
            return null;
        }
        return load(role, name, certificate, key, trustBundle, metrics);
    }

    /**
     * What a front-end or back-end starts with: {@link #loadIfPresent}, then the configuration's
     * CRLs ({@code pki.crls}) taken and the files checked every {@code reloadCheck}
     * ({@code pki.reloadCheckSeconds}). Null when the node has no certificate.
     *
     * @throws IllegalArgumentException naming the node and the file when the certificate exists
     *                                  but the identity cannot be loaded
     */
    public static LinkTls forNode(String role, String name, String certificate, String key, String trustBundle,
                                  List<String> crls, Duration reloadCheck, Metrics metrics) {
        LinkTls t;
        try {
            t = loadIfPresent(role, name, Path.of(certificate), Path.of(key), Path.of(trustBundle), metrics);
        } catch (IOException e) {
            throw new IllegalArgumentException("pki: " + role + " " + name + ": " + e.getMessage(), e);
        }
        if (t != null) {
            t.updateCrls(crls);
            t.checkEvery(reloadCheck);
        }
        return t;
    }

    public NodeTls tls() {
        return tls;
    }

    /** Who this node is, by its certificate in use. */
    public PeerIdentity self() {
        return tls.identity().self();
    }

    /**
     * Records a refused peer: one WARN line and one count.
     *
     * @param reason a {@link PeerRejectedException.Reason} in lower case, {@link #HELLO_MISMATCH},
     *               {@link #PEER_ALERT} or {@link #HANDSHAKE_FAILED}
     */
    public void refused(String carrier, Stage stage, String reason, String peer, String message) {
        refused.inc(carrier, stage.label(), reason);
        log.warn("TMP link ({}) {}: refused at {} ({}): {}", carrier, peer, stage.label(), reason, message);
    }

    /** How many peers were refused with these labels; for tests and the console. */
    public long refusedCount(String carrier, Stage stage, String reason) {
        return refused.value(carrier, stage.label(), reason);
    }

    /** The label of a {@link PeerRejectedException.Reason}. */
    public static String label(PeerRejectedException.Reason reason) {
        return reason.name().toLowerCase(Locale.ROOT);
    }

    /**
     * Registers an established link for re-checks; {@code close} is called (on the re-checking
     * thread) with the reason when its peer is no longer acceptable, and must close the link on its
     * own loop. The registration ends when {@code channel} closes.
     *
     * @param peer how logs name the peer, such as {@code front-end fe-1 at /10.0.0.5:40112}
     */
    public void track(Channel channel, SslHandler ssl, String peer, Consumer<String> close) {
        links.put(ssl, new Tracked(peer, close));
        channel.closeFuture().addListener(f -> links.remove(ssl));
    }

    /** Links registered now. */
    public int trackedLinks() {
        return links.size();
    }

    /**
     * Takes the CRLs of a configuration version ({@code pki.crls}; see
     * {@link PeerVerifier#updateCrls}) and checks every established link against them.
     *
     * @return the CRLs that were not taken, one line each
     */
    public List<String> updateCrls(List<String> pems) {
        List<String> problems = tls.verifier().updateCrls(pems);
        recheckLinks();
        return problems;
    }

    /**
     * Checks every established link's peer again, now, and closes the links whose peer is refused.
     *
     * @return how many links were closed
     */
    public int recheckLinks() {
        int closed = 0;
        for (Map.Entry<SslHandler, Tracked> e : links.entrySet()) {
            Optional<PeerRejectedException> refusal = tls.recheck(e.getKey());
            if (refusal.isPresent() && links.remove(e.getKey()) != null) {
                PeerRejectedException r = refusal.get();
                refused("tcp", Stage.RECHECK, label(r.reason()), e.getValue().peer(), r.getMessage());
                e.getValue().close().accept("peer certificate no longer accepted (" + label(r.reason()) + "): " + r.getMessage());
                closed++;
            }
        }
        return closed;
    }

    /**
     * Every {@code interval} ({@code pki.reloadCheckSeconds}), on a thread of its own: reads the
     * node's key and certificate and the trust bundle again when they changed (new handshakes use
     * what was read), then re-checks every established link (a CA no longer trusted, a certificate
     * expired since). Idempotent: a second call changes nothing.
     */
    public synchronized void checkEvery(Duration interval) {
        if (checks != null) {
            return;
        }
        checks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "braid-link-tls-" + self().name());
            t.setDaemon(true);
            return t;
        });
        long ms = interval.toMillis();
        checks.scheduleWithFixedDelay(this::checkNow, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** One round of {@link #checkEvery}: files, then links. Reads files; call it off the event loops. */
    public void checkNow() {
        try {
            tls.identity().reloadIfChanged();
            tls.verifier().reloadIfChanged();
            recheckLinks();
        } catch (RuntimeException e) {
            log.warn("checking node certificate files and links failed: {}", e.toString());
        }
    }

    /** Stops the periodic checks; links stay as they are. */
    @Override
    public synchronized void close() {
        if (checks != null) {
            checks.shutdownNow();
            checks = null;
        }
    }
}
