package dev.braid.frontend.cache;

/**
 * A single byte range of a Range request (RFC 9110 §14.1.2) resolved against a representation's
 * length. Anything but one well-formed {@code bytes} range is ignored, which RFC 9110 §14.2
 * allows: the whole representation is sent instead.
 *
 * @param first first byte position, or -1 for {@link #IGNORE} and {@link #UNSATISFIABLE}
 * @param last  last byte position, inclusive
 */
record ByteRange(long first, long last) {

    /** No usable range: answer 200 with the whole representation. */
    static final ByteRange IGNORE = new ByteRange(-1, -1);
    /** A valid range that selects nothing: answer 416 (RFC 9110 §15.5.17). */
    static final ByteRange UNSATISFIABLE = new ByteRange(-1, -2);

    long length() {
        return last - first + 1;
    }

    static ByteRange parse(String header, long length) {
        if (header == null) {
            return IGNORE;
        }
        String h = header.trim();
        int eq = h.indexOf('=');
        if (eq < 0 || !h.substring(0, eq).trim().equalsIgnoreCase("bytes")) {
            return IGNORE;
        }
        String spec = h.substring(eq + 1).trim();
        if (spec.contains(",")) {
            return IGNORE;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return IGNORE;
        }
        String a = spec.substring(0, dash).trim();
        String b = spec.substring(dash + 1).trim();
        if (a.isEmpty()) {
            long suffix = digits(b);
            if (suffix < 0) {
                return IGNORE;
            }
            if (suffix == 0 || length == 0) {
                return UNSATISFIABLE;
            }
            return new ByteRange(Math.max(0, length - suffix), length - 1);
        }
        long first = digits(a);
        long last = b.isEmpty() ? Long.MAX_VALUE : digits(b);
        if (first < 0 || last < 0 || last < first) {
            return IGNORE;
        }
        if (first >= length) {
            return UNSATISFIABLE;
        }
        return new ByteRange(first, Math.min(last, length - 1));
    }

    private static long digits(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return s.length() > 18 && s.chars().allMatch(Character::isDigit) ? Long.MAX_VALUE / 2 : -1;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
