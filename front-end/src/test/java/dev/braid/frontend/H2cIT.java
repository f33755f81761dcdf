package dev.braid.frontend;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * HTTP/2 with prior knowledge on the plain listener (RFC 9113 §3.3): Netty's HTTP/2 client and,
 * where installed, {@code curl --http2-prior-knowledge} reach the origin through the front-end,
 * several streams on one connection; HTTP/1.1 on the same port is unaffected.
 */
@ExtendWith(PooledMemoryBaseline.class)
@Timeout(60)
class H2cIT {

    private GatewayFixture gateway;
    private EventLoops clientLoops;

    @AfterEach
    void stop() {
        if (clientLoops != null) {
            clientLoops.close();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    /** What a stream brought back. */
    private record Answer(int status, io.netty.handler.codec.http.HttpHeaders headers, String body) {
    }

    private static CompletableFuture<Answer> send(Channel connection, FullHttpRequest request) {
        CompletableFuture<Answer> answer = new CompletableFuture<>();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection)
                .handler(new ChannelInitializer<Http2StreamChannel>() {
                    @Override
                    protected void initChannel(Http2StreamChannel ch) {
                        ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false),
                                new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                                        answer.complete(new Answer(res.status().code(), res.headers().copy(),
                                                res.content().toString(StandardCharsets.UTF_8)));
                                        ctx.close();
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        answer.completeExceptionally(cause);
                                    }
                                });
                    }
                }).open().syncUninterruptibly().getNow();
        stream.writeAndFlush(request);
        return answer;
    }

    @Test
    void nettyHttp2ClientWithPriorKnowledgeReachesTheOrigin() throws Exception {
        gateway = new GatewayFixture(Transport.NIO, 2, 1, 100);
        clientLoops = EventLoops.create("h2c-client", Transport.NIO, 1);
        Channel connection = new Bootstrap().group(clientLoops.group())
                .channel(clientLoops.transport().socketChannel())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect(new InetSocketAddress("127.0.0.1", gateway.port())).syncUninterruptibly().channel();
        try {
            List<CompletableFuture<Answer>> answers = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                FullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/h2/" + i,
                        ByteBufAllocator.DEFAULT.buffer(0));
                get.headers().set(HttpHeaderNames.HOST, GatewayFixture.HOST);
                answers.add(send(connection, get));
            }
            byte[] payload = "x".repeat(5000).getBytes(StandardCharsets.US_ASCII);
            FullHttpRequest post = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/h2/post",
                    ByteBufAllocator.DEFAULT.buffer().writeBytes(payload));
            post.headers().set(HttpHeaderNames.HOST, GatewayFixture.HOST);
            post.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, payload.length);
            CompletableFuture<Answer> posted = send(connection, post);
            for (int i = 0; i < 10; i++) {
                Answer a = answers.get(i).get(10, TimeUnit.SECONDS);
                assertEquals(200, a.status());
                assertEquals("GET /h2/" + i + " 0", a.body());
                assertEquals("1.1 be-1, 1.1 fe-1", a.headers().get("via"));
            }
            assertEquals("POST /h2/post 5000", posted.get(10, TimeUnit.SECONDS).body());
            assertEquals(1, gateway.origin.received("POST /h2/post"));
        } finally {
            connection.close().syncUninterruptibly();
        }
    }

    @Test
    void http11OnTheSamePortIsUnaffected() throws IOException {
        gateway = new GatewayFixture(Transport.NIO, 2, 1, 100);
        try (Socket s = new Socket("127.0.0.1", gateway.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            // A first byte that starts like the preface, then HTTP/1.1 after all.
            out.write("P".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            out.write(("OST /one HTTP/1.1\r\nHost: " + GatewayFixture.HOST + "\r\nContent-Length: 0\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(response.startsWith("HTTP/1.1 200 OK\r\n"), response);
            assertTrue(response.endsWith("POST /one 0"), response);
        }
    }

    @Test
    void curlWithHttp2PriorKnowledge() throws Exception {
        assumeTrue(new java.io.File("/usr/bin/curl").canExecute(), "curl is not installed at /usr/bin/curl");
        gateway = new GatewayFixture(Transport.NIO, 2, 1, 100);
        Process curl = new ProcessBuilder("/usr/bin/curl", "-sS", "--http2-prior-knowledge", "--max-time", "10",
                "-H", "Host: " + GatewayFixture.HOST, "-w", "\\n%{http_version} %{http_code}",
                "http://127.0.0.1:" + gateway.port() + "/curl?a=1").redirectErrorStream(true).start();
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(curl.waitFor(15, TimeUnit.SECONDS));
        assertEquals(0, curl.exitValue(), out);
        assertEquals("GET /curl?a=1 0\n2 200", out);
    }
    @Test
    void anUpgradeToH2cIsAnsweredOverHttp11() throws IOException {
        gateway = new GatewayFixture(Transport.NIO, 2, 1, 100);
        try (Socket s = new Socket("127.0.0.1", gateway.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET /up HTTP/1.1\r\nHost: " + GatewayFixture.HOST + "\r\n"
                    + "Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(response.startsWith("HTTP/1.1 200 OK\r\n"), "no 101: " + response);
            assertTrue(response.endsWith("GET /up 0"), response);
        }
    }
}
