package dev.braid.managers.config;

/**
 * The managers' own settings.
 *
 * @param listen admin API and console address, {@code host:port} (default 0.0.0.0:9180)
 */
public record ManagersNode(String listen) {

    public static final ManagersNode DEFAULT = new ManagersNode(null);

    public ManagersNode {
        listen = listen == null ? "0.0.0.0:9180" : listen;
    }
}
