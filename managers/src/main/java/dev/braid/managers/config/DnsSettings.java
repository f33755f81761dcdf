package dev.braid.managers.config;

import java.util.List;

/**
 * What the redirectors answer beyond the sites' names, and how they choose: explicit zones with
 * static records, the prefix table that maps client networks to regions, the ordered hand-off
 * weights, referral to redirectors at the clients' points of presence, the front-end probes and
 * response rate limiting. The top-level {@code dns} key; every field has a default.
 *
 * @param zones              explicitly configured zones, each with its static records (default none)
 * @param clientNetworks     the prefix table: client networks and the region each is in; the longest
 *                           matching prefix wins (default none: every client is in no region)
 * @param handoffWeights     ordered hand-off weights: the share of answers that start with the best,
 *                           second best, ... ranked front-end (default [4, 2, 1])
 * @param referral           whether top-level redirectors refer a client to a redirector of its
 *                           region when one is configured (default false)
 * @param referralTtlSeconds TTL of the CNAME and delegation records of a referral, in seconds (default 300)
 * @param probe              the redirectors' own TCP connect probes of the front-ends
 * @param rrl                response rate limiting against reflection
 */
public record DnsSettings(List<DnsZone> zones, List<ClientNetwork> clientNetworks, List<Integer> handoffWeights,
                          Boolean referral, Integer referralTtlSeconds, ProbeSettings probe, RrlSettings rrl) {

    public static final List<Integer> DEFAULT_HANDOFF_WEIGHTS = List.of(4, 2, 1);
    public static final DnsSettings DEFAULT = new DnsSettings(null, null, null, null, null, null, null);

    public DnsSettings {
        zones = zones == null ? List.of() : List.copyOf(zones);
        clientNetworks = clientNetworks == null ? List.of() : List.copyOf(clientNetworks);
        handoffWeights = handoffWeights == null ? DEFAULT_HANDOFF_WEIGHTS : List.copyOf(handoffWeights);
        referral = referral != null && referral;
        referralTtlSeconds = referralTtlSeconds == null ? 300 : referralTtlSeconds;
        probe = probe == null ? ProbeSettings.DEFAULT : probe;
        rrl = rrl == null ? RrlSettings.DEFAULT : rrl;
    }

    /**
     * A zone the redirectors serve, with static records beside the site names inside it. Its SOA
     * and apex NS records are always synthesised from the configuration.
     *
     * @param name    the apex, a DNS name without trailing dot
     * @param records static records (default none)
     */
    public record DnsZone(String name, List<DnsRecord> records) {
        public DnsZone {
            records = records == null ? List.of() : List.copyOf(records);
        }
    }

    /**
     * One static record.
     *
     * @param name the owner: {@code @} for the apex, a name relative to the zone, or an absolute name
     *             ending in a dot inside the zone
     * @param type {@code A}, {@code AAAA}, {@code CNAME} or {@code NS} (an NS below the apex delegates)
     * @param ttl  seconds (default 3600)
     * @param data an IP literal for A and AAAA; an absolute DNS name (trailing dot optional) for CNAME and NS
     */
    public record DnsRecord(String name, String type, Integer ttl, String data) {
        public static final int DEFAULT_TTL = 3600;

        public DnsRecord {
            ttl = ttl == null ? DEFAULT_TTL : ttl;
        }
    }

    /**
     * One row of the prefix table.
     *
     * @param prefix a network in CIDR notation, no host bits set
     * @param region the region its clients are in
     */
    public record ClientNetwork(String prefix, String region) {
    }

    /**
     * The redirectors' TCP connect probes of each front-end's HTTP port. A front-end is taken out
     * of the answers after {@code fall} failed probes in a row and back after {@code rise}
     * successful ones.
     *
     * @param intervalMillis time between the starts of two probes of one front-end (default 500)
     * @param timeoutMillis  a connect not done by then fails (default 500)
     * @param rise           successes in a row that make a dead front-end alive (default 2)
     * @param fall           failures in a row that make a live front-end dead (default 3)
     */
    public record ProbeSettings(Integer intervalMillis, Integer timeoutMillis, Integer rise, Integer fall) {
        public static final ProbeSettings DEFAULT = new ProbeSettings(null, null, null, null);

        public ProbeSettings {
            intervalMillis = intervalMillis == null ? 500 : intervalMillis;
            timeoutMillis = timeoutMillis == null ? 500 : timeoutMillis;
            rise = rise == null ? 2 : rise;
            fall = fall == null ? 3 : fall;
        }
    }

    /**
     * Response rate limiting over UDP: identical answers to one client network are limited to a
     * rate; of the answers over it, every {@code slip}-th goes out truncated (empty, TC set, so a
     * real client retries over TCP) and the others are dropped.
     *
     * @param responsesPerSecond answers per second per client network and answer kind; 0 turns it off (default 200)
     * @param slip               every slip-th limited answer is sent truncated; 0 drops them all (default 2)
     * @param ipv4PrefixLength   IPv4 clients are grouped by networks of this length (default 24)
     * @param ipv6PrefixLength   IPv6 clients are grouped by networks of this length (default 56)
     */
    public record RrlSettings(Integer responsesPerSecond, Integer slip, Integer ipv4PrefixLength,
                              Integer ipv6PrefixLength) {
        public static final RrlSettings DEFAULT = new RrlSettings(null, null, null, null);
        public static final RrlSettings OFF = new RrlSettings(0, null, null, null);

        public RrlSettings {
            responsesPerSecond = responsesPerSecond == null ? 200 : responsesPerSecond;
            slip = slip == null ? 2 : slip;
            ipv4PrefixLength = ipv4PrefixLength == null ? 24 : ipv4PrefixLength;
            ipv6PrefixLength = ipv6PrefixLength == null ? 56 : ipv6PrefixLength;
        }
    }
}
