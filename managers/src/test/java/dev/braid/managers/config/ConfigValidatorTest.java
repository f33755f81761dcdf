package dev.braid.managers.config;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigValidatorTest {

    private static final String EXAMPLE = TestConfigs.exampleYaml();

    /** The example with one piece of text replaced; fails the test if the text is not there. */
    private static String edit(String yaml, String from, String to) {
        assertTrue(yaml.contains(from), () -> "example.yaml has no '" + from + "'");
        return yaml.replace(from, to);
    }

    private static List<String> errors(String yaml) {
        return ConfigValidator.validate(ConfigLoader.parse(yaml));
    }

    private static List<String> errorsAfter(String from, String to) {
        return errors(edit(EXAMPLE, from, to));
    }

    private static BraidConfig withTmp(TmpSettings tmp) {
        BraidConfig c = TestConfigs.example();
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), c.clientClasses(), c.redirectors(), c.managers(), tmp);
    }

    private static BraidConfig withClasses(ClientClass... classes) {
        BraidConfig c = TestConfigs.example();
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), List.of(classes), c.redirectors(), c.managers(), c.tmp());
    }

    private static ClientClass ruled(ClassRule rule) {
        return new ClientClass("c", 0, 1, List.of(rule));
    }

    @Test
    void validConfigurationsPassUnchanged() {
        BraidConfig example = TestConfigs.example();
        String before = ConfigLoader.toJson(example);
        assertEquals(List.of(), ConfigValidator.validate(example));
        assertEquals(before, ConfigLoader.toJson(example));
        assertEquals(List.of(), ConfigValidator.validate(BraidConfig.EMPTY));
    }

    @Test
    void namesAreUniqueAndWellFormed() {
        assertEquals(List.of("redirectors[1].name: rd-1 (expected: a name unique among redirectors; redirectors[0] has it)"),
                errorsAfter("\nmanagers:", "  - {name: rd-1, listen: 127.0.0.2:5300, admin: 127.0.0.2:5380}\n\nmanagers:"));
        assertEquals(List.of("backEnds[0].name: \"be 1\" (expected: 1 to 63 letters, digits, '.', '_' or '-', "
                        + "starting with a letter or digit)"),
                errors(edit(EXAMPLE.replace("[be-1]", "['be 1']"), "name: be-1", "name: 'be 1'")));
        assertEquals(List.of("clientClasses[1].name: null (expected: 1 to 63 letters, digits, '.', '_' or '-', "
                + "starting with a letter or digit)"), errorsAfter("name: standard", "name: null"));
        assertEquals(List.of("sites[0].origins[1].name: http://127.0.0.1:8000 (expected: a name unique among the "
                        + "site's origins; sites[0].origins[0] has it)"),
                errorsAfter("      - url: http://127.0.0.1:8000\n",
                        "      - url: http://127.0.0.1:8000\n      - url: http://127.0.0.1:8000\n        role: mirror\n"));
    }

    @Test
    void siteHasHostNamesThatAreDnsNames() {
        assertEquals(List.of("sites[0].hostnames: [] (expected: at least one host name)"),
                errorsAfter("hostnames: [www.shop.example, shop.example]", "hostnames: []"));
        for (String bad : List.of("shop_example.com", "shop.example.", "-shop.example", "10.0.0.1", "''", "a..b",
                "x".repeat(64) + ".example", "'*.shop.example'")) {
            List<String> errors = errorsAfter("hostnames: [www.shop.example, shop.example]", "hostnames: [" + bad + "]");
            assertEquals(1, errors.size(), bad);
            assertTrue(errors.get(0).startsWith("sites[0].hostnames[0]: ")
                    && errors.get(0).endsWith("(expected: a DNS name such as www.shop.example: labels of letters, "
                    + "digits and '-', no trailing dot)"), errors.get(0));
        }
        assertEquals(List.of(), errorsAfter("shop.example]", "SHOP.example, localhost, a-b.c0]"));
    }

    @Test
    void aHostNameIsServedByOneSiteOnly() {
        String twoSites = edit(EXAMPLE, "\nfrontEnds:", """
                  - name: blog
                    hostnames: [blog.example, WWW.Shop.Example]
                    origins: [{url: 'http://127.0.0.1:8001'}]

                frontEnds:""");
        assertEquals(List.of("sites[1].hostnames[1]: WWW.Shop.Example (expected: a host name served by one site only; "
                + "sites[0].hostnames[0] already lists it)"), errors(twoSites));
        assertEquals(List.of("sites[0].hostnames[1]: www.shop.example (expected: a host name served by one site only; "
                        + "sites[0].hostnames[0] already lists it)"),
                errorsAfter("[www.shop.example, shop.example]", "[www.shop.example, www.shop.example]"));
    }

    @Test
    void dnsTtlIsWithinADay() {
        assertEquals(List.of("sites[0].dnsTtlSeconds: -1 (expected: 0..86400)"),
                errorsAfter("    hostnames:", "    dnsTtlSeconds: -1\n    hostnames:"));
        assertEquals(List.of("sites[0].dnsTtlSeconds: 86401 (expected: 0..86400)"),
                errorsAfter("    hostnames:", "    dnsTtlSeconds: 86401\n    hostnames:"));
        assertEquals(List.of(), errorsAfter("    hostnames:", "    dnsTtlSeconds: 0\n    hostnames:"));
    }

    @Test
    void aSiteHasOrigins() {
        assertEquals(List.of("sites[0].origins: [] (expected: at least one origin)"),
                errorsAfter("    origins:\n      - url: http://127.0.0.1:8000\n", "    origins: []\n"));
    }

    @Test
    void originUrlsAreHttpOrHttpsWithHostAndPort() {
        for (String bad : List.of("ftp://127.0.0.1:21", "http://127.0.0.1", "http://:8000", "http://127.0.0.1:8000/app",
                "http://u:p@127.0.0.1:8000", "http://127.0.0.1:8000?x=1", "127.0.0.1:8000", "http://127.0.0.1:0",
                "http://bad_host:80", "HTTP://127.0.0.1:8000")) {
            List<String> errors = errorsAfter("url: http://127.0.0.1:8000", "url: '" + bad + "'\n        name: o");
            assertEquals(List.of("sites[0].origins[0].url: " + bad + " (expected: http://host:port or "
                    + "https://host:port, without path, query or user info)"), errors, bad);
        }
        for (String good : List.of("https://origin.shop.example:443", "http://[::1]:8000/", "http://10.1.2.3:65535")) {
            assertEquals(List.of(), errorsAfter("url: http://127.0.0.1:8000", "url: '" + good + "'"), good);
        }
    }

    @Test
    void originRoleRankAndHighWaterMark() {
        assertEquals(List.of(
                        "sites[0].origins[0].role: backup (expected: primary or mirror)",
                        "sites[0].origins[0].freshnessRank: -1 (expected: >= 0)",
                        "sites[0].origins[0].maxInFlight: 0 (expected: >= 1)"),
                errorsAfter("url: http://127.0.0.1:8000",
                        "url: http://127.0.0.1:8000\n        role: backup\n        freshnessRank: -1\n        maxInFlight: 0"));
        assertEquals(List.of(), errorsAfter("url: http://127.0.0.1:8000",
                "url: http://127.0.0.1:8000\n        role: mirror\n        freshnessRank: 3\n        maxInFlight: 1"));
    }

    @Test
    void hostPortFieldsParse() {
        assertEquals(List.of("frontEnds[0].listen: 127.0.0.1 (expected: host:port)"),
                errorsAfter("listen: 127.0.0.1:8080", "listen: 127.0.0.1"));
        assertEquals(List.of("backEnds[0].admin: 127.0.0.1:70000 (expected: port in 0..65535)"),
                errorsAfter("admin: 127.0.0.1:7071", "admin: 127.0.0.1:70000"));
        assertEquals(List.of("redirectors[0].listen: 127.0.0.1:dns (expected: host:port with a numeric port)"),
                errorsAfter("listen: 127.0.0.1:5300", "listen: 127.0.0.1:dns"));
        assertEquals(List.of("managers.listen: ::1:9180 (expected: [IPv6 address]:port, with brackets)"),
                errorsAfter("listen: 127.0.0.1:9180", "listen: '::1:9180'"));
        assertEquals(List.of("frontEnds[0].admin: bad_host:8081 (expected: host:port where host is an IP address "
                + "or a DNS name)"), errorsAfter("admin: 127.0.0.1:8081", "admin: bad_host:8081"));
        assertEquals(List.of(), errorsAfter("listen: 127.0.0.1:9180", "listen: '[::1]:9180'"));
        assertEquals(List.of(), errorsAfter("listen: 127.0.0.1:8080", "listen: fe1.shop.example:0"));
    }

    @Test
    void listenersDoNotCollide() {
        assertEquals(List.of("frontEnds[0].admin: 127.0.0.1:8080 (expected: an address no other listener uses; "
                        + "frontEnds[0].listen has it)",
                        "frontEnds[0].admin: 127.0.0.1:8080 (expected: an address other than listen's (127.0.0.1:8080))"),
                errorsAfter("admin: 127.0.0.1:8081", "admin: 127.0.0.1:8080"));
        assertEquals(List.of("backEnds[0].admin: 127.0.0.1:8081 (expected: an address no other listener uses; "
                + "frontEnds[0].admin has it)"), errorsAfter("admin: 127.0.0.1:7071", "admin: 127.0.0.1:8081"));
        assertEquals(List.of("redirectors[0].admin: 127.0.0.1:5300 (expected: an address other than listen's (0.0.0.0:5300))"),
                errorsAfter("listen: 127.0.0.1:5300\n    admin: 127.0.0.1:5380", "listen: 0.0.0.0:5300\n    admin: 127.0.0.1:5300"));
        // Wildcards on different nodes are different machines.
        assertEquals(List.of(), errorsAfter("listen: 127.0.0.1:7070", "listen: 0.0.0.0:8080"));
    }

    @Test
    void publicAddressIsAUnicastIpLiteral() {
        String field = "publicAddress: 127.0.0.1";
        for (String bad : List.of("fe-1.shop.example", "0.0.0.0", "'::'", "224.0.0.1", "'[::1]'", "127.0.0.1:80", "null")) {
            List<String> errors = errorsAfter(field, "publicAddress: " + bad);
            assertEquals(1, errors.size(), bad);
            assertTrue(errors.get(0).startsWith("frontEnds[0].publicAddress: ") && errors.get(0).endsWith(
                    "(expected: the IP address clients reach this front-end at, an IPv4 or IPv6 literal, not a "
                            + "wildcard or multicast address)"), errors.get(0));
        }
        assertEquals(List.of(), errorsAfter(field, "publicAddress: '2001:db8::1'"));
        assertEquals(List.of(), errorsAfter(field, "publicAddress: 192.0.2.10"));
    }

    @Test
    void frontEndRegionAndCapacity() {
        assertEquals(List.of("frontEnds[0].region: \"\" (expected: 1 to 63 letters, digits, '.', '_' or '-', "
                        + "starting with a letter or digit)", "frontEnds[0].capacity: 0 (expected: >= 1)"),
                errorsAfter("    publicAddress: 127.0.0.1\n", "    publicAddress: 127.0.0.1\n    region: ''\n    capacity: 0\n"));
    }

    @Test
    void frontEndLimitsSiblingAndProxySources() {
        assertEquals(List.of(), errorsAfter("    publicAddress: 127.0.0.1\n", "    publicAddress: 127.0.0.1\n"
                + "    limits: {maxHeaderCount: 50, headerTimeoutMillis: 5000}\n"
                + "    siblingUrl: http://fe-2.example:8080\n    proxyProtocolFrom: [10.0.0.0/8, '2001:db8::/32']\n"));
        assertEquals(List.of("frontEnds[0].limits.maxRequestLineBytes: 10 (expected: 64..1048576)",
                        "frontEnds[0].limits.maxHeaderCount: 0 (expected: 1..10000)",
                        "frontEnds[0].limits.maxBodyBytes: -1 (expected: 0..9223372036854775807)",
                        "frontEnds[0].limits.headerTimeoutMillis: 0 (expected: 100..600000)",
                        "frontEnds[0].limits.maxClassRequests: 0 (expected: >= 1)",
                        "frontEnds[0].siblingUrl: http://fe-2.example/path (expected: an http:// or https:// URL of "
                                + "another front-end, with a host and no path, query or fragment, such as "
                                + "http://fe-2.example:8080)",
                        "frontEnds[0].proxyProtocolFrom[0]: 10.0.0.0/33 (expected: a CIDR block with no host bits set, such as 10.0.0.0/8 "
                                + "or 2001:db8::/32)",
                        "frontEnds[0].proxyProtocolFrom[1]: lb.example (expected: a CIDR block with no host bits set, such as 10.0.0.0/8 "
                                + "or 2001:db8::/32)"),
                errorsAfter("    publicAddress: 127.0.0.1\n", "    publicAddress: 127.0.0.1\n"
                        + "    limits: {maxRequestLineBytes: 10, maxHeaderCount: 0, maxBodyBytes: -1, "
                        + "headerTimeoutMillis: 0, maxClassRequests: 0}\n"
                        + "    siblingUrl: http://fe-2.example/path\n    proxyProtocolFrom: [10.0.0.0/33, lb.example]\n"));
    }

    @Test
    void referencesNameExistingSitesAndBackEnds() {
        assertEquals(List.of("frontEnds[0].sites[1]: blog (expected: the name of a site in sites)",
                        "frontEnds[0].backEnds[1]: be-2 (expected: the name of a back-end in backEnds)",
                        "backEnds[0].sites[1]: shop (expected: each name listed once)"),
                errors(edit(edit(EXAMPLE, "    sites: [shop]\n    backEnds: [be-1]",
                        "    sites: [shop, blog]\n    backEnds: [be-1, be-2]"),
                        "    admin: 127.0.0.1:7071\n    sites: [shop]", "    admin: 127.0.0.1:7071\n    sites: [shop, shop]")));
    }

    @Test
    void aFrontEndsSiteIsServedByOneOfItsBackEnds() {
        assertEquals(List.of("frontEnds[0].sites[0]: shop (expected: a site one of this front-end's backEnds serves; "
                        + "none of [be-1] lists it)"),
                errorsAfter("    admin: 127.0.0.1:7071\n    sites: [shop]", "    admin: 127.0.0.1:7071\n    sites: []"));
        assertEquals(List.of("frontEnds[0].sites[0]: shop (expected: a site one of this front-end's backEnds serves; "
                + "it lists no backEnds)"), errorsAfter("    backEnds: [be-1]", "    backEnds: []"));
    }

    @Test
    void clientClassNamesAreUnique() {
        assertEquals(List.of("clientClasses[1].name: gold (expected: a name unique among clientClasses; "
                + "clientClasses[0] has it)"), errorsAfter("name: standard", "name: gold"));
    }

    @Test
    void ringIsOneOfTheRingsOfTmpRingWeights() {
        assertEquals(List.of("clientClasses[1].ring: 5 (expected: 0..4, a ring of tmp.ringWeights)"),
                errorsAfter("ring: 2", "ring: 5"));
        assertEquals(List.of("clientClasses[0].ring: -1 (expected: 0..4, a ring of tmp.ringWeights)"),
                errorsAfter("ring: 0", "ring: -1"));
        assertEquals(List.of(), errors(EXAMPLE.replace("ring: 2", "ring: 6") + "tmp:\n  ringWeights: [9, 8, 7, 6, 5, 4, 3]\n"));
    }

    @Test
    void weightIsOneToAThousand() {
        assertEquals(List.of("clientClasses[0].weight: 0 (expected: 1..1000)"), errorsAfter("weight: 8", "weight: 0"));
        assertEquals(List.of("clientClasses[0].weight: 1001 (expected: 1..1000)"), errorsAfter("weight: 8", "weight: 1001"));
        assertEquals(List.of(), errorsAfter("weight: 8", "weight: 1000"));
    }

    @Test
    void ruleSourceIsACidrNetwork() {
        for (String good : List.of("10.0.0.0/8", "0.0.0.0/0", "192.0.2.7/32", "2001:db8::/32", "::/0")) {
            assertEquals(List.of(), ConfigValidator.validate(withClasses(ruled(new ClassRule(good, null, null, null, null, null)))), good);
        }
        for (String bad : List.of("10.0.0.1/8", "10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "example.com/8", "2001:db8::1/32",
                "10.0.0.0/-1", "10.0.0.0/08x")) {
            assertEquals(List.of("clientClasses[0].rules[0].source: " + bad + " (expected: a network in CIDR notation with "
                            + "no host bits set, such as 10.0.0.0/8 or 2001:db8::/32)"),
                    ConfigValidator.validate(withClasses(ruled(new ClassRule(bad, null, null, null, null, null)))), bad);
        }
    }

    @Test
    void ruleHeaderIsNameColonValue() {
        assertEquals(List.of(), ConfigValidator.validate(withClasses(ruled(new ClassRule(null, null, null, null, "X-Tier: gold", null)))));
        for (String bad : List.of("X-Tier gold", ": gold", "X-Tier:", "X Tier: gold", "X-Tier:   ")) {
            assertEquals(List.of("clientClasses[0].rules[0].header: " + Names.show(bad) + " (expected: Name: value, such as X-Tier: gold)"),
                    ConfigValidator.validate(withClasses(ruled(new ClassRule(null, null, null, null, bad, null)))), bad);
        }
    }

    @Test
    void ruleCookieIsNameEqualsValue() {
        assertEquals(List.of(), ConfigValidator.validate(withClasses(ruled(new ClassRule(null, null, null, null, null, "tier=gold")))));
        for (String bad : List.of("tier", "=gold", "tier=", "tier=go;ld", "ti er=gold")) {
            assertEquals(List.of("clientClasses[0].rules[0].cookie: " + Names.show(bad) + " (expected: name=value, such as tier=gold)"),
                    ConfigValidator.validate(withClasses(ruled(new ClassRule(null, null, null, null, null, bad)))), bad);
        }
    }

    @Test
    void ruleHostPathAndMethod() {
        assertEquals(List.of(
                        "clientClasses[0].rules[0].host: shop_example (expected: a DNS name such as www.shop.example)",
                        "clientClasses[0].rules[0].pathPrefix: checkout (expected: a path starting with '/', without spaces, '?' or '#')",
                        "clientClasses[0].rules[0].method: get (expected: an HTTP method in upper case, such as GET)"),
                ConfigValidator.validate(withClasses(ruled(new ClassRule(null, "shop_example", "checkout", "get", null, null)))));
        assertEquals(List.of(), ConfigValidator.validate(withClasses(
                ruled(new ClassRule("10.0.0.0/8", "www.shop.example", "/checkout/", "POST", "X-Tier: gold", "tier=gold")))));
    }

    @Test
    void emptyRulesAndCatchAllClassesBeforeOthersAreRefused() {
        assertEquals(List.of("clientClasses[0].rules[0]: {} (expected: at least one of source, host, pathPrefix, method, "
                        + "header, cookie (a class with no rules already matches everything))"),
                ConfigValidator.validate(withClasses(ruled(new ClassRule(null, null, null, null, null, null)))));
        assertEquals(List.of("clientClasses[0].rules: [] (expected: at least one rule, or this class last: a class "
                        + "without rules matches every request and hides the classes after it)"),
                ConfigValidator.validate(withClasses(new ClientClass("all", 1, 1, List.of()),
                        ruled(new ClassRule(null, null, "/x", null, null, null)))));
    }

    @Test
    void tmpPacketSizes() {
        assertEquals(List.of("tmp.packetBytes: 575 (expected: 576..65000)"),
                ConfigValidator.validate(withTmp(new TmpSettings(575, null, null, null))));
        assertEquals(List.of("tmp.packetBytes: 65001 (expected: 576..65000)"),
                ConfigValidator.validate(withTmp(new TmpSettings(65_001, null, null, null))));
        assertEquals(List.of("tmp.subPacketBytes: 15 (expected: 16..1400, at most tmp.packetBytes)"),
                ConfigValidator.validate(withTmp(new TmpSettings(null, 15, null, null))));
        assertEquals(List.of("tmp.subPacketBytes: 1401 (expected: 16..1400, at most tmp.packetBytes)"),
                ConfigValidator.validate(withTmp(new TmpSettings(null, 1401, null, null))));
        assertEquals(List.of(), ConfigValidator.validate(withTmp(new TmpSettings(576, 576, null, null))));
        assertEquals(List.of(), ConfigValidator.validate(withTmp(new TmpSettings(65_000, 16, null, null))));
    }

    @Test
    void tmpBlenderPolicy() {
        assertEquals(List.of("tmp.blenderPolicy: fifo (expected: per-connection or per-class)"),
                ConfigValidator.validate(withTmp(new TmpSettings(null, null, "fifo", null))));
        assertEquals(List.of(), ConfigValidator.validate(withTmp(new TmpSettings(null, null, "per-class", null))));
    }

    @Test
    void carrierAndCongestionControlAreNamedChoices() {
        TmpSettings t = new TmpSettings(null, null, null, null, null, "quic", "cubic");
        assertEquals(List.of("tmp.carrier: quic (expected: udp or tcp)",
                        "tmp.congestionControl: cubic (expected: bbr or n-flow)"),
                ConfigValidator.validate(withTmp(t)));
        assertEquals(List.of(), ConfigValidator.validate(withTmp(new TmpSettings(null, null, null, null, null, "tcp",
                "n-flow"))));
        assertEquals("udp", TmpSettings.DEFAULT.carrier());
        assertEquals("bbr", TmpSettings.DEFAULT.congestionControl());
    }

    @Test
    void udpSecuritySettingsAreCheckedWithTheirUnits() {
        TmpSettings bad = new TmpSettings(null, null, null, null, null, null, null, "strict", 15L, 0, 999);
        assertEquals(List.of("tmp.security: strict (expected: auto, required or plaintext)",
                        "tmp.keyUpdatePackets: 15 (expected: 16..2^40 packets)",
                        "tmp.keyUpdateSeconds: 0 (expected: 1..86400 seconds)",
                        "tmp.deadPeerTimeoutMillis: 999 (expected: 1000..30000 ms, at most the 30 s idle timeout)"),
                ConfigValidator.validate(withTmp(bad)));
        TmpSettings high = new TmpSettings(null, null, null, null, null, null, null, "required", (1L << 40) + 1,
                86_401, 30_001);
        assertEquals(List.of("tmp.keyUpdatePackets: 1099511627777 (expected: 16..2^40 packets)",
                        "tmp.keyUpdateSeconds: 86401 (expected: 1..86400 seconds)",
                        "tmp.deadPeerTimeoutMillis: 30001 (expected: 1000..30000 ms, at most the 30 s idle timeout)"),
                ConfigValidator.validate(withTmp(high)));
        assertEquals(List.of(), ConfigValidator.validate(withTmp(new TmpSettings(null, null, null, null, null, null,
                null, "plaintext", 16L, 1, 1000))));
        // Defaults keep what nodes did before the settings existed.
        assertEquals("auto", TmpSettings.DEFAULT.security());
        assertEquals(1L << 20, TmpSettings.DEFAULT.keyUpdatePackets());
        assertEquals(120, TmpSettings.DEFAULT.keyUpdateSeconds());
        assertEquals(5000, TmpSettings.DEFAULT.deadPeerTimeoutMillis());
    }

    @Test
    void udpSecuritySettingsAreReadFromYaml() {
        String yaml = ConfigLoader.toYaml(withTmp(TmpSettings.DEFAULT));
        assertTrue(yaml.contains("security: \"auto\"") || yaml.contains("security: auto"), yaml);
        BraidConfig c = ConfigLoader.parse(yaml.replaceAll("security: \"?auto\"?", "security: required")
                        .replace("keyUpdatePackets: 1048576", "keyUpdatePackets: 4096")
                        .replace("keyUpdateSeconds: 120", "keyUpdateSeconds: 30")
                        .replace("deadPeerTimeoutMillis: 5000", "deadPeerTimeoutMillis: 2500"),
                ConfigLoader.Format.YAML);
        assertEquals(new TmpSettings(null, null, null, null, null, null, null, "required", 4096L, 30, 2500), c.tmp());
    }

    @Test
    void tmpRingWeights() {
        assertEquals(List.of("tmp.ringWeights: [] (expected: 1 to 64 weights, one per ring)"),
                ConfigValidator.validate(withTmp(new TmpSettings(null, null, null, List.of()))));
        List<Integer> tooMany = new ArrayList<>(Collections.nCopies(65, 1));
        List<String> errors = ConfigValidator.validate(withTmp(new TmpSettings(null, null, null, tooMany)));
        assertEquals(1, errors.size());
        assertTrue(errors.get(0).startsWith("tmp.ringWeights: [1, 1,") && errors.get(0).endsWith(
                "(expected: 1 to 64 weights, one per ring)"), errors.get(0));
        assertEquals(List.of("tmp.ringWeights[1]: 0 (expected: >= 1)"),
                ConfigValidator.validate(withTmp(new TmpSettings(null, null, null, List.of(4, 0, 1)))));
        assertEquals(List.of(), ConfigValidator.validate(withTmp(new TmpSettings(null, null, null, Collections.nCopies(64, 1)))));
    }

    @Test
    void redirectorAnswerCount() {
        assertEquals(List.of("redirectors[0].answerCount: 0 (expected: >= 1)"),
                errorsAfter("admin: 127.0.0.1:5380", "admin: 127.0.0.1:5380\n    answerCount: 0"));
        assertEquals(List.of(), errorsAfter("admin: 127.0.0.1:5380", "admin: 127.0.0.1:5380\n    answerCount: 1"));
    }

    @Test
    void allErrorsAreReportedAtOnceInDocumentOrder() {
        String broken = edit(edit(edit(edit(edit(edit(EXAMPLE,
                "www.shop.example,", "www.shop.example.,"),
                "url: http://127.0.0.1:8000", "url: http://127.0.0.1"),
                "publicAddress: 127.0.0.1", "publicAddress: localhost"),
                "backEnds: [be-1]", "backEnds: [be-9]"),
                "weight: 8", "weight: 0"),
                "listen: 127.0.0.1:9180", "listen: 127.0.0.1")
                + "tmp:\n  blenderPolicy: lifo\n";
        List<String> errors = errors(broken);
        assertEquals(List.of(
                "sites[0].hostnames[0]: www.shop.example. (expected: a DNS name such as www.shop.example: labels of "
                        + "letters, digits and '-', no trailing dot)",
                "sites[0].origins[0].url: http://127.0.0.1 (expected: http://host:port or https://host:port, without "
                        + "path, query or user info)",
                "frontEnds[0].publicAddress: localhost (expected: the IP address clients reach this front-end at, an "
                        + "IPv4 or IPv6 literal, not a wildcard or multicast address)",
                "frontEnds[0].backEnds[0]: be-9 (expected: the name of a back-end in backEnds)",
                "frontEnds[0].sites[0]: shop (expected: a site one of this front-end's backEnds serves; none of [be-9] "
                        + "lists it)",
                "clientClasses[0].weight: 0 (expected: 1..1000)",
                "managers.listen: 127.0.0.1 (expected: host:port)",
                "tmp.blenderPolicy: lifo (expected: per-connection or per-class)"), errors);
        assertNotEquals(List.of(), errors);
    }

    @Test
    void regionsAreAPrefixTableThatFrontEndsReferTo() {
        String regions = "\nregions:\n  - name: eu\n    prefixes: [10.0.0.0/8, \"2001:db8::/32\"]\n"
                + "  - name: us\n    prefixes: [10.0.0.0/16, 192.168.0.0/16]\n";
        assertEquals(List.of(), errors(edit(EXAMPLE, "    publicAddress: 127.0.0.1\n",
                "    publicAddress: 127.0.0.1\n    region: eu\n") + regions), "a longer prefix inside another is fine");
        assertEquals(List.of("frontEnds[0].region: default (expected: the name of a region in regions [eu, us])"),
                errors(EXAMPLE + regions));
        assertEquals(List.of(
                "regions[1].name: eu (expected: a name unique among regions; regions[0] has it)",
                "regions[0].prefixes[1]: 10.0.0.1/8 (expected: a network in CIDR notation with no host bits set, "
                        + "such as 10.0.0.0/8 or 2001:db8::/32)",
                "regions[1].prefixes[0]: 2001:db8:0::/32 (expected: a network listed once; regions[0].prefixes[0] "
                        + "already lists it)"),
                errors(EXAMPLE + "\nregions:\n  - name: eu\n    prefixes: [\"2001:db8::/32\", 10.0.0.1/8]\n"
                        + "  - name: eu\n    prefixes: [\"2001:db8:0::/32\"]\n").stream()
                        .filter(e -> e.startsWith("regions")).toList());
    }

    @Test
    void managersSettingsHaveRanges() {
        assertEquals(List.of(), errorsAfter("  listen: 127.0.0.1:9180", "  listen: 127.0.0.1:9180\n  reportIntervalMs: 500\n"
                + "  assignment: {highLoad: 0.9, lowLoad: 0.2, holdSeconds: 5}\n"
                + "  etcd: {endpoints: [\"http://127.0.0.1:2379\", \"http://10.0.0.2:2379\"], prefix: /braid/prod, "
                + "leaseSeconds: 3}"));
        assertEquals(List.of(
                "managers.reportIntervalMs: 50 (expected: 100..60000)",
                "managers.assignment.lowLoad: 0.9 (expected: 0 <= lowLoad < highLoad (0.8))",
                "managers.assignment.holdSeconds: -1 (expected: 0..3600)",
                "managers.etcd.endpoints[0]: https://127.0.0.1:2379 (expected: http://host:port, an etcd client URL)",
                "managers.etcd.endpoints[2]: http://127.0.0.1:2380 (expected: each endpoint listed once)",
                "managers.etcd.prefix: braid/ (expected: a key prefix such as /braid: '/'-separated names, no trailing '/')",
                "managers.etcd.leaseSeconds: 1 (expected: 2..60)"),
                errorsAfter("  listen: 127.0.0.1:9180", "  listen: 127.0.0.1:9180\n  reportIntervalMs: 50\n"
                        + "  assignment: {lowLoad: 0.9, holdSeconds: -1}\n"
                        + "  etcd: {endpoints: [\"https://127.0.0.1:2379\", \"http://127.0.0.1:2380\", "
                        + "\"http://127.0.0.1:2380\"], prefix: braid/, leaseSeconds: 1}"));
        assertEquals(List.of("managers.assignment.highLoad: 0.0 (expected: a load above 0 and at most 100 (1 = at capacity))"),
                errorsAfter("  listen: 127.0.0.1:9180", "  listen: 127.0.0.1:9180\n  assignment: {highLoad: 0}"));
    }
}
