package dev.braid.managers.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DnsConfigTest {

    private static final String BASE = TestConfigs.exampleYaml();

    private static List<String> errors(String dnsYaml) {
        return ConfigValidator.validate(ConfigLoader.parse(BASE + "\n" + dnsYaml));
    }

    @Test
    void defaultsAndAFullSectionParse() {
        BraidConfig plain = TestConfigs.example();
        assertEquals(DnsSettings.DEFAULT, plain.dns());
        assertEquals(List.of(4, 2, 1), plain.dns().handoffWeights());
        assertEquals(200, plain.dns().rrl().responsesPerSecond());
        assertEquals(3, plain.dns().probe().fall());

        String yaml = BASE + """

                dns:
                  zones:
                    - name: shop.example
                      records:
                        - {name: static, type: A, data: 192.0.2.1}
                        - {name: alias, type: CNAME, ttl: 60, data: www.shop.example.}
                        - {name: sub, type: NS, data: ns.sub.shop.example}
                        - {name: ns.sub, type: A, data: 192.0.2.53}
                  clientNetworks:
                    - {prefix: 198.51.100.0/24, region: eu}
                    - {prefix: '2001:db8::/32', region: us}
                  handoffWeights: [6, 4, 2, 1]
                  referral: true
                  probe: {intervalMillis: 200, fall: 2}
                  rrl: {responsesPerSecond: 0}
                """;
        BraidConfig c = ConfigLoader.parse(yaml);
        assertEquals(List.of(), ConfigValidator.validate(c));
        assertEquals(4, c.dns().zones().get(0).records().size());
        assertEquals(60, c.dns().zones().get(0).records().get(1).ttl());
        assertEquals(3600, c.dns().zones().get(0).records().get(0).ttl());
        assertEquals(200, c.dns().probe().intervalMillis());
        assertEquals(500, c.dns().probe().timeoutMillis());
        assertEquals(0, c.dns().rrl().responsesPerSecond());
        assertEquals(c, ConfigLoader.parse(ConfigLoader.toJson(c)), "the canonical JSON round-trips");
    }

    @Test
    void recordsAreCheckedAgainstTheZoneAndTheSites() {
        assertEquals(List.of(
                        "dns.zones[0].records[0].name: x.other.example. (expected: @, a name relative to shop.example, "
                                + "or an absolute name inside it ending in '.')",
                        "dns.zones[0].records[1].type: MX (expected: A, AAAA, CNAME, NS)",
                        "dns.zones[0].records[2].data: 2001:db8::1 (expected: an IPv4 address literal)",
                        "dns.zones[0].records[3].name: www (expected: a name no site lists: www.shop.example is a "
                                + "site name, answered from its front-ends)",
                        "dns.zones[0].records[4].name: @ (expected: a name below the apex: the apex NS records are "
                                + "the redirectors)",
                        "dns.zones[0].records[4].name: @ (expected: a name no site lists: shop.example is a site name, "
                                + "answered from its front-ends)",
                        "dns.zones[0].records[6].type: CNAME (expected: no other data at mail.shop.example "
                                + "(RFC 2181 §10.1: a CNAME stands alone))"),
                errors("""
                        dns:
                          zones:
                            - name: shop.example
                              records:
                                - {name: x.other.example., type: A, data: 192.0.2.1}
                                - {name: mx, type: MX, data: mail.shop.example}
                                - {name: v4, type: A, data: '2001:db8::1'}
                                - {name: www, type: A, data: 192.0.2.1}
                                - {name: '@', type: NS, data: ns.elsewhere.example}
                                - {name: mail, type: A, data: 192.0.2.2}
                                - {name: mail, type: CNAME, data: www.shop.example}
                        """));
        assertEquals(List.of(
                        "dns.zones[0].records[2]: \"a A 192.0.2.9\" (expected: each record once; dns.zones[0].records[0] has it)",
                        "dns.zones[0].records[1].name: x.sub (expected: a name not below the delegation at "
                                + "sub.shop.example (only A and AAAA glue may sit there))"),
                errors("""
                        dns:
                          zones:
                            - name: shop.example
                              records:
                                - {name: a, type: A, data: 192.0.2.9}
                                - {name: x.sub, type: CNAME, data: www.shop.example}
                                - {name: a, type: A, data: 192.0.2.9}
                                - {name: sub, type: NS, data: ns.sub.shop.example}
                        """));
    }

    @Test
    void tablesWeightsAndLimitsHaveRanges() {
        assertEquals(List.of(
                        "dns.clientNetworks[0].prefix: 10.0.0.1/8 (expected: a network in CIDR notation with no host bits "
                                + "set, such as 198.51.100.0/24 or 2001:db8::/32)",
                        "dns.clientNetworks[2].prefix: 10.0.0.0/8 (expected: a network listed once; "
                                + "dns.clientNetworks[1] has it)",
                        "dns.clientNetworks[2].region: \"a b\" (expected: " + Names.NAME_EXPECTED + ")",
                        "dns.handoffWeights[0]: 0 (expected: 1..64 (the best front-end must get some answers))",
                        "dns.handoffWeights[1]: 65 (expected: 0..64)",
                        "dns.probe.fall: 0 (expected: 1..100)",
                        "dns.rrl.slip: 11 (expected: 0..10)",
                        "dns.rrl.ipv6PrefixLength: 129 (expected: 16..128)"),
                errors("""
                        dns:
                          clientNetworks:
                            - {prefix: 10.0.0.1/8, region: eu}
                            - {prefix: 10.0.0.0/8, region: eu}
                            - {prefix: 10.0.0.0/8, region: 'a b'}
                          handoffWeights: [0, 65]
                          probe: {fall: 0}
                          rrl: {slip: 11, ipv6PrefixLength: 129}
                        """));
    }

    @Test
    void redirectorRegionAddressAndExternalServer() {
        String base = BASE.replace("    admin: 127.0.0.1:5380\n", "    admin: 127.0.0.1:5380\n    %s\n");
        assertEquals(List.of("redirectors[0].publicAddress: 0.0.0.0 (expected: the IP address resolvers reach this "
                        + "redirector at, an IPv4 or IPv6 literal, not a wildcard or multicast address)",
                        "redirectors[0].region: eu_west (expected: a region name that is also a DNS label: 1 to 63 "
                                + "letters, digits and '-', not starting or ending with '-')"),
                ConfigValidator.validate(ConfigLoader.parse(base.formatted(
                        "publicAddress: 0.0.0.0\n    region: eu_west"))));
        assertEquals(List.of("redirectors[0].external.server: example.net:53 (expected: an IP literal and a port in 1..65535)",
                        "redirectors[0].external.algorithm: hmac-md5 (expected: hmac-sha256, hmac-sha384, hmac-sha512)",
                        "redirectors[0].external.secret: (hidden) (expected: exactly one of secret and secretFile)"),
                ConfigValidator.validate(ConfigLoader.parse(base.formatted(
                        "external: {server: 'example.net:53', keyName: k1, algorithm: hmac-md5, secret: c2VjcmV0c2VjcmV0c2VjcmV0, secretFile: /k}"))));
        assertEquals(List.of(), ConfigValidator.validate(ConfigLoader.parse(base.formatted(
                "region: eu-west\n    publicAddress: 192.0.2.53\n"
                        + "    external: {server: '127.0.0.1:53', keyName: k1., secret: c2VjcmV0c2VjcmV0c2VjcmV0}"))));
    }
}
