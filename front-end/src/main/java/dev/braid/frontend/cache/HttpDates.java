package dev.braid.frontend.cache;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Locale;

/**
 * HTTP-date parsing (RFC 9110 §5.6.7): IMF-fixdate, the obsolete RFC 850 form and asctime, all
 * three as a recipient must accept them. Names are matched without case (RFC 9111 §4.2); a zone
 * other than GMT makes the date invalid, so no local time zone can enter a calculation.
 */
final class HttpDates {

    private static final String[] MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
            "nov", "dec"};
    private static final String[] DAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    private static final String[] LONG_DAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
            "sunday"};

    private HttpDates() {
    }

    private static final java.time.format.DateTimeFormatter IMF_FIXDATE =
            java.time.format.DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

    /** Formats {@code epochMillis} as an IMF-fixdate. */
    static String format(long epochMillis) {
        return IMF_FIXDATE.format(ZonedDateTime.ofInstant(java.time.Instant.ofEpochMilli(epochMillis), ZoneOffset.UTC));
    }

    /**
     * The instant {@code value} names, in epoch milliseconds, or null when it is not a valid
     * HTTP-date.
     *
     * @param nowMillis the current time, which places an RFC 850 two-digit year: a year more than
     *                  50 years ahead means the most recent past year with those digits
     */
    static Long parse(String value, long nowMillis) {
        if (value == null) {
            return null;
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        try {
            if (v.length() == 29 && v.charAt(3) == ',') {
                return imfFixdate(v);
            }
            int comma = v.indexOf(',');
            if (comma > 0) {
                return rfc850(v, comma, nowMillis);
            }
            return asctime(v);
        } catch (RuntimeException e) {
            return null;
        }
    }

    // "sun, 06 nov 1994 08:49:37 gmt"
    private static Long imfFixdate(String v) {
        if (index(DAYS, v.substring(0, 3)) < 0 || v.charAt(4) != ' ' || v.charAt(7) != ' ' || v.charAt(11) != ' '
                || v.charAt(16) != ' ' || !v.endsWith(" gmt")) {
            return null;
        }
        return build(digits(v, 12, 4), index(MONTHS, v.substring(8, 11)), digits(v, 5, 2), v.substring(17, 25));
    }

    // "sunday, 06-nov-94 08:49:37 gmt"
    private static Long rfc850(String v, int comma, long nowMillis) {
        if (index(LONG_DAYS, v.substring(0, comma)) < 0) {
            return null;
        }
        String rest = v.substring(comma + 1);
        if (rest.length() != 23 || rest.charAt(0) != ' ' || rest.charAt(3) != '-' || rest.charAt(7) != '-'
                || rest.charAt(10) != ' ' || rest.charAt(19) != ' ' || !rest.endsWith(" gmt")) {
            return null;
        }
        int yy = digits(rest, 8, 2);
        int nowYear = ZonedDateTime.ofInstant(java.time.Instant.ofEpochMilli(nowMillis), ZoneOffset.UTC).getYear();
        int year = nowYear / 100 * 100 + yy;
        if (year > nowYear + 50) {
            year -= 100;
        }
        return build(year, index(MONTHS, rest.substring(4, 7)), digits(rest, 1, 2), rest.substring(11, 19));
    }

    // "sun nov  6 08:49:37 1994"
    private static Long asctime(String v) {
        if (v.length() != 24 || index(DAYS, v.substring(0, 3)) < 0 || v.charAt(3) != ' ' || v.charAt(7) != ' '
                || v.charAt(10) != ' ' || v.charAt(19) != ' ') {
            return null;
        }
        int day = v.charAt(8) == ' ' ? digits(v, 9, 1) : digits(v, 8, 2);
        return build(digits(v, 20, 4), index(MONTHS, v.substring(4, 7)), day, v.substring(11, 19));
    }

    private static Long build(int year, int month, int day, String time) {
        if (month < 0 || time.charAt(2) != ':' || time.charAt(5) != ':') {
            return null;
        }
        int h = digits(time, 0, 2);
        int m = digits(time, 3, 2);
        int s = digits(time, 6, 2);
        if (h > 23 || m > 59 || s > 60) {
            return null;
        }
        // A leap second reads as the last second of its minute.
        return LocalDateTime.of(year, month + 1, day, h, m, Math.min(s, 59)).toInstant(ZoneOffset.UTC).toEpochMilli();
    }

    private static int digits(String s, int from, int count) {
        int n = 0;
        for (int i = from; i < from + count; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                throw new IllegalArgumentException("not a digit");
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static int index(String[] names, String name) {
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name)) {
                return i;
            }
        }
        return -1;
    }
}
