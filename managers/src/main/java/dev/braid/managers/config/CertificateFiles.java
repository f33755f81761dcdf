package dev.braid.managers.config;

/**
 * A private key and its certificate chain, as PEM files on the node that uses them. The files are
 * read by the node, never by the managers, and re-read when they change (see {@code pki.reloadCheckSeconds}).
 *
 * @param certificate PEM file: the certificate first, then any intermediate certificates
 * @param key         PEM file: the private key (PKCS#8, unencrypted; readable by the node only)
 */
public record CertificateFiles(String certificate, String key) {
}
