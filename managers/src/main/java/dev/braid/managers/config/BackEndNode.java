package dev.braid.managers.config;

import java.util.List;

/**
 * A back-end gateway next to a site's origins.
 *
 * @param listen TMP address it accepts links on, {@code host:port} (default 0.0.0.0:7070)
 * @param admin  admin endpoint, {@code host:port} (default 0.0.0.0:7071)
 * @param sites  names of the sites whose origins it serves
 */
public record BackEndNode(String name, String listen, String admin, List<String> sites) {

    public BackEndNode {
        listen = listen == null ? "0.0.0.0:7070" : listen;
        admin = admin == null ? "0.0.0.0:7071" : admin;
        sites = sites == null ? List.of() : List.copyOf(sites);
    }
}
