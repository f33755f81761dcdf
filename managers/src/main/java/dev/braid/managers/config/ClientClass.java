package dev.braid.managers.config;

import java.util.List;

/**
 * A class of clients: requests matching any of its rules get its priority ring and weight.
 * Classes are tried in the order listed; the first whose rules match wins, and a class with no
 * rules matches everything (put it last as the default).
 *
 * @param ring   blender ring, 0 = highest priority (default 2)
 * @param weight blend weight of the class (default 1, at least 1)
 */
public record ClientClass(String name, Integer ring, Integer weight, List<ClassRule> rules) {

    public ClientClass {
        ring = ring == null ? 2 : ring;
        weight = weight == null ? 1 : weight;
        rules = rules == null ? List.of() : List.copyOf(rules);
    }
}
