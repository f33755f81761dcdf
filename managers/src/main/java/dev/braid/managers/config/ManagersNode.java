package dev.braid.managers.config;

/**
 * The managers' own settings.
 *
 * @param listen           admin API and console address, {@code host:port} (default 0.0.0.0:9180)
 * @param reportIntervalMs how often every node reports to the managers, in milliseconds (default
 *                         2000); a node whose last report is older than three intervals is down
 * @param assignment       the assignment policy's thresholds
 * @param etcd             the cluster store; none by default (a local state directory or memory)
 */
public record ManagersNode(String listen, Integer reportIntervalMs, AssignmentSettings assignment, EtcdSettings etcd) {

    public static final ManagersNode DEFAULT = new ManagersNode(null);

    public static final int DEFAULT_REPORT_INTERVAL_MS = 2000;

    /** Reports a node may miss before the managers mark it down. */
    public static final int MISSED_REPORTS_DOWN = 3;

    public ManagersNode(String listen) {
        this(listen, null, null, null);
    }

    public ManagersNode {
        listen = listen == null ? "0.0.0.0:9180" : listen;
        reportIntervalMs = reportIntervalMs == null ? DEFAULT_REPORT_INTERVAL_MS : reportIntervalMs;
        assignment = assignment == null ? AssignmentSettings.DEFAULT : assignment;
        etcd = etcd == null ? EtcdSettings.DEFAULT : etcd;
    }
}
