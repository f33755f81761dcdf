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
     * @param intervalMillis  how often the answers are recomputed, and the first wait before a failed
     *                        update is tried again (doubling up to 30 s); changes are pushed at once (default 1000)
     * @param reassertSeconds how often every name is pushed again, changed or not, so the server's records
     *                        come back if it lost or altered them (default 60)
     */
    public record ExternalDns(String server, String keyName, String algorithm, String secret, String secretFile,
                              Integer intervalMillis, Integer reassertSeconds) {
        public static final int DEFAULT_INTERVAL_MILLIS = 1000;
        public static final int DEFAULT_REASSERT_SECONDS = 60;

        public ExternalDns {
            algorithm = algorithm == null ? "hmac-sha256" : algorithm;
            intervalMillis = intervalMillis == null ? DEFAULT_INTERVAL_MILLIS : intervalMillis;
            reassertSeconds = reassertSeconds == null ? DEFAULT_REASSERT_SECONDS : reassertSeconds;
        }

        @Override
        public String toString() {
            // The key stays out of logs and error messages.
            return "ExternalDns[server=" + server + ", keyName=" + keyName + ", algorithm=" + algorithm
                    + ", secret=" + (secret == null ? "null" : "(hidden)") + ", secretFile=" + secretFile
                    + ", intervalMillis=" + intervalMillis + ", reassertSeconds=" + reassertSeconds + "]";
        }
    }
}
