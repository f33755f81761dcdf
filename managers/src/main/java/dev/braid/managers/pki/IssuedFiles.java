package dev.braid.managers.pki;

import java.nio.file.Path;

/**
 * What {@link CertificateAuthority#issue} wrote for a node.
 *
 * @param certificate the node certificate followed by the issuing CA's
 * @param key         the node's private key, mode 0600
 * @param trustBundle the CA certificates the node should trust
 */
public record IssuedFiles(CertificateEntry entry, Path certificate, Path key, Path trustBundle) {
}
