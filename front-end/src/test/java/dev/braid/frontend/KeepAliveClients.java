package dev.braid.frontend;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Many concurrent keep-alive HTTP/1.1 clients on one Netty event loop group, run in a process of
 * its own by {@code TenThousandClientsIT} (so that client and server sockets do not share one
 * descriptor limit). Client {@code i} binds its socket to the loopback source address
 * {@code 127.0.0.(2 + i % sources)}, connects, and once every client is connected and the parent
 * says {@code GO}, sends {@code GET /c/<i>/<j>} for j = 0 … requests-1 on its one connection, each
 * after the answer to the one before, checking that the answer is 200 with the body
 * {@code "GET /c/<i>/<j> 0"} and that the connection stays open. Protocol on stdout:
 * {@code CONNECTED <n> <ms>}, then {@code RESULT ok=<n> bad=<n> unanswered=<n> ms=<ms>} and up to
 * ten {@code BAD <why>} lines.
 *
 * <p>Arguments: host port clients requests-per-client source-addresses timeout-seconds.
 */
final class KeepAliveClients {

    private KeepAliveClients() {
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int clients = Integer.parseInt(args[2]);
        int requests = Integer.parseInt(args[3]);
        int sources = Integer.parseInt(args[4]);
        long timeoutSeconds = Long.parseLong(args[5]);
        Transport transport = Transport.EPOLL.isAvailable() ? Transport.EPOLL : Transport.NIO;
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger bad = new AtomicInteger();
        Queue<String> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch finished = new CountDownLatch(clients);
        List<Channel> channels = new ArrayList<>(clients);
        try (EventLoops loops = EventLoops.create("clients", transport, 2)) {
            Bootstrap b = new Bootstrap().group(loops.group()).channel(loops.transport().socketChannel())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 20_000)
                    .option(ChannelOption.TCP_NODELAY, true);
            long start = System.nanoTime();
            // Bounded connects in flight, so the listener's backlog is never the limit being tested.
            Semaphore connecting = new Semaphore(512);
            AtomicInteger connectFailures = new AtomicInteger();
            for (int i = 0; i < clients; i++) {
                int id = i;
                connecting.acquire();
                ChannelFuture f = b.clone().handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 * 1024),
                                new Client(id, requests, ok, bad, failures, finished));
                    }
                }).connect(new InetSocketAddress(host, port),
                        new InetSocketAddress("127.0.0." + (2 + id % sources), 0));
                f.addListener(x -> {
                    connecting.release();
                    if (!x.isSuccess()) {
                        connectFailures.incrementAndGet();
                        failures.add("client " + id + " could not connect: " + x.cause());
                        bad.incrementAndGet();
                        finished.countDown();
                    }
                });
                channels.add(f.channel());
            }
            connecting.acquire(512);
            long connected = channels.stream().filter(Channel::isActive).count();
            System.out.println("CONNECTED " + connected + " " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
            if (!"GO".equals(in.readLine())) {
                System.out.println("RESULT ok=0 bad=0 unanswered=" + clients + " ms=0");
                return;
            }
            long go = System.nanoTime();
            for (Channel ch : channels) {
                if (ch.isActive()) {
                    ch.pipeline().get(Client.class).next(ch);
                }
            }
            finished.await(timeoutSeconds, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - go);
            System.out.println("RESULT ok=" + ok.get() + " bad=" + bad.get() + " unanswered=" + finished.getCount()
                    + " ms=" + ms);
            failures.stream().limit(10).forEach(f -> System.out.println("BAD " + f));
            System.out.flush();
            for (Channel ch : channels) {
                ch.close();
            }
        }
    }

    /** One client: its requests in order on one connection. */
    private static final class Client extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final int id;
        private final int requests;
        private final AtomicInteger ok;
        private final AtomicInteger bad;
        private final Queue<String> failures;
        private final CountDownLatch finished;
        private int sent;
        private boolean done;

        Client(int id, int requests, AtomicInteger ok, AtomicInteger bad, Queue<String> failures,
               CountDownLatch finished) {
            this.id = id;
            this.requests = requests;
            this.ok = ok;
            this.bad = bad;
            this.failures = failures;
            this.finished = finished;
        }

        void next(Channel ch) {
            ch.eventLoop().execute(() -> {
                FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                        "/c/" + id + "/" + sent, ch.alloc().buffer(0));
                r.headers().set(HttpHeaderNames.HOST, GatewayFixture.HOST);
                sent++;
                ch.writeAndFlush(r);
            });
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
            String expected = "GET /c/" + id + "/" + (sent - 1) + " 0";
            String body = res.content().toString(StandardCharsets.UTF_8);
            if (res.status().code() != 200 || !expected.equals(body) || !HttpUtil.isKeepAlive(res)) {
                fail("client " + id + " request " + (sent - 1) + ": " + res.status() + " \"" + body + "\"");
                return;
            }
            ok.incrementAndGet();
            if (sent < requests) {
                next(ctx.channel());
            } else {
                end();
            }
        }

        private void fail(String why) {
            bad.incrementAndGet();
            failures.add(why);
            end();
        }

        private void end() {
            if (!done) {
                done = true;
                finished.countDown();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!done) {
                fail("client " + id + ": connection closed after " + sent + " request(s)");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail("client " + id + ": " + cause);
            ctx.close();
        }
    }
}
