package dev.braid.tmp.security;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.CRLException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads the PEM files of node identities and trust bundles (RFC 7468), with plain JDK code. */
final class PemFiles {

    /** Largest key, certificate or bundle file read, in bytes: far above any real one. */
    static final int MAX_FILE_BYTES = 1 << 20;

    private static final Pattern PRIVATE_KEY = Pattern.compile(
            "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");
    private static final List<String> KEY_ALGORITHMS = List.of("EC", "RSA", "Ed25519");

    private PemFiles() {
    }

    static byte[] read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new IOException(file + ": " + size + " bytes (expected: at most " + MAX_FILE_BYTES + ")");
        }
        return Files.readAllBytes(file);
    }

    static List<X509Certificate> certificates(byte[] pem, String what) throws IOException {
        List<X509Certificate> list = new ArrayList<>();
        try {
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
                list.add((X509Certificate) c);
            }
        } catch (CertificateException e) {
            throw new IOException(what + ": not PEM certificates (" + e.getMessage() + ")", e);
        }
        if (list.isEmpty()) {
            throw new IOException(what + ": no certificate (expected: -----BEGIN CERTIFICATE----- blocks)");
        }
        return list;
    }

    /** A PKCS#8 private key ({@code -----BEGIN PRIVATE KEY-----}) of any algorithm the JDK knows for TLS. */
    static PrivateKey privateKey(byte[] pem, String what) throws IOException {
        Matcher m = PRIVATE_KEY.matcher(new String(pem, StandardCharsets.US_ASCII));
        if (!m.find()) {
            throw new IOException(what + ": no -----BEGIN PRIVATE KEY----- block (expected: an unencrypted PKCS#8 key)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(1));
        } catch (IllegalArgumentException e) {
            throw new IOException(what + ": bad base64 in the key", e);
        }
        for (String algorithm : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException | RuntimeException tryNext) {
                // PKCS#8 names its algorithm inside; each factory refuses keys of the others.
            }
        }
        throw new IOException(what + ": unreadable private key (expected: " + String.join(", ", KEY_ALGORITHMS) + ")");
    }

    static X509CRL crl(String pem) throws IOException {
        try {
            return (X509CRL) CertificateFactory.getInstance("X.509")
                    .generateCRL(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
        } catch (CertificateException | CRLException | RuntimeException e) {
            throw new IOException("not a PEM X.509 CRL (" + e.getMessage() + ")", e);
        }
    }

    static byte[] sha256(byte[]... parts) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                d.update(p);
                d.update((byte) 0);
            }
            return d.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
