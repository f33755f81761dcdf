package dev.braid.managers.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Configurations shared by the tests. */
public final class TestConfigs {

    private TestConfigs() {
    }

    /** The text of {@code example.yaml}. */
    public static String exampleYaml() {
        try (InputStream in = TestConfigs.class.getResourceAsStream("/example.yaml")) {
            if (in == null) {
                throw new IllegalStateException("example.yaml is not on the test class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code example.yaml}, parsed. */
    public static BraidConfig example() {
        return ConfigLoader.parse(exampleYaml());
    }

    /** The example with the gold class's weight changed: a different, valid configuration. */
    public static BraidConfig exampleWithGoldWeight(int weight) {
        BraidConfig c = example();
        ClientClass gold = c.clientClass("gold");
        List<ClientClass> classes = List.of(new ClientClass("gold", gold.ring(), weight, gold.rules()),
                c.clientClass("standard"));
        return new BraidConfig(c.sites(), c.frontEnds(), c.backEnds(), classes, c.redirectors(), c.managers(), c.tmp());
    }
}
