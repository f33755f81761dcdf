package dev.braid.managers.config;

/**
 * A redirector: an authoritative DNS server for the sites' names.
 *
 * @param listen        DNS address, UDP and TCP, {@code host:port} (default 0.0.0.0:5300)
 * @param admin         admin endpoint, {@code host:port} (default 0.0.0.0:5380)
 * @param answerCount   how many front-end addresses an answer lists at most (default 2)
 * @param publicAddress the IP address resolvers reach it at, for its name server address record
 *                      (default: the host of {@code listen} when that is a specific IP literal)
 * @param region        the region (point of presence) whose clients it serves; such a redirector
 *                      answers referrals for its region and is not in the zones' own NS sets
 *                      (default: none, a top-level redirector)
 * @param external      push the answers to an external authoritative server with RFC 2136 updates
 *                      instead of (or beside) answering queries (default: none)
 */
public record RedirectorNode(String name, String listen, String admin, Integer answerCount, String publicAddress,
                             String region, ExternalDns external) {

    public static final int DEFAULT_ANSWER_COUNT = 2;

    public RedirectorNode(String name, String listen, String admin, Integer answerCount) {
        this(name, listen, admin, answerCount, null, null, null);
    }

    public RedirectorNode {
        listen = listen == null ? "0.0.0.0:5300" : listen;
        admin = admin == null ? "0.0.0.0:5380" : admin;
        answerCount = answerCount == null ? DEFAULT_ANSWER_COUNT : answerCount;
    }

    /**
     * An external authoritative server that receives the redirector's answers as RFC 2136 dynamic
     * updates signed with TSIG (RFC 8945).
     *
     * @param server         the server's DNS address, {@code host:port} (an IP literal)
     * @param keyName        the TSIG key's name
     * @param algorithm      {@code hmac-sha256} (default), {@code hmac-sha384} or {@code hmac-sha512}
     * @param secret         the key, base64; or
     * @param secretFile     a file holding the key in base64 (one of the two)
     * @param intervalMillis how often the answers are recomputed and changes pushed (default 1000)
     */
    public record ExternalDns(String server, String keyName, String algorithm, String secret, String secretFile,
                              Integer intervalMillis) {
        public ExternalDns {
            algorithm = algorithm == null ? "hmac-sha256" : algorithm;
            intervalMillis = intervalMillis == null ? 1000 : intervalMillis;
        }
    }
}
