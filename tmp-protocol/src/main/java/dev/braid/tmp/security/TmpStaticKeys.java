package dev.braid.tmp.security;

import dev.braid.tmp.noise.X25519Keys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The X25519 static keys of the UDP carrier's Noise handshake, bound to the PKI: a node
 * certificate carries its node's public key in extension {@link #OID} (an OCTET STRING of 32
 * bytes, signed with the rest of the certificate by the Braid CA), and {@code braid keys issue}
 * writes the private key beside the EC key as {@code <name>.x25519.key} (RFC 8410 PKCS#8 PEM).
 */
public final class TmpStaticKeys {

    /** The extension's OID (under {@code 2.25}, a UUID: ITU-T X.667); the CA writes the same. */
    public static final String OID = "2.25.91592753037067042630596503225477633042";
    /** The file of the X25519 private key, beside {@code <name>.key}. */
    public static final String KEY_SUFFIX = ".x25519.key";

    private static final byte[] PKCS8_PREFIX = HexFormat.of().parseHex("302e020100300506032b656e04220420");
    private static final Pattern PRIVATE_KEY = Pattern.compile(
            "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private TmpStaticKeys() {
    }

    /** Where the X25519 key of the node whose EC key is {@code ecKeyFile} lives: {@code be-1.key} → {@code be-1.x25519.key}. */
    public static Path keyFileBeside(Path ecKeyFile) {
        String name = ecKeyFile.getFileName().toString();
        String base = name.endsWith(".key") ? name.substring(0, name.length() - 4) : name;
        return ecKeyFile.resolveSibling(base + KEY_SUFFIX);
    }

    /**
     * The X25519 public key {@code cert} certifies.
     *
     * @throws PeerRejectedException (NOT_A_NODE) when the certificate has none, or a malformed one
     */
    public static byte[] certifiedKey(X509Certificate cert) throws PeerRejectedException {
        byte[] ext = cert.getExtensionValue(OID);
        String who = "certificate " + cert.getSerialNumber().toString(16) + " of " + cert.getSubjectX500Principal().getName();
        if (ext == null) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE, who
                    + " certifies no X25519 key for the UDP carrier (issued before UDP encryption; reissue it with "
                    + "braid keys issue)");
        }
        // extnValue: OCTET STRING { OCTET STRING (32) }
        if (ext.length != 36 || ext[0] != 0x04 || ext[1] != 34 || ext[2] != 0x04 || ext[3] != 32) {
            throw new PeerRejectedException(PeerRejectedException.Reason.NOT_A_NODE, who
                    + ": malformed X25519 key extension (expected: an OCTET STRING of 32 bytes)");
        }
        return Arrays.copyOfRange(ext, 4, 36);
    }

    /**
     * Loads the X25519 key pair of this node and checks it against its own certificate.
     *
     * @throws IOException naming the file and what to do: a missing file or a certificate without
     *                     the extension means the node's keys predate UDP encryption and must be reissued
     */
    public static X25519Keys load(Path keyFile, X509Certificate ownCertificate) throws IOException {
        if (!Files.exists(keyFile)) {
            throw new IOException(keyFile + ": no X25519 key for the UDP carrier (keys issued before UDP "
                    + "encryption; reissue them with braid keys issue --role ROLE --name NAME and copy "
                    + "<name>.x25519.key beside <name>.key)");
        }
        byte[] pem = PemFiles.read(keyFile);
        Matcher m = PRIVATE_KEY.matcher(new String(pem, java.nio.charset.StandardCharsets.US_ASCII));
        if (!m.find()) {
            throw new IOException(keyFile + ": no -----BEGIN PRIVATE KEY----- block (expected: an X25519 PKCS#8 key)");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(1));
        } catch (IllegalArgumentException e) {
            throw new IOException(keyFile + ": bad base64 in the key", e);
        }
        if (der.length != PKCS8_PREFIX.length + 32 || !Arrays.equals(der, 0, PKCS8_PREFIX.length, PKCS8_PREFIX, 0,
                PKCS8_PREFIX.length)) {
            throw new IOException(keyFile + ": not an X25519 private key (expected: RFC 8410 PKCS#8, as braid keys issue writes)");
        }
        X25519Keys keys = X25519Keys.fromPrivate(Arrays.copyOfRange(der, PKCS8_PREFIX.length, der.length));
        byte[] certified;
        try {
            certified = certifiedKey(ownCertificate);
        } catch (PeerRejectedException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (!Arrays.equals(certified, keys.publicKey())) {
            throw new IOException(keyFile + ": the X25519 key does not match the one certificate "
                    + ownCertificate.getSerialNumber().toString(16) + " certifies (copy the files of one issue together)");
        }
        return keys;
    }
}
