package dev.braid.managers.pki;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.braid.managers.config.ConfigValidator;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The Braid certificate authority: a directory holding the CA keys and certificates, an index of
 * every node certificate issued, the trust bundle nodes pin, and one signed CRL per trusted CA.
 * {@code braid keys} is its command line; {@code docs/security.md} describes the scheme.
 *
 * <p>Keys are EC P-256 and signatures ECDSA with SHA-256: every JDK's TLS stack, OpenSSL and
 * hardware key stores support them for TLS 1.2 and 1.3 alike, which Ed25519 certificates still
 * are not (no browser accepts them, and a front-end may present its own certificate to clients).
 *
 * <p>Node certificates name the node twice: the subject {@code CN=<name>, OU=<role>, O=Braid} for
 * people, and the subject alternative name URI {@code urn:braid:<role>:<name>} for peers, which
 * check it. Serial numbers are 128 random bits. Validity starts five minutes in the past, so that
 * a peer whose clock is a little behind accepts a fresh certificate.
 *
 * <p>Files ({@code <dir>} is made mode 0700; keys are written mode 0600, everything by atomic
 * rename, so a crash leaves the old or the new file, never a part):
 * <pre>
 *   ca.json          the index: authorities, issued certificates, revocations, the CRL number
 *   ca-N.key         CA N's private key (PKCS#8 PEM); deleted when the CA is retired
 *   ca-N.crt         CA N's certificate
 *   crl-N.pem        CA N's current CRL
 *   trust.pem        the certificates of every CA not retired: what nodes trust
 *   issued/S.crt     every node certificate issued, by serial (hex)
 *   lock             held while a command works on the directory
 * </pre>
 *
 * <p>An instance holds the directory's lock from {@link #init} or {@link #open} until
 * {@link #close}; a second process (or instance) on the same directory is refused.
 */
public final class CertificateAuthority implements AutoCloseable {

    public static final Duration DEFAULT_NODE_VALIDITY = Duration.ofDays(90);
    public static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(3650);
    public static final Duration DEFAULT_CRL_VALIDITY = Duration.ofDays(30);
    /** Prefix of the subject alternative name URI that carries a node's role and name. */
    public static final String NODE_URI_PREFIX = "urn:braid:";
    /**
     * The certificate extension carrying the node's X25519 static key for the UDP carrier's Noise
     * handshake: an OCTET STRING of the 32-byte public key, non-critical (TLS stacks ignore it). An
     * OID under {@code 2.25} (a UUID, ITU-T X.667), which needs no registration.
     */
    public static final String TMP_STATIC_KEY_OID = "2.25.91592753037067042630596503225477633042";
    /** Suffix of the file beside {@code <name>.key} holding the X25519 private key (PKCS#8 PEM, 0600). */
    public static final String TMP_KEY_SUFFIX = ".x25519.key";
    private static final byte[] X25519_PKCS8_PREFIX = java.util.HexFormat.of().parseHex("302e020100300506032b656e04220420");
    /** How far back validity starts, for peers whose clocks lag. */
    static final Duration BACKDATE = Duration.ofMinutes(5);

    static final String INDEX = "ca.json";
    static final String TRUST_BUNDLE = "trust.pem";
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final int FORMAT = 1;
    private static final Set<PosixFilePermission> SECRET = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> PUBLIC = PosixFilePermissions.fromString("rw-r--r--");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** RFC 5280 §5.3.1 reason codes, by the names {@code braid keys revoke --reason} takes. */
    public static final Map<String, Integer> REASONS = reasons();

    private final Path dir;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final List<AuthorityEntry> authorities = new ArrayList<>();
    private final List<CertificateEntry> certificates = new ArrayList<>();
    private int current;
    private long crlNumber;
    private Duration crlValidity;

    private CertificateAuthority(Path dir, Clock clock) throws IOException {
        this.dir = dir;
        this.clock = clock;
        this.lockChannel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            lockChannel.close();
            throw new IOException(dir + ": the CA directory is in use by another command (lock held)");
        }
        this.lock = l;
    }

    /**
     * Creates a CA in {@code dir} (made if missing; it must not hold a CA already): its first key
     * and self-signed certificate, an empty CRL and the trust bundle.
     *
     * @param commonName the CA certificate's common name; null for {@code Braid CA 1}
     */
    public static CertificateAuthority init(Path dir, String commonName, Duration validity, Clock clock)
            throws IOException {
        Files.createDirectories(dir, directoryMode());
        if (Files.exists(dir.resolve(INDEX))) {
            throw new FileAlreadyExistsException(dir.resolve(INDEX).toString(), null,
                    "a CA already exists there (expected: an empty or new directory)");
        }
        CertificateAuthority ca = new CertificateAuthority(dir, clock);
        try {
            ca.crlValidity = DEFAULT_CRL_VALIDITY;
            ca.current = ca.newAuthority(commonName, validity);
            ca.publish();
            return ca;
        } catch (IOException | RuntimeException e) {
            ca.close();
            throw e;
        }
    }

    /** Opens the CA in {@code dir}. */
    public static CertificateAuthority open(Path dir, Clock clock) throws IOException {
        if (!Files.isRegularFile(dir.resolve(INDEX))) {
            throw new IOException(dir + ": no CA there (expected: a directory made by braid keys init)");
        }
        CertificateAuthority ca = new CertificateAuthority(dir, clock);
        try {
            ca.readIndex();
            return ca;
        } catch (IOException | RuntimeException e) {
            ca.close();
            throw e;
        }
    }

    public Path directory() {
        return dir;
    }

    /** The file nodes pin as their trust bundle. */
    public Path trustBundle() {
        return dir.resolve(TRUST_BUNDLE);
    }

    /** Every CA, oldest first, retired ones included. */
    public List<AuthorityEntry> authorities() {
        return List.copyOf(authorities);
    }

    /** The CA that issues new certificates. */
    public AuthorityEntry currentAuthority() {
        return authority(current);
    }

    /** Every node certificate issued, oldest first. */
    public List<CertificateEntry> certificates() {
        return List.copyOf(certificates);
    }

    /** The certificate of CA {@code id}. */
    public X509Certificate authorityCertificate(int id) throws IOException {
        return Pem.certificates(Files.readAllBytes(dir.resolve("ca-" + id + ".crt"))).get(0);
    }

    /**
     * Issues a key and certificate for a node, signed by the current CA, and writes them to
     * {@code outDir}: {@code <name>.key} (mode 0600), {@code <name>.x25519.key} (the static key of the
     * UDP carrier's Noise handshake, mode 0600; the certificate certifies its public half in extension
     * {@link #TMP_STATIC_KEY_OID}), {@code <name>.crt} (the node certificate, then
     * the CA's) and {@code trust.pem}. Files of an earlier certificate of the same name are replaced
     * (renewal: a running node picks the new ones up); the earlier certificate stays valid until it
     * expires or is revoked.
     *
     * @throws IllegalArgumentException for a bad name or a validity the CA cannot cover
     */
    public IssuedFiles issue(NodeRole role, String name, Duration validity, Path outDir) throws IOException {
        if (!ConfigValidator.isName(name)) {
            throw new IllegalArgumentException("name: " + name + " (expected: " + ConfigValidator.NAME_EXPECTED + ")");
        }
        Instant now = clock.instant();
        AuthorityEntry ca = currentAuthority();
        Instant notAfter = checkedValidity(validity, now);
        if (notAfter.isAfter(ca.notAfter())) {
            throw new IllegalArgumentException("validity: " + validity.toDays() + " days (expected: ending before the "
                    + "current CA expires on " + ca.notAfter() + "; rotate the CA with braid keys rotate)");
        }
        Instant notBefore = now.minus(BACKDATE);
        KeyPair keys = newKeyPair();
        byte[] tmpPrivate = new byte[32];
        org.bouncycastle.math.ec.rfc7748.X25519.generatePrivateKey(random, tmpPrivate);
        byte[] tmpPublic = new byte[32];
        org.bouncycastle.math.ec.rfc7748.X25519.scalarMultBase(tmpPrivate, 0, tmpPublic, 0);
        BigInteger serial = newSerial();
        X509Certificate caCert = authorityCertificate(ca.id());
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Braid")
                .addRDN(BCStyle.OU, role.label())
                .addRDN(BCStyle.CN, name)
                .build();
        X509Certificate cert;
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial, Date.from(notBefore),
                    Date.from(notAfter), subject, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    // Both: a node is a TLS server to some peers and a client to others.
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
                            new GeneralName(GeneralName.uniformResourceIdentifier, nodeUri(role, name))))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert))
                    .addExtension(new org.bouncycastle.asn1.ASN1ObjectIdentifier(TMP_STATIC_KEY_OID), false,
                            new org.bouncycastle.asn1.DEROctetString(tmpPublic));
            cert = new JcaX509CertificateConverter().getCertificate(b.build(signer(ca.id())));
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot sign a certificate for " + name, e);
        }
        CertificateEntry entry = new CertificateEntry(serial, role, name, ca.id(), notBefore, notAfter, null, null);
        certificates.add(entry);
        writeFile(dir.resolve("issued").resolve(entry.serialHex() + ".crt"), Pem.certificate(cert), false);
        writeIndex();
        Files.createDirectories(outDir);
        Path keyFile = outDir.resolve(name + ".key");
        Path tmpKeyFile = outDir.resolve(name + TMP_KEY_SUFFIX);
        Path certFile = outDir.resolve(name + ".crt");
        Path trust = outDir.resolve(TRUST_BUNDLE);
        // The keys first: a node that reloads between the writes sees a key that does not
        // match its certificate, refuses the pair and keeps its old one until the next check.
        writeFile(tmpKeyFile, Pem.privateKey(x25519PrivateKey(tmpPrivate)), true);
        writeFile(keyFile, Pem.privateKey(keys.getPrivate()), true);
        writeFile(certFile, Pem.certificate(cert) + Pem.certificate(caCert), false);
        if (!trust.toAbsolutePath().normalize().equals(trustBundle().toAbsolutePath().normalize())) {
            writeFile(trust, Files.readString(trustBundle(), StandardCharsets.US_ASCII), false);
        }
        return new IssuedFiles(entry, certFile, keyFile, trust);
    }

    /**
     * Revokes the certificates {@code id} names: a serial number in hex revokes that certificate;
     * a node name revokes every certificate of that name still valid. The CRLs are signed anew.
     *
     * @param reason one of {@link #REASONS}, or null for {@code unspecified}
     * @return the certificates revoked now (empty when all were revoked already)
     * @throws IllegalArgumentException when {@code id} names no certificate, or for an unknown reason
     */
    public List<CertificateEntry> revoke(String id, String reason) throws IOException {
        String why = reason == null ? "unspecified" : reason;
        if (!REASONS.containsKey(why)) {
            throw new IllegalArgumentException("reason: " + reason + " (expected: one of " + REASONS.keySet() + ")");
        }
        Instant now = clock.instant();
        List<Integer> matches = new ArrayList<>();
        for (int i = 0; i < certificates.size(); i++) {
            CertificateEntry c = certificates.get(i);
            if (c.name().equals(id) || c.serialHex().equalsIgnoreCase(stripHex(id))) {
                matches.add(i);
            }
        }
        if (matches.isEmpty()) {
            throw new IllegalArgumentException("id: " + id + " (expected: the name of a node or the serial number "
                    + "of a certificate this CA issued; see braid keys list)");
        }
        List<CertificateEntry> revoked = new ArrayList<>();
        for (int i : matches) {
            CertificateEntry c = certificates.get(i);
            boolean bySerial = !c.name().equals(id);
            if (c.isRevoked() || !bySerial && !now.isBefore(c.notAfter())) {
                continue;
            }
            CertificateEntry r = c.revoked(now, why);
            certificates.set(i, r);
            revoked.add(r);
        }
        if (!revoked.isEmpty()) {
            publish();
        }
        return revoked;
    }

    /**
     * Starts a CA rotation: makes a new CA, which issues from now on. The old CAs stay in the
     * trust bundle, so certificates they issued keep working, until {@link #retire} removes them.
     */
    public AuthorityEntry rotate(String commonName, Duration validity) throws IOException {
        current = newAuthority(commonName, validity);
        publish();
        return currentAuthority();
    }

    /**
     * Ends a rotation: removes CA {@code id} (null: every CA but the current one) from the trust
     * bundle and deletes its key. Refused while a certificate it issued is still valid, unless
     * {@code force}: nodes holding one would be cut off.
     *
     * @return the CAs retired now
     * @throws IllegalArgumentException for the current CA, an unknown id, or valid certificates left
     */
    public List<AuthorityEntry> retire(Integer id, boolean force) throws IOException {
        if (id != null && id == current) {
            throw new IllegalArgumentException("ca: " + id + " (expected: a CA other than the current one; "
                    + "braid keys rotate first)");
        }
        if (id != null && authorities.stream().noneMatch(a -> a.id() == id)) {
            throw new IllegalArgumentException("ca: " + id + " (expected: one of "
                    + authorities.stream().map(AuthorityEntry::id).toList() + ")");
        }
        Instant now = clock.instant();
        List<AuthorityEntry> retired = new ArrayList<>();
        for (int i = 0; i < authorities.size(); i++) {
            AuthorityEntry a = authorities.get(i);
            if (a.id() == current || a.isRetired() || id != null && a.id() != id) {
                continue;
            }
            List<String> left = certificates.stream()
                    .filter(c -> c.authority() == a.id() && c.isValidAt(now))
                    .map(c -> c.role().label() + " " + c.name())
                    .toList();
            if (!left.isEmpty() && !force) {
                throw new IllegalArgumentException("ca: " + a.id() + " still has valid certificates " + left
                        + " (expected: none; issue them anew from the current CA, or retire with --force)");
            }
            AuthorityEntry r = a.retired(now);
            authorities.set(i, r);
            retired.add(r);
        }
        if (!retired.isEmpty()) {
            publish();
            for (AuthorityEntry r : retired) {
                Files.deleteIfExists(dir.resolve("ca-" + r.id() + ".key"));
                Files.deleteIfExists(dir.resolve("crl-" + r.id() + ".pem"));
            }
        }
        return retired;
    }

    /** Signs every CRL anew (a new CRL number and next update), as before a CRL's next update passes. */
    public void refreshCrls() throws IOException {
        publish();
    }

    /** The current CRL of every CA not retired, in PEM, oldest CA first: what {@code pki.crls} carries. */
    public List<String> crls() throws IOException {
        List<String> pems = new ArrayList<>();
        for (AuthorityEntry a : authorities) {
            if (!a.isRetired()) {
                pems.add(Files.readString(dir.resolve("crl-" + a.id() + ".pem"), StandardCharsets.US_ASCII));
            }
        }
        return pems;
    }

    /** The SAN URI naming a node: {@code urn:braid:<role>:<name>}. */
    public static String nodeUri(NodeRole role, String name) {
        return NODE_URI_PREFIX + role.label() + ":" + name;
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            lockChannel.close();
        }
    }

    // ---- internals ----

    private AuthorityEntry authority(int id) {
        return authorities.stream().filter(a -> a.id() == id).findFirst()
                .orElseThrow(() -> new IllegalStateException(dir + "/" + INDEX + ": no CA " + id));
    }

    private int newAuthority(String commonName, Duration validity) throws IOException {
        Instant now = clock.instant();
        Instant notAfter = checkedValidity(validity, now);
        int id = authorities.stream().mapToInt(AuthorityEntry::id).max().orElse(0) + 1;
        KeyPair keys = newKeyPair();
        BigInteger serial = newSerial();
        X500Name name = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Braid")
                .addRDN(BCStyle.CN, commonName == null ? "Braid CA " + id : commonName)
                .build();
        X509Certificate cert;
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial, Date.from(now.minus(BACKDATE)),
                    Date.from(notAfter), name, keys.getPublic())
                    // Path length 0: the CA signs node certificates only, never another CA.
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(keys.getPrivate());
            cert = new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make a CA certificate", e);
        }
        writeFile(dir.resolve("ca-" + id + ".key"), Pem.privateKey(keys.getPrivate()), true);
        writeFile(dir.resolve("ca-" + id + ".crt"), Pem.certificate(cert), false);
        authorities.add(new AuthorityEntry(id, cert.getSubjectX500Principal().getName(), serial,
                cert.getNotBefore().toInstant(), notAfter, null));
        return id;
    }

    /** Signs every live CA's CRL, rewrites the trust bundle, then the index. */
    private void publish() throws IOException {
        Instant now = clock.instant();
        crlNumber++;
        for (AuthorityEntry a : authorities) {
            if (!a.isRetired()) {
                writeFile(dir.resolve("crl-" + a.id() + ".pem"), Pem.crl(signCrl(a, now)), false);
            }
        }
        StringBuilder bundle = new StringBuilder();
        for (AuthorityEntry a : authorities.stream().sorted(Comparator.comparingInt(AuthorityEntry::id).reversed()).toList()) {
            if (!a.isRetired()) {
                bundle.append(Pem.certificate(authorityCertificate(a.id())));
            }
        }
        writeFile(trustBundle(), bundle.toString(), false);
        writeIndex();
    }

    private X509CRL signCrl(AuthorityEntry a, Instant now) throws IOException {
        X509Certificate caCert = authorityCertificate(a.id());
        try {
            X509v2CRLBuilder b = new JcaX509v2CRLBuilder(caCert.getSubjectX500Principal(), Date.from(now));
            b.setNextUpdate(Date.from(now.plus(crlValidity)));
            for (CertificateEntry c : certificates) {
                if (c.authority() == a.id() && c.isRevoked()) {
                    b.addCRLEntry(c.serial(), Date.from(c.revokedAt()), REASONS.get(c.reason()));
                }
            }
            b.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(crlNumber)));
            b.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(caCert));
            return new JcaX509CRLConverter().getCRL(b.build(signer(a.id())));
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot sign the CRL of CA " + a.id(), e);
        }
    }

    private ContentSigner signer(int id) throws IOException, OperatorCreationException {
        Path keyFile = dir.resolve("ca-" + id + ".key");
        PrivateKey key = Pem.privateKey(Files.readAllBytes(keyFile), "EC");
        return new JcaContentSignerBuilder(SIGNATURE).build(key);
    }

    private KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is required of every Java platform", e);
        }
    }

    /** 128 random bits, never zero and never a serial this CA has used (RFC 5280 §4.1.2.2). */
    /** The X25519 scalar as a JDK key (RFC 8410 PKCS#8), so that it is written like every other key. */
    private static PrivateKey x25519PrivateKey(byte[] scalar) {
        byte[] der = java.util.Arrays.copyOf(X25519_PKCS8_PREFIX, X25519_PKCS8_PREFIX.length + scalar.length);
        System.arraycopy(scalar, 0, der, X25519_PKCS8_PREFIX.length, scalar.length);
        try {
            return java.security.KeyFactory.getInstance("X25519")
                    .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("X25519 keys unavailable", e);
        }
    }

    private BigInteger newSerial() {
        while (true) {
            BigInteger s = new BigInteger(128, random);
            boolean used = certificates.stream().anyMatch(c -> c.serial().equals(s))
                    || authorities.stream().anyMatch(a -> a.serial().equals(s));
            if (s.signum() > 0 && !used) {
                return s;
            }
        }
    }

    private static Instant checkedValidity(Duration validity, Instant now) {
        if (validity == null || validity.compareTo(Duration.ofHours(1)) < 0 || validity.toDays() > 36_500) {
            throw new IllegalArgumentException("validity: " + (validity == null ? null : validity.toDays() + " days")
                    + " (expected: 1 hour to 36500 days)");
        }
        return now.plus(validity);
    }

    private static String stripHex(String id) {
        String s = id.strip().toLowerCase(Locale.ROOT).replace(":", "");
        s = s.startsWith("0x") ? s.substring(2) : s;
        return s.replaceFirst("^0+(?=.)", "");
    }

    private static Map<String, Integer> reasons() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("unspecified", CRLReason.unspecified);
        m.put("keyCompromise", CRLReason.keyCompromise);
        m.put("affiliationChanged", CRLReason.affiliationChanged);
        m.put("superseded", CRLReason.superseded);
        m.put("cessationOfOperation", CRLReason.cessationOfOperation);
        return java.util.Collections.unmodifiableMap(m);
    }

    private static FileAttribute<?>[] directoryMode() {
        return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))};
    }

    /** Replaces {@code target} atomically; a secret file never exists, even briefly, with wider permissions. */
    static void writeFile(Path target, String text, boolean secret) throws IOException {
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.deleteIfExists(temp);
        try {
            try (FileChannel ch = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(secret ? SECRET : PUBLIC))) {
                ByteBuffer buffer = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(true);
            }
            // The umask may have narrowed the mode at creation; set it exactly.
            Files.setPosixFilePermissions(temp, secret ? SECRET : PUBLIC);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    private void writeIndex() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("current", current);
        root.put("crlNumber", crlNumber);
        root.put("crlValidityDays", crlValidity.toDays());
        ArrayNode cas = root.putArray("authorities");
        for (AuthorityEntry a : authorities) {
            ObjectNode n = cas.addObject();
            n.put("id", a.id());
            n.put("subject", a.subject());
            n.put("serial", a.serial().toString(16));
            n.put("notBefore", a.notBefore().toString());
            n.put("notAfter", a.notAfter().toString());
            n.put("retiredAt", a.retiredAt() == null ? null : a.retiredAt().toString());
        }
        ArrayNode certs = root.putArray("certificates");
        for (CertificateEntry c : certificates) {
            ObjectNode n = certs.addObject();
            n.put("serial", c.serialHex());
            n.put("role", c.role().label());
            n.put("name", c.name());
            n.put("authority", c.authority());
            n.put("notBefore", c.notBefore().toString());
            n.put("notAfter", c.notAfter().toString());
            n.put("revokedAt", c.revokedAt() == null ? null : c.revokedAt().toString());
            n.put("reason", c.reason());
        }
        writeFile(dir.resolve(INDEX), JSON.writeValueAsString(root) + "\n", false);
    }

    private void readIndex() throws IOException {
        Path file = dir.resolve(INDEX);
        try {
            JsonNode root = JSON.readTree(file.toFile());
            if (root.path("format").asInt() != FORMAT) {
                throw new IOException(file + ": format " + root.path("format") + " (expected: " + FORMAT + ")");
            }
            current = root.get("current").asInt();
            crlNumber = root.get("crlNumber").asLong();
            crlValidity = Duration.ofDays(root.get("crlValidityDays").asLong());
            for (JsonNode n : root.get("authorities")) {
                authorities.add(new AuthorityEntry(n.get("id").asInt(), n.get("subject").asText(),
                        new BigInteger(n.get("serial").asText(), 16), Instant.parse(n.get("notBefore").asText()),
                        Instant.parse(n.get("notAfter").asText()), instant(n.get("retiredAt"))));
            }
            for (JsonNode n : root.get("certificates")) {
                certificates.add(new CertificateEntry(new BigInteger(n.get("serial").asText(), 16),
                        NodeRole.parse(n.get("role").asText()), n.get("name").asText(), n.get("authority").asInt(),
                        Instant.parse(n.get("notBefore").asText()), Instant.parse(n.get("notAfter").asText()),
                        instant(n.get("revokedAt")), n.get("reason").isNull() ? null : n.get("reason").asText()));
            }
        } catch (RuntimeException e) {
            throw new IOException(file + ": unreadable CA index: " + e, e);
        }
        authority(current);
    }

    private static Instant instant(JsonNode n) {
        return n == null || n.isNull() ? null : Instant.parse(n.asText());
    }
}
