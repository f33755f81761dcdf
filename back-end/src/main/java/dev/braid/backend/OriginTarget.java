package dev.braid.backend;

import dev.braid.managers.config.Origin;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLException;
import java.io.File;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where and how to connect to one origin: its address, TLS (verified against the configured roots,
 * or the JDK's trust store, with the host name checked), timeouts and connection limit, plus the
 * shared count of open connections the pool keeps under that limit. Built when a configuration is
 * applied; replaced, not changed, when the URL, TLS roots or connection settings change.
 */
final class OriginTarget {

    final String site;
    final String name;
    final String host;
    final int port;
    final InetSocketAddress address;
    /** Null for plain http. */
    final SslContext ssl;
    final int connectTimeoutMillis;
    final int responseTimeoutMillis;
    final int maxConnections;

    /** Open connections to this origin across every event loop, idle ones included. */
    final AtomicInteger open = new AtomicInteger();
    /** Idle connections on any loop; removing one from here is what claims it. */
    final Set<Channel> idle = ConcurrentHashMap.newKeySet();
    /** Acquirers waiting for a connection slot: each runs on its own loop when one frees. */
    final ConcurrentLinkedQueue<Map.Entry<EventLoop, Runnable>> waiters = new ConcurrentLinkedQueue<>();
    volatile boolean retired;

    private OriginTarget(String site, Origin o, SslContext ssl) {
        URI uri = URI.create(o.url());
        this.site = site;
        this.name = o.name();
        this.host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
        this.port = uri.getPort();
        this.address = InetSocketAddress.createUnresolved(host, port);
        this.ssl = ssl;
        this.connectTimeoutMillis = o.connectTimeoutMillis();
        this.responseTimeoutMillis = o.responseTimeoutMillis();
        this.maxConnections = o.maxConnections();
    }

    /**
     * @throws IllegalArgumentException naming the origin's field when TLS cannot be set up (e.g. a
     *                                  roots file that cannot be read)
     */
    static OriginTarget of(String site, Origin o) {
        SslContext ssl = null;
        if (o.url().startsWith("https:")) {
            try {
                SslContextBuilder b = SslContextBuilder.forClient()
                        .sslProvider(SslProvider.JDK)
                        .endpointIdentificationAlgorithm("HTTPS");
                if (o.tlsRoots() != null) {
                    b.trustManager(new File(o.tlsRoots()));
                }
                ssl = b.build();
            } catch (SSLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("sites[" + site + "].origins[" + o.name() + "].tlsRoots: "
                        + o.tlsRoots() + " (expected: a readable PEM file of root certificates; " + e.getMessage() + ")", e);
            }
        }
        return new OriginTarget(site, o, ssl);
    }

    /** Whether a new configuration of the origin can keep using this target's connections. */
    boolean sameAs(Origin o) {
        return !retired && Objects.equals(URI.create(o.url()).getHost(), uriHost()) && port == URI.create(o.url()).getPort()
                && (ssl != null) == o.url().startsWith("https:")
                && connectTimeoutMillis == o.connectTimeoutMillis() && responseTimeoutMillis == o.responseTimeoutMillis()
                && maxConnections == o.maxConnections() && o.tlsRoots() == null;
    }

    private String uriHost() {
        return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    }

    @Override
    public String toString() {
        return name + " at " + (ssl != null ? "https://" : "http://") + uriHost() + ":" + port;
    }
}
