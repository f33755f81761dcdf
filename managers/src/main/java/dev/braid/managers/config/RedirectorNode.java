package dev.braid.managers.config;

/**
 * A redirector: the authoritative DNS server for the sites' names.
 *
 * @param listen      DNS address, UDP and TCP, {@code host:port} (default 0.0.0.0:5300)
 * @param admin       admin endpoint, {@code host:port} (default 0.0.0.0:5380)
 * @param answerCount how many front-end addresses an answer lists at most (default 2)
 */
public record RedirectorNode(String name, String listen, String admin, Integer answerCount) {

    public RedirectorNode {
        listen = listen == null ? "0.0.0.0:5300" : listen;
        admin = admin == null ? "0.0.0.0:5380" : admin;
        answerCount = answerCount == null ? 2 : answerCount;
    }
}
