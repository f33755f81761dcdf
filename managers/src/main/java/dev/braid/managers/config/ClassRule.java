package dev.braid.managers.config;

/**
 * One classification rule; every field that is set must match (null fields match anything).
 *
 * @param source     client address range in CIDR notation, e.g. {@code 10.0.0.0/8}
 * @param host       Host header, case-insensitive
 * @param pathPrefix request path prefix
 * @param method     request method
 * @param header     {@code Name: value} a request header must carry
 * @param cookie     {@code name=value} a request cookie must carry
 */
public record ClassRule(String source, String host, String pathPrefix, String method, String header, String cookie) {
}
