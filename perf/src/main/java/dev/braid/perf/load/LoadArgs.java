package dev.braid.perf.load;

import java.util.ArrayList;
import java.util.List;

/**
 * What the load generators' command lines share: bounded integers, and the {@code --label
 * key=value,...} columns that tag every CSV row with the run it came from. Errors are collected
 * whole, each as {@code "--option: value (expected: ...)"}.
 */
final class LoadArgs {

    private LoadArgs() {
    }

    /** One {@code --name value} pair of a command line. */
    record Option(String name, String value) {
    }

    /** The command line as name/value pairs; a last name without its value is an error. */
    static List<Option> options(String[] args, List<String> errors) {
        List<Option> out = new ArrayList<>();
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                errors.add(args[i] + ": missing value");
            } else {
                out.add(new Option(args[i], args[i + 1]));
            }
        }
        return out;
    }

    /** {@code v} as an integer in {@code lo..hi}; otherwise an error is added and {@code lo} returned. */
    static int intIn(List<String> errors, String name, String v, int lo, int hi) {
        try {
            int x = Integer.parseInt(v);
            if (x >= lo && x <= hi) {
                return x;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        errors.add(name + ": " + v + " (expected: integer in " + lo + ".." + hi + ")");
        return lo;
    }

    /** The label columns of one run, in the order given. */
    static final class Labels {
        private final List<String> keys = new ArrayList<>();
        private final List<String> values = new ArrayList<>();

        /** Adds the pairs of one {@code --label} value. */
        void add(List<String> errors, String v) {
            for (String kv : v.split(",")) {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    errors.add("--label: " + kv + " (expected: key=value[,key=value...])");
                } else {
                    keys.add(kv.substring(0, eq));
                    values.add(kv.substring(eq + 1));
                }
            }
        }

        /** The label names as the first CSV header columns, with the separating comma. */
        String headerPrefix() {
            return keys.isEmpty() ? "" : String.join(",", keys) + ",";
        }

        /** The label values as the first columns of a row, with the separating comma. */
        String rowPrefix() {
            return values.isEmpty() ? "" : String.join(",", values) + ",";
        }
    }
}
