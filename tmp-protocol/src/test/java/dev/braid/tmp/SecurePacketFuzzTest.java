package dev.braid.tmp;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the encrypted packet decoder of {@link TmpConnection}: whatever datagram arrives at an
 * established encrypted link (the first input byte picks the target, the rest is the datagram),
 * nothing escapes {@code receive}, the datagram is released, and the link stays up — bytes without
 * the key can only be dropped. Inputs that start with {@code 1} go to a fresh responder instead,
 * as a first handshake packet: it may refuse, never throw.
 *
 * <p>{@code mvn verify} replays the corpus in {@code SecurePacketFuzzTestInputs/datagram}; with
 * {@code JAZZER_FUZZ=1} Jazzer fuzzes (see docs/security.md).
 */
class SecurePacketFuzzTest {

    /** Keys and settings made once: loading and checking certificates per input would be most of the work. */
    private static final class Keys {
        static final LinkSettings CLIENT;
        static final LinkSettings SERVER;

        static {
            try {
                TestPki pki = TestPki.create(Files.createTempDirectory("braid-fuzz-pki"));
                CLIENT = TestPki.with(LinkSettings.DEFAULT, pki.initiator("fe", "be"));
                SERVER = TestPki.with(LinkSettings.DEFAULT, pki.responder("be"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static UdpPair established;

    private static UdpPair established() throws Exception {
        if (established == null || !established.server.isEstablished()) {
            UdpPair p = new UdpPair(1, Keys.CLIENT, Keys.SERVER, "fe");
            p.run(1);
            established = p;
        }
        return established;
    }

    @FuzzTest(maxDuration = "5m")
    void datagram(byte[] input) throws Exception {
        boolean fresh = input.length > 0 && input[0] == 1;
        TmpConnection target;
        UdpPair freshPair = null;
        if (fresh) {
            freshPair = new UdpPair(2, Keys.CLIENT, Keys.SERVER, "fe");
            target = freshPair.server;
        } else {
            target = established().server;
        }
        ByteBuf d = ByteBufAllocator.DEFAULT.directBuffer(Math.max(1, input.length));
        d.writeBytes(input, Math.min(1, input.length), Math.max(0, input.length - 1));
        try {
            d.retain();
            target.receive(established == null ? 0 : established.net.now, d);
            assertEquals(1, d.refCnt(), "receive releases the datagram, once");
        } finally {
            d.release();
        }
        if (fresh) {
            freshPair.close();
        } else {
            assertTrue(target.isEstablished(), "a datagram without the key cannot close the link");
        }
    }
}
