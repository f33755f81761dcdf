package dev.braid.managers.config;

/**
 * How a back-end judges an origin's health, with hysteresis: an origin is ejected after
 * {@code fall} failures in a row (active probes, connection errors and resets) or when the share
 * of 5xx responses among its last {@code errorWindow} reaches {@code errorRatio}; it returns after
 * {@code rise} successful probes in a row, or, without probes, after {@code ejectMillis}.
 *
 * @param path          path of the active probe ({@code GET}, 2xx or 3xx is healthy); null for
 *                      passive checks only (default)
 * @param intervalMillis time between probes, in milliseconds (default 2000)
 * @param timeoutMillis probe answer limit, in milliseconds (default 1000)
 * @param rise          successful probes in a row that bring an ejected origin back (default 2)
 * @param fall          failures in a row that eject an origin (default 3)
 * @param errorRatio    share of 5xx responses, 0..1, that ejects an origin (default 0.5)
 * @param errorWindow   responses the 5xx share is measured over (default 20)
 * @param ejectMillis   without probes: how long an ejected origin stays out, in milliseconds
 *                      (default 10000)
 */
public record HealthCheck(String path, Integer intervalMillis, Integer timeoutMillis, Integer rise, Integer fall,
                          Double errorRatio, Integer errorWindow, Integer ejectMillis) {

    public static final HealthCheck DEFAULT = new HealthCheck(null, null, null, null, null, null, null, null);

    public HealthCheck {
        intervalMillis = intervalMillis == null ? 2000 : intervalMillis;
        timeoutMillis = timeoutMillis == null ? 1000 : timeoutMillis;
        rise = rise == null ? 2 : rise;
        fall = fall == null ? 3 : fall;
        errorRatio = errorRatio == null ? 0.5 : errorRatio;
        errorWindow = errorWindow == null ? 20 : errorWindow;
        ejectMillis = ejectMillis == null ? 10_000 : ejectMillis;
    }
}
