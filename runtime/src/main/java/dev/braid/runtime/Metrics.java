package dev.braid.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;

/**
 * A node's metrics, written in the Prometheus text exposition format (version 0.0.4) by
 * {@link #scrape()}. Metric names are named after events ({@code braid_frontend_requests_total});
 * updates are lock-free ({@link LongAdder}) so the data path never contends on them.
 */
public final class Metrics {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    /** Latency buckets in seconds, from 0.5 ms to 30 s. */
    public static final double[] LATENCY_SECONDS = {
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    private final Map<String, Family<?>> families = new ConcurrentSkipListMap<>();

    public Counter counter(String name, String help, String... labelNames) {
        return register(new Counter(name, help, labelNames));
    }

    public Histogram histogram(String name, String help, double[] buckets, String... labelNames) {
        return register(new Histogram(name, help, buckets, labelNames));
    }

    /** A gauge read when scraped. */
    public void gauge(String name, String help, DoubleSupplier value) {
        register(new Gauge(name, help, value));
    }

    /**
     * A family of gauges read when scraped: {@code samples} returns the current value of every
     * labelled series (label values in the order of {@code labelNames}).
     */
    public void gauges(String name, String help, java.util.function.Supplier<Map<List<String>, Double>> samples,
                       String... labelNames) {
        register(new LabelledGauge(name, help, "gauge", labelNames, samples));
    }

    /** Like {@link #gauges}, for totals that only grow and are kept elsewhere (exposed as counters). */
    public void counters(String name, String help, java.util.function.Supplier<Map<List<String>, Double>> samples,
                         String... labelNames) {
        register(new LabelledGauge(name, help, "counter", labelNames, samples));
    }

    @SuppressWarnings("unchecked")
    private <F extends Family<?>> F register(F family) {
        Family<?> existing = families.putIfAbsent(family.name, family);
        if (existing != null) {
            if (existing.getClass() != family.getClass()
                    || !Arrays.equals(existing.labelNames, family.labelNames)) {
                throw new IllegalArgumentException("metric: " + family.name
                        + " (expected: registered once, or again with the same type and labels)");
            }
            return (F) existing;
        }
        return family;
    }

    /** All metrics in the Prometheus text format. */
    public String scrape() {
        StringBuilder out = new StringBuilder(4096);
        for (Family<?> family : families.values()) {
            out.append("# HELP ").append(family.name).append(' ').append(escapeHelp(family.help)).append('\n');
            out.append("# TYPE ").append(family.name).append(' ').append(family.type()).append('\n');
            family.write(out);
        }
        return out.toString();
    }

    private static String escapeHelp(String help) {
        return help.replace("\\", "\\\\").replace("\n", "\\n");
    }

    static String labelText(String[] names, List<String> values, String extraName, String extraValue) {
        if (names.length == 0 && extraName == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < names.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(names[i]).append("=\"").append(escapeLabel(values.get(i))).append('"');
        }
        if (extraName != null) {
            if (names.length > 0) {
                sb.append(',');
            }
            sb.append(extraName).append("=\"").append(extraValue).append('"');
        }
        return sb.append('}').toString();
    }

    private static String escapeLabel(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    static String number(double v) {
        if (v == Math.rint(v) && !Double.isInfinite(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }

    private abstract static class Family<C> {
        final String name;
        final String help;
        final String[] labelNames;
        final Map<List<String>, C> children = new ConcurrentHashMap<>();

        Family(String name, String help, String[] labelNames) {
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("metric name: " + name + " (expected: [a-zA-Z_:][a-zA-Z0-9_:]*)");
            }
            for (String l : labelNames) {
                if (!LABEL.matcher(l).matches() || l.startsWith("__")) {
                    throw new IllegalArgumentException("label name: " + l + " (expected: [a-zA-Z_][a-zA-Z0-9_]*)");
                }
            }
            this.name = name;
            this.help = help;
            this.labelNames = labelNames.clone();
        }

        C child(String... values) {
            if (values.length != labelNames.length) {
                throw new IllegalArgumentException(name + ": " + values.length + " label value(s) (expected: "
                        + labelNames.length + ")");
            }
            return children.computeIfAbsent(List.of(values), k -> newChild());
        }

        abstract C newChild();

        abstract String type();

        abstract void write(StringBuilder out);

        List<Map.Entry<List<String>, C>> sortedChildren() {
            List<Map.Entry<List<String>, C>> list = new ArrayList<>(children.entrySet());
            list.sort((a, b) -> String.join("\u0000", a.getKey()).compareTo(String.join("\u0000", b.getKey())));
            return list;
        }
    }

    /** A monotonically increasing count of events. */
    public static final class Counter extends Family<LongAdder> {
        Counter(String name, String help, String[] labelNames) {
            super(name, help, labelNames);
            if (labelNames.length == 0) {
                child();
            }
        }

        public LongAdder labels(String... values) {
            return child(values);
        }

        public void inc(String... values) {
            child(values).increment();
        }

        public void add(long amount, String... values) {
            child(values).add(amount);
        }

        public long value(String... values) {
            return child(values).sum();
        }

        @Override
        LongAdder newChild() {
            return new LongAdder();
        }

        @Override
        String type() {
            return "counter";
        }

        @Override
        void write(StringBuilder out) {
            for (Map.Entry<List<String>, LongAdder> e : sortedChildren()) {
                out.append(name).append(labelText(labelNames, e.getKey(), null, null)).append(' ')
                        .append(e.getValue().sum()).append('\n');
            }
        }
    }

    /** A distribution of observed values (for latencies: seconds). */
    public static final class Histogram extends Family<Histogram.Child> {
        private final double[] buckets;

        Histogram(String name, String help, double[] buckets, String[] labelNames) {
            super(name, help, labelNames);
            for (int i = 1; i < buckets.length; i++) {
                if (!(buckets[i] > buckets[i - 1])) {
                    throw new IllegalArgumentException(name + ": buckets " + Arrays.toString(buckets)
                            + " (expected: strictly increasing)");
                }
            }
            this.buckets = buckets.clone();
            if (labelNames.length == 0) {
                child();
            }
        }

        public Child labels(String... values) {
            return child(values);
        }

        public void observe(double value, String... labelValues) {
            child(labelValues).observe(value);
        }

        @Override
        Child newChild() {
            return new Child(buckets);
        }

        @Override
        String type() {
            return "histogram";
        }

        @Override
        void write(StringBuilder out) {
            for (Map.Entry<List<String>, Child> e : sortedChildren()) {
                Child c = e.getValue();
                long cumulative = 0;
                for (int i = 0; i < buckets.length; i++) {
                    cumulative += c.counts[i].sum();
                    out.append(name).append("_bucket")
                            .append(labelText(labelNames, e.getKey(), "le", number(buckets[i])))
                            .append(' ').append(cumulative).append('\n');
                }
                cumulative += c.counts[buckets.length].sum();
                out.append(name).append("_bucket").append(labelText(labelNames, e.getKey(), "le", "+Inf"))
                        .append(' ').append(cumulative).append('\n');
                out.append(name).append("_sum").append(labelText(labelNames, e.getKey(), null, null))
                        .append(' ').append(number(c.sum.sum())).append('\n');
                out.append(name).append("_count").append(labelText(labelNames, e.getKey(), null, null))
                        .append(' ').append(cumulative).append('\n');
            }
        }

        /** One labelled series of a histogram. */
        public static final class Child {
            private final double[] buckets;
            private final LongAdder[] counts;
            private final DoubleAdder sum = new DoubleAdder();

            Child(double[] buckets) {
                this.buckets = buckets;
                this.counts = new LongAdder[buckets.length + 1];
                for (int i = 0; i < counts.length; i++) {
                    counts[i] = new LongAdder();
                }
            }

            public void observe(double value) {
                int i = Arrays.binarySearch(buckets, value);
                if (i < 0) {
                    i = -i - 1;
                }
                counts[i].increment();
                sum.add(value);
            }

            public long count() {
                long n = 0;
                for (LongAdder c : counts) {
                    n += c.sum();
                }
                return n;
            }
        }
    }

    private static final class LabelledGauge extends Family<Object> {
        private final java.util.function.Supplier<Map<List<String>, Double>> samples;
        private final String type;

        LabelledGauge(String name, String help, String type, String[] labelNames,
                      java.util.function.Supplier<Map<List<String>, Double>> samples) {
            super(name, help, labelNames);
            this.type = type;
            this.samples = samples;
        }

        @Override
        Object newChild() {
            return new Object();
        }

        @Override
        String type() {
            return type;
        }

        @Override
        void write(StringBuilder out) {
            Map<List<String>, Double> now = new java.util.TreeMap<>(
                    (a, b) -> String.join("\u0000", a).compareTo(String.join("\u0000", b)));
            now.putAll(samples.get());
            for (Map.Entry<List<String>, Double> e : now.entrySet()) {
                if (e.getKey().size() != labelNames.length) {
                    continue;
                }
                out.append(name).append(labelText(labelNames, e.getKey(), null, null)).append(' ')
                        .append(number(e.getValue())).append('\n');
            }
        }
    }

    private static final class Gauge extends Family<Object> {
        private final DoubleSupplier value;

        Gauge(String name, String help, DoubleSupplier value) {
            super(name, help, new String[0]);
            this.value = value;
        }

        @Override
        Object newChild() {
            return new Object();
        }

        @Override
        String type() {
            return "gauge";
        }

        @Override
        void write(StringBuilder out) {
            out.append(name).append(' ').append(number(value.getAsDouble())).append('\n');
        }
    }
}
