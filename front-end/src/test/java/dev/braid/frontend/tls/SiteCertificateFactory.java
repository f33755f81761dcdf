package dev.braid.frontend.tls;

import dev.braid.managers.config.CertificateFiles;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Stands in for a public CA in the tests: a root, and site certificates for DNS names signed by
 * it, written as the PEM files a front-end reads ({@code sites[].tls}).
 */
final class SiteCertificateFactory {

    private final KeyPair rootKeys;
    private final X509Certificate root;
    private final SecureRandom random = new SecureRandom();

    SiteCertificateFactory() throws Exception {
        rootKeys = keys();
        X500Name name = new X500Name("CN=Test Web Root");
        root = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name,
                BigInteger.ONE, Date.from(Instant.now().minusSeconds(60)), Date.from(Instant.now().plus(Duration.ofDays(30))),
                name, rootKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKeys.getPrivate())));
    }

    X509Certificate root() {
        return root;
    }

    /** A client context that trusts this root (and nothing else). */
    SSLContext clientContext(X509Certificate... alsoTrusted) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setCertificateEntry("root", root);
        for (int i = 0; i < alsoTrusted.length; i++) {
            ks.setCertificateEntry("extra" + i, alsoTrusted[i]);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Writes {@code <dir>/<label>.crt} (leaf, then root) and {@code <dir>/<label>.key} for {@code dnsNames}. */
    CertificateFiles write(Path dir, String label, String... dnsNames) throws Exception {
        KeyPair keys = keys();
        GeneralName[] names = new GeneralName[dnsNames.length];
        for (int i = 0; i < dnsNames.length; i++) {
            names[i] = new GeneralName(GeneralName.dNSName, dnsNames[i]);
        }
        X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(root,
                new BigInteger(64, random).add(BigInteger.TWO), Date.from(Instant.now().minusSeconds(60)),
                Date.from(Instant.now().plus(Duration.ofDays(7))), new X500Name("CN=" + dnsNames[0]), keys.getPublic())
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKeys.getPrivate())));
        Files.createDirectories(dir);
        Path cert = dir.resolve(label + ".crt");
        Path key = dir.resolve(label + ".key");
        Files.writeString(key, pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        Files.writeString(cert, pem("CERTIFICATE", leaf.getEncoded()) + pem("CERTIFICATE", root.getEncoded()));
        return new CertificateFiles(cert.toString(), key.toString());
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
