package dev.braid.managers.config;

import dev.braid.managers.pki.CertificateAuthority;
import dev.braid.managers.pki.NodeRole;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The TLS and PKI parts of the configuration: reading, defaults, validation. */
class SecurityConfigTest {

    private static final String EXAMPLE = TestConfigs.exampleYaml();

    private static final String WITH_TLS = edit(edit(EXAMPLE,
            "      - url: http://127.0.0.1:8000\n",
            "      - url: http://127.0.0.1:8000\n    tls:\n      certificate: /etc/braid/sites/shop.crt\n"
                    + "      key: /etc/braid/sites/shop.key\n"),
            "    backEnds: [be-1]\n\nbackEnds:",
            "    backEnds: [be-1]\n    https:\n      listen: 127.0.0.1:8443\n\nbackEnds:");

    private static String edit(String yaml, String from, String to) {
        assertTrue(yaml.contains(from), () -> "no '" + from + "' in " + yaml);
        return yaml.replace(from, to);
    }

    private static List<String> errors(String yaml) {
        return ConfigValidator.validate(ConfigLoader.parse(yaml));
    }

    @Test
    void httpsAndSiteCertificatesAreReadWithTheirDefaults() {
        BraidConfig c = ConfigLoader.parse(WITH_TLS);
        assertEquals(List.of(), ConfigValidator.validate(c));
        assertEquals(new CertificateFiles("/etc/braid/sites/shop.crt", "/etc/braid/sites/shop.key"), c.site("shop").tls());
        assertEquals(new HttpsSettings("127.0.0.1:8443", 100, 16_384, 200, 30), c.frontEnd("fe-1").https());
        assertEquals(PkiSettings.DEFAULT, c.pki());
        assertEquals(c, ConfigLoader.parse(ConfigLoader.toJson(c)));
        assertNull(TestConfigs.example().frontEnd("fe-1").https(), "HTTPS is off unless configured");
        assertNull(TestConfigs.example().site("shop").tls());
    }

    @Test
    void nodeIdentityPathsFillInRoleAndName() {
        assertEquals(new CertificateFiles("/etc/braid/pki/be-1.crt", "/etc/braid/pki/be-1.key"),
                PkiSettings.DEFAULT.identityOf("back-end", "be-1"));
        PkiSettings custom = new PkiSettings("/srv/trust.pem", "/srv/{role}/{name}/node.crt", "/srv/{role}/{name}/node.key",
                null, 5);
        assertEquals(new CertificateFiles("/srv/front-end/fe-1/node.crt", "/srv/front-end/fe-1/node.key"),
                custom.identityOf("front-end", "fe-1"));
        assertEquals(List.of(), ConfigValidator.validate(BraidConfig.EMPTY.withPki(custom)));
    }

    @Test
    void httpsLimitsAndAddressesAreChecked() {
        String bad = edit(WITH_TLS, "      listen: 127.0.0.1:8443\n", "      listen: 127.0.0.1:8080\n"
                + "      maxConcurrentStreams: 0\n      maxHeaderListBytes: 100\n      maxResetsPerWindow: 0\n"
                + "      resetWindowSeconds: 7200\n");
        assertEquals(List.of(
                "frontEnds[0].https.listen: 127.0.0.1:8080 (expected: an address no other listener uses; "
                        + "frontEnds[0].listen has it)",
                "frontEnds[0].https.listen: 127.0.0.1:8080 (expected: an address other than frontEnds[0].listen's "
                        + "(127.0.0.1:8080))",
                "frontEnds[0].https.maxConcurrentStreams: 0 (expected: 1..10000)",
                "frontEnds[0].https.maxHeaderListBytes: 100 (expected: 1024..1048576)",
                "frontEnds[0].https.maxResetsPerWindow: 0 (expected: 1..1000000)",
                "frontEnds[0].https.resetWindowSeconds: 7200 (expected: 1..3600)"), errors(bad));
        assertEquals(List.of("frontEnds[0].https.listen: 0.0.0.0:8081 (expected: an address other than "
                        + "frontEnds[0].admin's (127.0.0.1:8081))"),
                errors(edit(WITH_TLS, "listen: 127.0.0.1:8443", "listen: 0.0.0.0:8081")));
        assertEquals(List.of("frontEnds[0].https.listen: null (expected: host:port)"),
                errors(edit(WITH_TLS, "      listen: 127.0.0.1:8443\n", "      maxConcurrentStreams: 10\n")));
    }

