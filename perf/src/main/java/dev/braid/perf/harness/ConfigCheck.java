package dev.braid.perf.harness;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigException;
import dev.braid.managers.config.ConfigLoader;
import dev.braid.managers.config.ConfigValidator;

import java.nio.file.Path;
import java.util.List;

/**
 * Checks a generated benchmark configuration the way every Braid node will, before the harness
 * starts any node with it: reading, then validation. Exit 0 when valid; otherwise exit 2 with one
 * {@code path: value (expected: ...)} line per problem on stderr.
 *
 * <p>The harness also uses it to ask whether this build knows a setting yet (for example
 * {@code tmp.carrier}): a setting it does not know is an "unknown field" error.
 */
public final class ConfigCheck {

    private ConfigCheck() {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: ConfigCheck FILE");
            System.exit(2);
        }
        List<String> errors;
        try {
            BraidConfig cfg = ConfigLoader.load(Path.of(args[0]));
            errors = ConfigValidator.validate(cfg);
        } catch (ConfigException e) {
            errors = e.errors();
        }
        errors.forEach(System.err::println);
        System.exit(errors.isEmpty() ? 0 : 2);
    }
}
