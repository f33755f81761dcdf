package dev.braid.managers.state;

import java.util.Objects;

/**
 * One lending of a spare node to a site by the assignment policy: the dynamic layer on top of the
 * configuration's static {@code sites} lists.
 *
 * @param role        {@link NodeReport#FRONT_END} or {@link NodeReport#BACK_END}
 * @param sinceMillis when the node was lent, in the policy's clock (epoch milliseconds in the managers)
 */
public record Assignment(String role, String node, String site, long sinceMillis) {

    public Assignment {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(site, "site");
    }
}
