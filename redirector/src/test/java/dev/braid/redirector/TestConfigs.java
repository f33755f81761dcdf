package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;

import java.util.ArrayList;
import java.util.List;

/** Builds the small configurations the redirector tests answer from. */
final class TestConfigs {

    private final List<Site> sites = new ArrayList<>();
    private final List<FrontEndNode> frontEnds = new ArrayList<>();
    private final List<BackEndNode> backEnds = new ArrayList<>();
    private final List<RedirectorNode> redirectors = new ArrayList<>();

    static TestConfigs builder() {
        return new TestConfigs();
    }

    TestConfigs site(String name, int ttl, String... hostnames) {
        sites.add(new Site(name, List.of(hostnames), ttl, List.of()));
        return this;
    }

    TestConfigs backEnd(String name, String... siteNames) {
        backEnds.add(new BackEndNode(name, null, null, List.of(siteNames)));
        return this;
    }

    TestConfigs frontEnd(String name, String publicAddress, List<String> siteNames, List<String> backEndNames) {
        frontEnds.add(new FrontEndNode(name, null, publicAddress, null, null, null, siteNames, backEndNames));
        return this;
    }

    TestConfigs redirector(String name, String listen, int answerCount) {
        redirectors.add(new RedirectorNode(name, listen, null, answerCount));
        return this;
    }

    BraidConfig build() {
        // No rate limit: the socket tests ask one name many times from one address.
        return new BraidConfig(sites, frontEnds, backEnds, List.of(), redirectors, null, null,
                new dev.braid.managers.config.DnsSettings(null, null, null, null, null, null,
                        dev.braid.managers.config.DnsSettings.RrlSettings.OFF));
    }

    /**
     * The shop: {@code www.shop.example} and {@code shop.example} (zone {@code shop.example}),
     * three eligible front-ends (two IPv4, one IPv6), one assigned but linked to a back-end of
     * another site, one linked but not assigned; two redirectors, one on a specific address.
     */
    static BraidConfig shop() {
        return builder()
                .site("shop", 20, "www.shop.example", "shop.example")
                .site("blog", 60, "blog.example.org")
                .backEnd("be-shop", "shop")
                .backEnd("be-blog", "blog")
                .frontEnd("fe1", "192.0.2.1", List.of("shop"), List.of("be-shop"))
                .frontEnd("fe2", "192.0.2.2", List.of("shop", "blog"), List.of("be-shop", "be-blog"))
                .frontEnd("fe3", "2001:db8::3", List.of("shop"), List.of("be-shop"))
                .frontEnd("fe4", "192.0.2.4", List.of("shop"), List.of("be-blog"))
                .frontEnd("fe5", "192.0.2.5", List.of("blog"), List.of("be-shop"))
                .redirector("r1", "198.51.100.53:5300", 2)
                .redirector("r2", "0.0.0.0:5300", 2)
                .build();
    }
}
