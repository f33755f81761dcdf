package dev.braid.redirector;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.handler.codec.dns.TcpDnsQueryDecoder;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Fuzzes the query decoding the redirector puts in front of its answers (Netty's DNS decoders, as
 * {@code DnsChannels} sets them up): whatever arrives, a datagram or a TCP byte stream decodes to
 * queries or fails with a {@link DecoderException}, every buffer is released (paranoid leak
 * detection is on), and every decoded record can be read through.
 *
 * <p>{@code mvn verify} replays {@code DnsQueryFuzzTestInputs/}; {@code JAZZER_FUZZ=1} fuzzes
 * (docs/security.md).
 */
class DnsQueryFuzzTest {

    private static final InetSocketAddress CLIENT = new InetSocketAddress("192.0.2.1", 5353);
    private static final InetSocketAddress SERVER = new InetSocketAddress("192.0.2.53", 53);

    @FuzzTest(maxDuration = "5m")
    void udpQuery(byte[] input) {
        EmbeddedChannel ch = new EmbeddedChannel(new DatagramDnsQueryDecoder());
        ByteBuf datagram = ByteBufAllocator.DEFAULT.directBuffer(input.length).writeBytes(input);
        try {
            ch.writeInbound(new DatagramPacket(datagram, SERVER, CLIENT));
        } catch (DecoderException refused) {
            // A malformed query: the redirector answers FORMERR to what its header tap recorded.
        }
        drain(ch);
        // Decoded records hold slices of the datagram; once the queries are released, so is it.
        assertEquals(0, datagram.refCnt(), "the datagram is released with the queries");
    }

    @FuzzTest(maxDuration = "5m")
    void tcpQueries(byte[] input) {
        EmbeddedChannel ch = new EmbeddedChannel(new TcpDnsQueryDecoder());
        // Half the bytes, then the rest: a message split across reads must decode the same.
        int half = input.length / 2;
        for (int[] part : new int[][] {{0, half}, {half, input.length - half}}) {
            ByteBuf bytes = ByteBufAllocator.DEFAULT.directBuffer(Math.max(1, part[1])).writeBytes(input, part[0], part[1]);
            try {
                ch.writeInbound(bytes);
            } catch (DecoderException refused) {
                // The redirector closes a TCP connection that sends a malformed message.
                break;
            }
        }
        drain(ch);
    }

    private static void drain(EmbeddedChannel ch) {
        try {
            for (Object o = ch.readInbound(); o != null; o = ch.readInbound()) {
                try {
                    readThrough((DnsQuery) o);
                } finally {
                    ReferenceCountUtil.release(o);
                }
            }
        } finally {
            try {
                ch.finishAndReleaseAll();
            } catch (DecoderException refused) {
                // Bytes left in the decoder at the end of input are a truncated message.
            }
        }
        assertFalse(ch.isOpen() && ch.finish());
    }

    private static void readThrough(DnsQuery query) {
        for (DnsSection section : DnsSection.values()) {
            for (int i = 0; i < query.count(section); i++) {
                DnsRecord r = query.recordAt(section, i);
                r.name().length();
                if (r instanceof DnsRawRecord raw) {
                    raw.content().readableBytes();
                }
            }
        }
    }
}
