package dev.braid.frontend.tls;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.CertificateFiles;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.Site;
import dev.braid.tmp.security.NodeIdentity;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.Mapping;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The certificates a front-end presents to clients, chosen by the name the client asks for (SNI):
 * each of its sites with {@code tls} answers for the site's host names with the site's
 * certificate. A client that names no host, or a host no site of this front-end serves, gets the
 * default certificate: the front-end's own node certificate ({@code pki.certificate}/{@code pki.key})
 * when its files are there, else the first of its sites' certificates.
 *
 * <p>The table is immutable and replaced whole, when a configuration version changes the sites
 * or files ({@link #update}) or when a file's content changes ({@link #reloadIfChanged}). A
 * connection takes its certificate from the table of the moment its ClientHello arrives, so a
 * replacement affects new connections only.
 *
 * <p>Every context offers TLS 1.3 and 1.2 with the ciphers HTTP/2 allows (RFC 9113 §9.2.2), and
 * ALPN {@code h2} then {@code http/1.1}.
 */
public final class SiteCertificates implements Mapping<String, SslContext> {

    private static final Logger log = LoggerFactory.getLogger(SiteCertificates.class);

    /** One loaded certificate: which files, their digest, and the context built from them. */
    record Entry(String label, CertificateFiles files, byte[] digest, SslContext context, X509Certificate certificate) {
    }

    /** Host name (lower case) to certificate, and the default. */
    record Table(Map<String, Entry> byHost, Entry fallback) {
    }

    private final String frontEnd;
    private volatile Table table;
    private BraidConfig config;

    private SiteCertificates(String frontEnd) {
        this.frontEnd = frontEnd;
    }

    /**
     * Loads the certificates of front-end {@code frontEnd}'s sites.
     *
     * @throws IllegalArgumentException naming the file and the reason when a certificate cannot be used
     */
    public static SiteCertificates load(BraidConfig config, String frontEnd) {
        SiteCertificates c = new SiteCertificates(frontEnd);
        c.table = c.build(config, null);
        c.config = config;
        c.logTable("loaded");
        return c;
    }

    /**
     * Takes a new configuration version: its sites, host names and files. All or nothing: when a
     * certificate of the new version cannot be used the table stays as it was and this throws,
     * so the caller refuses the version.
     *
     * @throws IllegalArgumentException naming the file and the reason
     */
    public synchronized void update(BraidConfig next) {
        Table t = build(next, table);
        config = next;
        if (t != table) {
            table = t;
            logTable("configuration changed:");
        }
    }

    /**
     * Reads every certificate and key file again and switches to those whose content changed.
     * A changed file that cannot be used is logged and its site keeps the certificate it had.
     * Reads files: call it off the event loops.
     *
     * @return whether the table changed
     */
    public synchronized boolean reloadIfChanged() {
        Table old = table;
        Map<String, Entry> byHost = new HashMap<>();
        Map<Entry, Entry> replaced = new HashMap<>();
        for (Map.Entry<String, Entry> e : old.byHost().entrySet()) {
            byHost.put(e.getKey(), replaced.computeIfAbsent(e.getValue(), this::reloaded));
        }
        Entry fallback = old.fallback() == null ? null : replaced.computeIfAbsent(old.fallback(), this::reloaded);
        if (replaced.entrySet().stream().allMatch(e -> e.getKey() == e.getValue())) {
            return false;
        }
        table = new Table(Map.copyOf(byHost), fallback);
        logTable("files changed:");
        return true;
    }

    /** The entry itself when its files are unchanged or unusable, else one built from the new content. */
    private Entry reloaded(Entry e) {
        try {
            byte[][] content = read(e.files());
            if (MessageDigest.isEqual(digest(content), e.digest())) {
                return e;
            }
            return entry(e.label(), e.files(), content);
        } catch (IllegalArgumentException | IOException ex) {
            log.warn("front-end {}: keeping the certificate of {} (serial {}): {}", frontEnd, e.label(),
                    e.certificate().getSerialNumber().toString(16), ex.getMessage());
            return e;
        }
    }

    /** The context for a client's SNI name; the default one for null or an unknown name. */
    @Override
    public SslContext map(String hostname) {
        return entryFor(hostname).context();
    }

    /** When each certificate in use expires, by its label (the site's, or the front-end's own). */
    public Map<String, java.time.Instant> expiries() {
        Table t = table;
        Map<String, java.time.Instant> m = new java.util.TreeMap<>();
        for (Entry e : t.byHost().values()) {
            m.put(e.label(), e.certificate().getNotAfter().toInstant());
        }
        if (t.fallback() != null) {
            m.put(t.fallback().label(), t.fallback().certificate().getNotAfter().toInstant());
        }
        return m;
    }

    /** The certificate a client asking for {@code hostname} gets. */
    public X509Certificate certificateFor(String hostname) {
        return entryFor(hostname).certificate();
    }

    private Entry entryFor(String hostname) {
        Table t = table;
        if (hostname != null) {
            String h = hostname.toLowerCase(Locale.ROOT);
            Entry e = t.byHost().get(h.endsWith(".") ? h.substring(0, h.length() - 1) : h);
            if (e != null) {
                return e;
            }
        }
        return t.fallback();
    }

    private Table build(BraidConfig cfg, Table previous) {
        FrontEndNode node = cfg.frontEnd(frontEnd);
        if (node == null) {
            throw new IllegalArgumentException("frontEnds: no front-end named " + frontEnd);
        }
        Map<CertificateFiles, Entry> known = new HashMap<>();
        if (previous != null) {
            previous.byHost().values().forEach(e -> known.put(e.files(), e));
            if (previous.fallback() != null) {
                known.put(previous.fallback().files(), previous.fallback());
            }
        }
        Map<String, Entry> byHost = new LinkedHashMap<>();
        Entry firstSite = null;
        for (String siteName : node.sites()) {
            Site site = cfg.site(siteName);
            if (site == null || site.tls() == null) {
                continue;
            }
            Entry e = known.containsKey(site.tls()) ? known.get(site.tls())
                    : load("site " + site.name(), site.tls(), "sites[" + site.name() + "].tls");
            known.put(site.tls(), e);
            firstSite = firstSite == null ? e : firstSite;
            for (String host : site.hostnames()) {
                byHost.put(host.toLowerCase(Locale.ROOT), e);
            }
        }
        Entry fallback = ownCertificate(cfg, known);
        if (fallback == null) {
            fallback = firstSite;
        }
        if (fallback == null) {
            throw new IllegalArgumentException("frontEnds[" + frontEnd + "].sites: " + node.sites()
                    + " (expected: at least one site with tls, a certificate for HTTPS)");
        }
        Table t = new Table(Map.copyOf(byHost), fallback);
        return previous != null && t.equals(previous) ? previous : t;
    }

    /** The front-end's node certificate, when its files exist and can serve. */
    private Entry ownCertificate(BraidConfig cfg, Map<CertificateFiles, Entry> known) {
        CertificateFiles own = cfg.pki().identityOf("front-end", frontEnd);
        if (known.containsKey(own)) {
            return known.get(own);
        }
        if (!Files.exists(Path.of(own.certificate())) || !Files.exists(Path.of(own.key()))) {
            return null;
        }
        try {
            return load("front-end " + frontEnd, own, "pki.certificate");
        } catch (IllegalArgumentException e) {
            log.warn("front-end {}: its own certificate cannot be the default for clients without SNI: {}",
                    frontEnd, e.getMessage());
            return null;
        }
    }

    private Entry load(String label, CertificateFiles files, String field) {
        try {
            return entry(label, files, read(files));
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + files.certificate() + ", " + files.key()
                    + " (expected: a readable PEM certificate chain and its private key: " + e.getMessage() + ")", e);
        }
    }

    private static byte[][] read(CertificateFiles files) throws IOException {
        try {
            return new byte[][] {Files.readAllBytes(Path.of(files.certificate())), Files.readAllBytes(Path.of(files.key()))};
        } catch (NoSuchFileException e) {
            throw new IOException("no such file " + e.getFile(), e);
        }
    }

    private static Entry entry(String label, CertificateFiles files, byte[][] content) throws IOException {
        List<X509Certificate> chain = new java.util.ArrayList<>();
        try {
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(content[0]))) {
                chain.add((X509Certificate) c);
            }
        } catch (CertificateException e) {
            throw new IOException("unreadable certificate: " + e.getMessage(), e);
        }
        if (chain.isEmpty()) {
            throw new IOException("no certificate in " + files.certificate());
        }
        PrivateKey key = privateKey(content[1]);
        if (!NodeIdentity.keyMatches(key, chain.get(0).getPublicKey())) {
            throw new IOException("the key does not match the certificate (serial "
                    + chain.get(0).getSerialNumber().toString(16) + ")");
        }
        SslContext context = SslContextBuilder.forServer(key, chain)
                .sslProvider(SslProvider.JDK)
                .protocols("TLSv1.3", "TLSv1.2")
                .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
                .build();
        return new Entry(label, files, digest(content), context, chain.get(0));
    }

    /** The first private key in {@code pem}: PKCS#8, or the PKCS#1 and SEC1 forms OpenSSL writes. */
    private static PrivateKey privateKey(byte[] pem) throws IOException {
        try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return converter.getKeyPair(pair).getPrivate();
                }
            }
        } catch (RuntimeException e) {
            throw new IOException("unreadable private key: " + e.getMessage(), e);
        }
        throw new IOException("no private key (expected: an unencrypted PEM private key)");
    }

    private static byte[] digest(byte[][] content) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (byte[] c : content) {
                d.update(c);
                d.update((byte) 0);
            }
            return d.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    private void logTable(String what) {
        Table t = table;
        Map<String, List<String>> hostsByCert = new LinkedHashMap<>();
        t.byHost().forEach((host, e) -> hostsByCert.computeIfAbsent(e.label() + " serial "
                + e.certificate().getSerialNumber().toString(16), k -> new java.util.ArrayList<>()).add(host));
        log.info("front-end {}: HTTPS certificates {} {}; default {} serial {}", frontEnd, what, hostsByCert,
                t.fallback().label(), t.fallback().certificate().getSerialNumber().toString(16));
    }
}
