package dev.braid.managers.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {

    private static List<String> errorsOf(String text) {
        return assertThrows(ConfigException.class, () -> ConfigLoader.parse(text)).errors();
    }

    @Test
    void readsTheExampleYamlIntoTheModelWithDefaults() {
        BraidConfig c = TestConfigs.example();

        Site shop = c.site("shop");
        assertEquals(List.of("www.shop.example", "shop.example"), shop.hostnames());
        assertEquals(Site.DEFAULT_DNS_TTL_SECONDS, shop.dnsTtlSeconds());
        Origin origin = shop.origins().get(0);
        assertEquals(new Origin("http://127.0.0.1:8000", "http://127.0.0.1:8000", "primary", 0,
                Origin.DEFAULT_MAX_IN_FLIGHT), origin);

        FrontEndNode fe = c.frontEnd("fe-1");
        assertEquals(new FrontEndNode("fe-1", "127.0.0.1:8080", "127.0.0.1", "127.0.0.1:8081", "default",
                FrontEndNode.DEFAULT_CAPACITY, List.of("shop"), List.of("be-1")), fe);
        assertEquals(new BackEndNode("be-1", "127.0.0.1:7070", "127.0.0.1:7071", List.of("shop")), c.backEnd("be-1"));
        assertEquals(new ClientClass("gold", 0, 8, List.of(new ClassRule(null, null, "/checkout", null, null, null))),
                c.clientClasses().get(0));
        assertEquals(new ClientClass("standard", 2, 1, List.of()), c.clientClasses().get(1));
        assertEquals(new RedirectorNode("rd-1", "127.0.0.1:5300", "127.0.0.1:5380", 2), c.redirector("rd-1"));
        assertEquals("127.0.0.1:9180", c.managers().listen());
        assertEquals(TmpSettings.DEFAULT, c.tmp());
        assertEquals(List.of(), ConfigValidator.validate(c));
    }

    @Test
    void jsonAndYamlOfTheSameConfigurationAreEqual() {
        BraidConfig fromYaml = TestConfigs.example();
        String json = ConfigLoader.toJson(fromYaml);
        assertEquals(ConfigLoader.Format.JSON, ConfigLoader.detect(json));
        assertEquals(fromYaml, ConfigLoader.parse(json));
        assertEquals(fromYaml, ConfigLoader.parse(json, ConfigLoader.Format.JSON));
        assertEquals(fromYaml, ConfigLoader.parse(ConfigLoader.toYaml(fromYaml)));
    }

    @Test
    void canonicalJsonIsCompactOrderedAndOmitsNulls() {
        String json = ConfigLoader.toJson(TestConfigs.example());
        assertTrue(json.startsWith("{\"sites\":[{\"name\":\"shop\",\"hostnames\":"), json);
        assertTrue(json.contains("\"rules\":[{\"pathPrefix\":\"/checkout\"}]"), json);
        assertTrue(!json.contains("null") && !json.contains("\n") && !json.contains(": "), json);
        assertEquals(json, ConfigLoader.toJson(ConfigLoader.parse(ConfigLoader.toYaml(TestConfigs.example()))));
    }

    @Test
    void unknownFieldNamesItsPathAndTheExpectedFields() {
        List<String> errors = errorsOf("""
                frontEnds:
                  - name: fe-1
                    lisen: 127.0.0.1:8080
                """);
        assertEquals(List.of("frontEnds[0].lisen: unknown field (expected one of: name, listen, publicAddress, "
                + "admin, region, capacity, sites, backEnds, cache)"), errors);
    }

    @Test
    void everyUnknownFieldAndTypeErrorIsReportedAtOnce() {
        List<String> errors = errorsOf("""
                sitez: []
                tmp:
                  packetBytes: "big"
                  ringWeights: [1, 2.5]
                clientClasses:
                  - name: gold
                    weight: 8
                    rules:
                      - pathprefix: /checkout
                """);
        assertEquals(List.of(
                "sitez: unknown field (expected one of: sites, frontEnds, backEnds, clientClasses, redirectors, "
                        + "managers, tmp, dns, regions)",
                "tmp.packetBytes: \"big\" (expected: integer)",
                "tmp.ringWeights[1]: 2.5 (expected: integer)",
                "clientClasses[0].rules[0].pathprefix: unknown field (expected one of: source, host, pathPrefix, "
                        + "method, header, cookie)"), errors);
    }

    @Test
    void typeErrorsNamePathValueAndExpectedType() {
        assertEquals(List.of("sites[0].hostnames: \"www.shop.example\" (expected: a list of strings)"),
                errorsOf("sites: [{name: shop, hostnames: www.shop.example}]"));
        assertEquals(List.of("sites[0].dnsTtlSeconds: \"20\" (expected: integer)"),
                errorsOf("sites: [{name: shop, dnsTtlSeconds: \"20\"}]"));
        assertEquals(List.of("sites[0].dnsTtlSeconds: 99999999999 (expected: integer)"),
                errorsOf("sites: [{name: shop, dnsTtlSeconds: 99999999999}]"));
        assertEquals(List.of("managers: \"127.0.0.1:9180\" (expected: a mapping with keys listen, reportIntervalMs, assignment, etcd)"),
                errorsOf("managers: 127.0.0.1:9180"));
        assertEquals(List.of("frontEnds[0].name: true (expected: string; quote it)"),
                errorsOf("frontEnds: [{name: yes}]"));
        assertEquals(List.of("backEnds[0].sites: {\"shop\":1} (expected: a list of strings)"),
                errorsOf("{\"backEnds\": [{\"name\": \"be\", \"sites\": {\"shop\": 1}}]}"));
        assertEquals(List.of("sites[0].hostnames[1]: null (expected: string)"),
                errorsOf("sites: [{name: shop, hostnames: [a.example, null]}]"));
        assertEquals(List.of("(root): [1,2] (expected: a mapping with keys sites, frontEnds, backEnds, "
                + "clientClasses, redirectors, managers, tmp, dns, regions)"), errorsOf("[1, 2]"));
    }

    @Test
    void wholeNumbersAreAcceptedAsStringsAndNullsTakeDefaults() {
        BraidConfig c = ConfigLoader.parse("redirectors: [{name: 7, listen: null, answerCount: 3}]\ntmp: null\n");
        assertEquals(new RedirectorNode("7", "0.0.0.0:5300", "0.0.0.0:5380", 3), c.redirectors().get(0));
        assertEquals(TmpSettings.DEFAULT, c.tmp());
        assertEquals(BraidConfig.EMPTY, ConfigLoader.parse("{}"));
    }

    @Test
    void syntaxErrorsDuplicateKeysAndExtraDocumentsNameTheirLine() {
        List<String> dup = errorsOf("""
                sites:
                  - name: shop
                    name: other
                """);
        assertEquals(1, dup.size());
        assertTrue(dup.get(0).startsWith("sites[0].name: syntax error at line 3"), dup.get(0));
        assertTrue(dup.get(0).contains("Duplicate field 'name'"), dup.get(0));

        List<String> yaml = errorsOf("sites: [\n  {name: shop\nfrontEnds: []\n");
        assertTrue(yaml.get(0).contains("syntax error at line"), yaml.get(0));

        List<String> json = errorsOf("{\"sites\": [}");
        assertTrue(json.get(0).contains("syntax error at line 1"), json.get(0));

        List<String> twoDocs = errorsOf("sites: []\n---\nfrontEnds: []\n");
        assertTrue(twoDocs.get(0).contains("line 3"), twoDocs.get(0));
    }

    @Test
    void emptyDocumentsAreRefused() {
        assertTrue(errorsOf("").get(0).startsWith("(root): empty document (expected: a mapping with keys sites,"));
        assertTrue(errorsOf("# nothing but a comment\n").get(0).startsWith("(root): empty document"));
        assertTrue(errorsOf("~").get(0).startsWith("(root): empty document"));
    }

    @Test
    void yamlAliasesAreNeverExpanded() {
        List<String> errors = errorsOf("""
                sites:
                  - &s {name: shop}
                  - *s
                """);
        assertEquals(List.of("sites[1]: \"s\" (expected: a mapping with keys name, hostnames, dnsTtlSeconds, origins, requestTypes, queue, cache)"),
                errors);
    }

    @Test
    void loadChoosesTheNotationByExtensionOrContentAndNamesTheFile(@TempDir Path dir) throws IOException {
        BraidConfig example = TestConfigs.example();
        Path yaml = Files.writeString(dir.resolve("braid.yaml"), TestConfigs.exampleYaml());
        Path json = Files.writeString(dir.resolve("braid.json"), ConfigLoader.toJson(example));
        Path noExtension = Files.writeString(dir.resolve("braid.conf"), ConfigLoader.toJson(example));
        assertEquals(example, ConfigLoader.load(yaml));
        assertEquals(example, ConfigLoader.load(json));
        assertEquals(example, ConfigLoader.load(noExtension));

        Path bad = Files.writeString(dir.resolve("bad.yml"), "frontEnds: [{name: fe, lisen: x}]\n");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(bad));
        assertTrue(e.getMessage().startsWith(bad + ": frontEnds[0].lisen: unknown field"), e.getMessage());

        // A YAML file named .json is read as JSON, and fails as JSON would.
        Path misnamed = Files.writeString(dir.resolve("yaml.json"), TestConfigs.exampleYaml());
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(misnamed)).errors().get(0)
                .contains("syntax error"));

        Path latin1 = Files.write(dir.resolve("latin1.yaml"), "sites: [{name: caf\u00e9}]".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(List.of("content: not UTF-8 (expected: UTF-8 text)"),
                assertThrows(ConfigException.class, () -> ConfigLoader.load(latin1)).errors());

        ConfigException missing = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir.resolve("none.yaml")));
        assertTrue(missing.errors().get(0).startsWith("cannot read: java.nio.file.NoSuchFileException"),
                missing.errors().get(0));
    }

    @Test
    void exceptionMessageListsEveryError() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("a: 1\nb: 2\n"));
        assertEquals(2, e.errors().size());
        assertTrue(e.getMessage().startsWith("2 configuration errors:\n  a: unknown field"), e.getMessage());
    }
}
