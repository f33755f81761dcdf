package dev.braid.managers.config;

import java.util.List;

/**
 * A region of client networks: the redirector maps a client (by EDNS Client Subnet or the
 * resolver's address) to the region whose prefix matches it most specifically, and prefers the
 * front-ends of that region ({@code frontEnds[].region}).
 *
 * @param prefixes client networks in CIDR notation ({@code 10.0.0.0/8}, {@code 2001:db8::/32})
 */
public record Region(String name, List<String> prefixes) {

    public Region {
        prefixes = prefixes == null ? List.of() : List.copyOf(prefixes);
    }
}