    @Test
    void httpsNeedsASiteWithACertificate() {
        String noTls = edit(WITH_TLS, "    tls:\n      certificate: /etc/braid/sites/shop.crt\n"
                + "      key: /etc/braid/sites/shop.key\n", "");
        assertEquals(List.of("frontEnds[0].sites: [shop] (expected: at least one site with tls, since "
                + "frontEnds[0].https is set: HTTPS needs a certificate to present)"), errors(noTls));
    }

    @Test
    void pathsAndPlaceholdersAreChecked() {
        assertEquals(List.of("sites[0].tls.key: null (expected: a file path, 1 to 4096 characters without control "
                        + "characters)"),
                errors(edit(WITH_TLS, "      key: /etc/braid/sites/shop.key\n", "")));
        BraidConfig pki = BraidConfig.EMPTY.withPki(new PkiSettings(" ", "/pki/{host}.crt", "/pki/{name}\n.key", null, 0));
        assertEquals(List.of(
                "pki.trustBundle: \" \" (expected: a file path, 1 to 4096 characters without control characters)",
                "pki.certificate: /pki/{host}.crt (expected: a file path whose only placeholders are {name} and {role})",
                "pki.key: \"/pki/{name}\\n.key\" (expected: a file path, 1 to 4096 characters without control characters)",
                "pki.reloadCheckSeconds: 0 (expected: 1..3600)"), ConfigValidator.validate(pki));
    }

    @Test
    void crlsMustBeWellFormedAndOnePerCa(@TempDir Path tmp) throws Exception {
        List<String> crls;
        try (CertificateAuthority ca = CertificateAuthority.init(tmp.resolve("ca"), null, Duration.ofDays(365),
                Clock.systemUTC())) {
            ca.issue(NodeRole.FRONT_END, "fe-1", Duration.ofDays(30), tmp.resolve("out"));
            ca.revoke("fe-1", null);
            crls = ca.crls();
        }
        BraidConfig good = BraidConfig.EMPTY.withPki(PkiSettings.DEFAULT.withCrls(crls));
        assertEquals(List.of(), ConfigValidator.validate(good));
        BraidConfig parsed = ConfigLoader.parse(ConfigLoader.toYaml(good));
        assertEquals(good, parsed, "CRLs survive YAML");

        String garbage = crls.get(0).replace("-----END X509 CRL-----", "").substring(0, 60) + "\n-----END X509 CRL-----";
        List<String> errors = ConfigValidator.validate(BraidConfig.EMPTY.withPki(PkiSettings.DEFAULT.withCrls(
                List.of(crls.get(0), crls.get(0), garbage, "hello"))));
        assertEquals(3, errors.size(), errors.toString());
        assertEquals("pki.crls[1]: \"CN=Braid CA 1,O=Braid\" (expected: one CRL per issuing CA; pki.crls[0] is from the "
                + "same CA)", errors.get(0));
        assertTrue(errors.get(1).startsWith("pki.crls[2]: \"-----BEGIN X509 CRL-----\\n"), errors.get(1));
        assertTrue(errors.get(1).endsWith("(expected: one X.509 CRL in PEM (-----BEGIN X509 CRL-----), as braid keys "
                + "publish writes it)"), errors.get(1));
        assertEquals("pki.crls[3]: hello (expected: one X.509 CRL in PEM (-----BEGIN X509 CRL-----), as braid keys "
                + "publish writes it)", errors.get(2));
    }
}
