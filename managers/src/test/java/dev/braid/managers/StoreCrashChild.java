package dev.braid.managers;

import dev.braid.managers.config.TestConfigs;

import java.nio.file.Path;

/**
 * A process that applies configuration versions to a state directory and halts itself — like
 * {@code kill -9}: no shutdown hooks, no flushing — when the next write reaches a given point.
 * Arguments: state directory, crash point ({@link CrashPoints}), versions to write before the one
 * that crashes. Prints {@code ACK <version>} for each version acknowledged.
 */
public final class StoreCrashChild {

    static final int HALT_STATUS = 137;

    private StoreCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String point = args[1];
        int before = Integer.parseInt(args[2]);
        try (ConfigStore store = ConfigStore.open(dir)) {
            for (int i = 1; i <= before; i++) {
                long v = store.apply(TestConfigs.exampleWithGoldWeight(i), "child").version();
                System.out.println("ACK " + v);
            }
            System.out.flush();
            CrashPoints.install(p -> {
                if (p.equals(point)) {
                    Runtime.getRuntime().halt(HALT_STATUS);
                }
            });
            long v = store.apply(TestConfigs.exampleWithGoldWeight(before + 1), "child").version();
            System.out.println("ACK " + v + " (no crash at " + point + ")");
        }
        System.exit(3);
    }
}
