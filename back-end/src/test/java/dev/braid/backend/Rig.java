package dev.braid.backend;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.Origin;
import dev.braid.managers.config.QueueSettings;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Metrics;
import dev.braid.runtime.Transport;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A back-end on 127.0.0.1 with test origins in front of it and a test front-end linked to it. */
final class Rig implements AutoCloseable {

    final EventLoops loops = EventLoops.create("it-be", Transport.NIO, 2);
    final MultiThreadIoEventLoopGroup originLoops = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    final Metrics metrics = new Metrics();
    final List<TestOrigin> origins = new ArrayList<>();
    BackEnd backEnd;
    TestFrontEnd frontEnd;

    TestOrigin origin(String name) {
        TestOrigin o = new TestOrigin(name, originLoops);
        origins.add(o);
        return o;
    }

    static BraidConfig config(List<Origin> origins, QueueSettings queue) {
        return new BraidConfig(
                List.of(new Site("shop", List.of("www.shop.example"), null, origins, null, queue)),
                null, List.of(new BackEndNode("be-1", "127.0.0.1:0", null, List.of("shop"))), null, null, null, null);
    }

    Rig start(BraidConfig config) throws Exception {
        backEnd = BackEnd.start(new BackEnd.Options("be-1", new InetSocketAddress("127.0.0.1", 0), loops, metrics, config));
        frontEnd = new TestFrontEnd(loops, backEnd.localAddress());
        return this;
    }

    OriginStats stats(String origin) {
        return backEnd.originStats().stream().filter(s -> s.origin().equals(origin)).findFirst().orElseThrow();
    }

    @Override
    public void close() {
        if (frontEnd != null) {
            frontEnd.close();
        }
        if (backEnd != null) {
            backEnd.drain(java.time.Duration.ofSeconds(2));
        }
        origins.forEach(TestOrigin::close);
        loops.close();
        originLoops.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
