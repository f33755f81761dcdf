package dev.braid.managers.node;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Samples read from Prometheus text (what every node's {@code /metrics} and
 * {@code dev.braid.runtime.Metrics#scrape()} produce), so that a node's report is built from the
 * same figures its metrics show. Comment lines are skipped; a line that cannot be read is skipped,
 * never guessed at.
 */
public final class MetricsText {

    /** One sample: a metric name (with {@code _sum}/{@code _count}/{@code _bucket} as written), its labels, its value. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    private final List<Sample> samples;

    private MetricsText(List<Sample> samples) {
        this.samples = samples;
    }

    public static MetricsText parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Sample s = parseLine(line);
            if (s != null) {
                out.add(s);
            }
        }
        return new MetricsText(List.copyOf(out));
    }

    public List<Sample> samples() {
        return samples;
    }

    /** The sum of every sample named {@code name}, or 0 when there is none. */
    public double sum(String name) {
        double total = 0;
        for (Sample s : samples) {
            if (s.name().equals(name)) {
                total += s.value();
            }
        }
        return total;
    }

    /** Whether any sample is named {@code name}. */
    public boolean has(String name) {
        return samples.stream().anyMatch(s -> s.name().equals(name));
    }

    /** Samples named {@code name}, summed by the value of {@code label} (samples without it are left out). */
    public Map<String, Double> sumBy(String name, String label) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Sample s : samples) {
            String v = s.labels().get(label);
            if (s.name().equals(name) && v != null) {
                out.merge(v, s.value(), Double::sum);
            }
        }
        return out;
    }

    private static Sample parseLine(String line) {
        int i = 0;
        int n = line.length();
        while (i < n && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        Map<String, String> labels = new HashMap<>();
        if (i < n && line.charAt(i) == '{') {
            i++;
            while (i < n && line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                if (eq < 0 || eq + 1 >= n || line.charAt(eq + 1) != '"') {
                    return null;
                }
                String key = line.substring(i, eq).strip();
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (; j < n && line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\' && j + 1 < n) {
                        char next = line.charAt(++j);
                        value.append(next == 'n' ? '\n' : next);
                    } else {
                        value.append(c);
                    }
                }
                if (j >= n) {
                    return null;
                }
                labels.put(key, value.toString());
                i = j + 1;
                if (i < n && line.charAt(i) == ',') {
                    i++;
                }
            }
            i++;
        }
        String rest = line.substring(Math.min(i, n)).strip();
        int space = rest.indexOf(' ');
        String number = space < 0 ? rest : rest.substring(0, space);
        try {
            double v = switch (number) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                default -> Double.parseDouble(number);
            };
            return name.isEmpty() ? null : new Sample(name, Map.copyOf(labels), v);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
