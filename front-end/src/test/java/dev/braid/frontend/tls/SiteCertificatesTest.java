package dev.braid.frontend.tls;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.CertificateFiles;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.HttpsSettings;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.PkiSettings;
import dev.braid.managers.config.Site;
import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SiteCertificatesTest {

    @TempDir
    Path dir;
    private SiteCertificateFactory web;
    private CertificateFiles shop;
    private CertificateFiles blog;

    @BeforeEach
    void certificates() throws Exception {
        web = new SiteCertificateFactory();
        shop = web.write(dir.resolve("sites"), "shop", "www.shop.example", "shop.example");
        blog = web.write(dir.resolve("sites"), "blog", "www.blog.example");
    }

    private BraidConfig config(CertificateFiles shopTls, PkiSettings pki) {
        List<Origin> origins = List.of(new Origin(null, "http://127.0.0.1:8000", null, null, null));
        BraidConfig c = new BraidConfig(
                List.of(new Site("shop", List.of("www.shop.example", "shop.example"), null, origins, shopTls),
                        new Site("blog", List.of("www.blog.example"), null, origins, blog),
                        new Site("plain", List.of("www.plain.example"), null, origins)),
                List.of(new FrontEndNode("fe-1", "127.0.0.1:8080", "127.0.0.1", "127.0.0.1:8081", null, null,
                        List.of("shop", "blog", "plain"), List.of("be-1"), HttpsSettings.on("127.0.0.1:8443"))),
                List.of(new BackEndNode("be-1", "127.0.0.1:7070", "127.0.0.1:7071", List.of("shop", "blog", "plain"))),
                null, null, null, null, pki);
        assertEquals(List.of(), ConfigValidator.validate(c));
        return c;
    }

    private static String cn(X509Certificate c) {
        return c.getSubjectX500Principal().getName();
    }

    @Test
    void sniPicksTheSiteCertificateAndEverythingElseGetsTheDefault() {
        SiteCertificates certs = SiteCertificates.load(config(shop, null), "fe-1");
        assertEquals("CN=www.shop.example", cn(certs.certificateFor("www.shop.example")));
        assertEquals("CN=www.shop.example", cn(certs.certificateFor("SHOP.example.")), "case and a trailing dot ignored");
        assertEquals("CN=www.blog.example", cn(certs.certificateFor("www.blog.example")));
        // No node certificate at pki.certificate: the first site's certificate is the default.
        assertEquals("CN=www.shop.example", cn(certs.certificateFor(null)));
        assertEquals("CN=www.shop.example", cn(certs.certificateFor("www.plain.example")));
        assertSame(certs.map("www.shop.example"), certs.map("shop.example"), "one context per certificate");
    }

    @Test
    void theFrontEndsOwnCertificateIsTheDefaultWhenItHasOne() throws Exception {
        Path nodes = dir.resolve("pki");
        try (CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), null, Duration.ofDays(365),
                Clock.systemUTC())) {
            ca.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(30), nodes);
        }
        PkiSettings pki = new PkiSettings(nodes + "/trust.pem", nodes + "/{name}.crt", nodes + "/{name}.key", null, null);
        SiteCertificates certs = SiteCertificates.load(config(shop, pki), "fe-1");
        assertEquals("CN=fe-1,OU=front-end,O=Braid", cn(certs.certificateFor(null)));
        assertEquals("CN=www.shop.example", cn(certs.certificateFor("www.shop.example")));
    }

    @Test
    void aNewVersionWithAnUnusableCertificateIsRefusedWhole() throws Exception {
        SiteCertificates certs = SiteCertificates.load(config(shop, null), "fe-1");
        X509Certificate before = certs.certificateFor("www.shop.example");
        CertificateFiles missing = new CertificateFiles(dir.resolve("nope.crt").toString(), shop.key());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> certs.update(config(missing, null)));
        assertTrue(e.getMessage().startsWith("sites[shop].tls: " + missing.certificate() + ", " + shop.key()
                + " (expected: a readable PEM certificate chain and its private key: no such file"), e.getMessage());
        assertSame(before, certs.certificateFor("www.shop.example"));

        CertificateFiles mismatched = new CertificateFiles(shop.certificate(), blog.key());
        assertThrows(IllegalArgumentException.class, () -> certs.update(config(mismatched, null)));

        CertificateFiles renamed = web.write(dir.resolve("elsewhere"), "shop", "www.shop.example");
        certs.update(config(renamed, null));
        assertNotEquals(before, certs.certificateFor("www.shop.example"));
    }

    @Test
    void changedFilesAreReloadedAndBrokenOnesIgnored() throws Exception {
        SiteCertificates certs = SiteCertificates.load(config(shop, null), "fe-1");
        X509Certificate before = certs.certificateFor("www.shop.example");
        var blogContext = certs.map("www.blog.example");
        assertFalse(certs.reloadIfChanged());

        web.write(dir.resolve("sites"), "shop", "www.shop.example", "shop.example");
        java.time.Instant expiryBefore = certs.expiries().get("site shop");
        assertEquals(before.getNotAfter().toInstant(), expiryBefore, "braid_frontend_https_certificate_expiry_timestamp_seconds");
        assertTrue(certs.reloadIfChanged());
        X509Certificate after = certs.certificateFor("www.shop.example");
        assertNotEquals(before.getSerialNumber(), after.getSerialNumber());
        assertEquals(after.getNotAfter().toInstant(), certs.expiries().get("site shop"));
        assertSame(blogContext, certs.map("www.blog.example"), "unchanged sites keep their context");

        Files.writeString(Path.of(shop.key()), "not a key");
        assertFalse(certs.reloadIfChanged(), "a broken file is not taken");
        assertSame(after, certs.certificateFor("www.shop.example"));
    }
}
