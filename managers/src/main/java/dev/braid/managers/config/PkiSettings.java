package dev.braid.managers.config;

import java.util.List;
import java.util.Locale;

/**
 * Node identity and trust: where each node finds its own key and certificate and the Braid CA
 * certificates it trusts, and the revocation lists the managers distribute with the configuration.
 * {@code docs/security.md} describes the whole scheme.
 *
 * <p>The trust bundle is a local file on purpose: the configuration can revoke trust (a CRL is
 * honoured only when a CA the node already trusts signed it) but never grant it.
 *
 * @param trustBundle        PEM file of the CA certificates a node trusts (default
 *                           {@code /etc/braid/pki/trust.pem}); during a CA rotation it holds the old and the new CA
 * @param certificate        PEM file of the node's certificate chain; {@code {name}} and {@code {role}}
 *                           are replaced by the node's name and role (default {@code /etc/braid/pki/{name}.crt})
 * @param key                PEM file of the node's private key, same placeholders (default {@code /etc/braid/pki/{name}.key})
 * @param crls               X.509 CRLs in PEM, at most one per issuing CA, as {@code braid keys publish} writes them
 * @param reloadCheckSeconds how often a node checks its key, certificate, trust bundle and site
 *                           certificate files for changes, in seconds (default 10)
 */
public record PkiSettings(String trustBundle, String certificate, String key, List<String> crls,
                          Integer reloadCheckSeconds) {

    public static final PkiSettings DEFAULT = new PkiSettings(null, null, null, null, null);

    public static final String DEFAULT_TRUST_BUNDLE = "/etc/braid/pki/trust.pem";
    public static final String DEFAULT_CERTIFICATE = "/etc/braid/pki/{name}.crt";
    public static final String DEFAULT_KEY = "/etc/braid/pki/{name}.key";
    public static final int DEFAULT_RELOAD_CHECK_SECONDS = 10;

    public PkiSettings {
        trustBundle = trustBundle == null ? DEFAULT_TRUST_BUNDLE : trustBundle;
        certificate = certificate == null ? DEFAULT_CERTIFICATE : certificate;
        key = key == null ? DEFAULT_KEY : key;
        crls = crls == null ? List.of() : List.copyOf(crls);
        reloadCheckSeconds = reloadCheckSeconds == null ? DEFAULT_RELOAD_CHECK_SECONDS : reloadCheckSeconds;
    }

    /** The same settings with {@code crls} replaced. */
    public PkiSettings withCrls(List<String> newCrls) {
        return new PkiSettings(trustBundle, certificate, key, newCrls, reloadCheckSeconds);
    }

    /** The files of one node's identity: {@link #certificate} and {@link #key} with the placeholders filled in. */
    public CertificateFiles identityOf(String role, String name) {
        return new CertificateFiles(fill(certificate, role, name), fill(key, role, name));
    }

    private static String fill(String template, String role, String name) {
        return template.replace("{name}", name).replace("{role}", role.toLowerCase(Locale.ROOT));
    }
}
