package dev.braid.cli;

import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.ConfigValidator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code braid keys} verbs, run as an operator would, on a CA in a temporary directory. */
class KeysCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    private Run braid(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Braid.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Run keys(String verb, String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "keys";
        all[1] = verb;
        all[2] = "--ca";
        all[3] = dir.resolve("ca").toString();
        System.arraycopy(args, 0, all, 4, args.length);
        Run r = braid(all);
        return r;
    }

    private static String serialOf(Run issued) {
        Matcher m = Pattern.compile("serial ([0-9a-f]+),").matcher(issued.out());
        assertTrue(m.find(), issued.out());
        return m.group(1);
    }

    @Test
    void initIssueRevokeListRotateRetireFromTheCommandLine() throws Exception {
        Run init = keys("init");
        assertEquals(0, init.exit(), init.err());
        assertTrue(init.out().startsWith("created CA 1 (CN=Braid CA 1,O=Braid) in "), init.out());
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("ca/ca-1.key"))));

        Run fe = keys("issue", "--role", "front-end", "--name", "fe-1");
        assertEquals(0, fe.exit(), fe.err());
        Path nodes = dir.resolve("ca/nodes");
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(nodes.resolve("fe-1.crt")));
        assertEquals("CN=fe-1,OU=front-end,O=Braid", cert.getSubjectX500Principal().getName());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(nodes.resolve("fe-1.key"))));
        assertTrue(Files.exists(nodes.resolve("trust.pem")));

        Path elsewhere = dir.resolve("be-1-files");
        Run be = keys("issue", "--role", "back-end", "--name", "be-1", "--days", "30", "--out", elsewhere.toString());
        assertEquals(0, be.exit(), be.err());
        assertTrue(Files.exists(elsewhere.resolve("be-1.key")));

        Run revoke = keys("revoke", "fe-1", "--reason", "keyCompromise");
        assertEquals(0, revoke.exit(), revoke.err());
        assertTrue(revoke.out().startsWith("revoked front-end fe-1 serial " + serialOf(fe) + " (keyCompromise)"),
                revoke.out());

        Run list = keys("list");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().contains("1    current"), list.out());
        assertTrue(Pattern.compile(serialOf(fe) + " +front-end +fe-1 +1 +\\S+ +revoked").matcher(list.out()).find(),
                list.out());
        assertTrue(Pattern.compile(serialOf(be) + " +back-end +be-1 +1 +\\S+ +valid").matcher(list.out()).find(),
                list.out());

        Run crl = keys("crl");
        assertEquals(0, crl.exit(), crl.err());
        var parsed = ConfigLoader.parse(crl.out());
        assertEquals(List.of(), ConfigValidator.validate(parsed), "the printed section is a valid configuration");
        X509CRL x509crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(
                new ByteArrayInputStream(parsed.pki().crls().get(0).getBytes()));
        assertNotNull(x509crl.getRevokedCertificate(cert.getSerialNumber()));

        Run rotate = keys("rotate");
        assertEquals(0, rotate.exit(), rotate.err());
        assertTrue(rotate.out().startsWith("CA 2 (CN=Braid CA 2,O=Braid) now issues"), rotate.out());
        assertEquals(2, CertificateFactory.getInstance("X.509")
                .generateCertificates(Files.newInputStream(dir.resolve("ca/trust.pem"))).size());

        Run refused = keys("retire");
        assertEquals(2, refused.exit());
        assertTrue(refused.err().contains("still has valid certificates [back-end be-1]"), refused.err());
        Run renewed = keys("issue", "--role", "back-end", "--name", "be-1", "--out", elsewhere.toString());
        assertEquals(0, renewed.exit(), renewed.err());
        assertTrue(renewed.out().contains(", CA 2, valid until"), renewed.out());
        assertEquals(0, keys("revoke", serialOf(be), "--reason", "superseded").exit());
        Run retire = keys("retire");
        assertEquals(0, retire.exit(), retire.err());
        assertTrue(retire.out().startsWith("retired CA 1 (CN=Braid CA 1,O=Braid)"), retire.out());
        assertEquals(1, CertificateFactory.getInstance("X.509")
                .generateCertificates(Files.newInputStream(dir.resolve("ca/trust.pem"))).size());
        assertTrue(keys("list").out().contains("1    retired"));
    }

    @Test
    void badArgumentsAndMissingCasAreReportedWithTheirReason() {
        Run noCa = keys("list");
        assertEquals(1, noCa.exit());
        assertTrue(noCa.err().startsWith("braid keys list: ") && noCa.err().contains("no CA there"), noCa.err());
        assertEquals(0, keys("init").exit());
        Run again = keys("init");
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("a CA already exists there"), again.err());
        Run role = keys("issue", "--role", "gateway", "--name", "x");
        assertEquals(2, role.exit());
        assertEquals("braid keys issue: role: gateway (expected: one of front-end, back-end, redirector, manager)\n",
                role.err());
        Run unknown = keys("revoke", "fe-7");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().startsWith("braid keys revoke: id: fe-7 (expected: the name of a node"), unknown.err());
        Run days = keys("issue", "--role", "manager", "--name", "m-1", "--days", "0");
        assertEquals(2, days.exit());
        assertEquals("braid keys issue: --days: 0 (expected: >= 1)\n", days.err());
    }
}
