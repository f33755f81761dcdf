package dev.braid.managers.config;

import java.util.List;

/**
 * A configuration was refused. It carries every reason found, each of the form
 * {@code "field.path: value (expected: ...)"}, so an operator can fix them all in one go.
 */
public final class ConfigException extends RuntimeException {

    private final List<String> errors;

    public ConfigException(List<String> errors) {
        this(null, errors, null);
    }

    /**
     * @param context where the configuration came from (a file name), or null
     * @param errors  at least one reason
     * @param cause   the underlying failure, or null
     */
    public ConfigException(String context, List<String> errors, Throwable cause) {
        super(message(context, errors), cause);
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("errors: [] (expected: at least one reason)");
        }
        this.errors = List.copyOf(errors);
    }

    /** Every reason, in the order found. */
    public List<String> errors() {
        return errors;
    }

    private static String message(String context, List<String> errors) {
        String prefix = context == null ? "" : context + ": ";
        if (errors.size() == 1) {
            return prefix + errors.get(0);
        }
        return prefix + errors.size() + " configuration errors:\n  " + String.join("\n  ", errors);
    }
}
