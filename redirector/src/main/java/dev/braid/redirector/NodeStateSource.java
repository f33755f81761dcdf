package dev.braid.redirector;

import java.util.function.Consumer;

/**
 * Where a redirector gets the managers' live view of the front-ends. The managers' node-report
 * client implements it; tests feed snapshots by hand. A source calls its listener with a whole new
 * {@link NodeState} whenever anything changes (a front-end marked failed must reach the listener
 * at once: the redirector drops it from the next answer), from any thread, one call at a time.
 */
public interface NodeStateSource {

    /**
     * Starts delivering snapshots to {@code listener}, the current one first if there is one.
     *
     * @return closes the subscription; no call to the listener starts after it returns
     */
    AutoCloseable subscribe(Consumer<NodeState> listener);
}
