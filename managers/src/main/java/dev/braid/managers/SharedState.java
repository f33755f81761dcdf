package dev.braid.managers;

import java.io.IOException;
import java.util.Map;

/**
 * What the managers processes of a cluster share besides the configuration: node reports (a node
 * reports to any one of them), the assignment layer, and who leads the assignment loop. A single
 * managers process shares with nobody and always leads.
 */
interface SharedState extends AutoCloseable {

    boolean isLeader();

    /** The leading process's name, or null when none is known. */
    String leader();

    /** This process's name. */
    String self();

    /** Makes a node's report (as received here) visible to the other managers; may be asynchronous. */
    void publishReport(String key, byte[] entry);

    /** Every node report the cluster holds, by key. */
    Map<String, byte[]> reports() throws IOException;

    void publishAssignments(byte[] json) throws IOException;

    /** The assignment layer the leader last published, or null when none is. */
    byte[] assignments() throws IOException;

    @Override
    void close();

    /** A process on its own. */
    static SharedState alone(String self) {
        return new SharedState() {
            @Override
            public boolean isLeader() {
                return true;
            }

            @Override
            public String leader() {
                return self;
            }

            @Override
            public String self() {
                return self;
            }

            @Override
            public void publishReport(String key, byte[] entry) {
            }

            @Override
            public Map<String, byte[]> reports() {
                return Map.of();
            }

            @Override
            public void publishAssignments(byte[] json) {
            }

            @Override
            public byte[] assignments() {
                return null;
            }

            @Override
            public void close() {
            }
        };
    }
}
