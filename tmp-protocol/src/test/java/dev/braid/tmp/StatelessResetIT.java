package dev.braid.tmp;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;
import dev.braid.testing.PooledMemoryBaseline;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A back-end that crashes (its event loops stop: no CLOSE leaves) and restarts on the same port,
 * over real sockets: with the same static key (or in plain text) it resets the front-end's old
 * link at once and the front-end reconnects; one that stays away is found dead by the dead-peer
 * timeout rather than the 30 s idle timeout. Each case prints its times.
 */
@ExtendWith(PooledMemoryBaseline.class)
class StatelessResetIT {

    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void keys() throws Exception {
        pki = TestPki.create(dir);
    }

    /** What the front-end saw: why and when (after the crash) its stream on the old link was reset, and when the new link came. */
    private record Outcome(String reason, long crashToResetMillis, long restartToLinkMillis) {
    }

    @Test
    void aRestartedPlainTextBackEndResetsTheOldLinkAtOnce() throws Exception {
        Outcome o = crashAndRestart("plain text", null, () -> null, 1000);
        assertTrue(o.reason().endsWith(TmpConnection.STATELESS_RESET), o.reason());
        assertTrue(o.restartToLinkMillis() < 3_000, o.restartToLinkMillis() + " ms");
    }

    @Test
    void aRestartedBackEndWithItsStaticKeyResetsTheOldLinkAtOnce() throws Exception {
        Outcome o = crashAndRestart("encrypted", pki.initiator("fe", "be"), () -> pki.responder("be"), 1000);
        assertTrue(o.reason().endsWith(TmpConnection.STATELESS_RESET), o.reason());
        assertTrue(o.restartToLinkMillis() < 3_000, o.restartToLinkMillis() + " ms");
    }

    /** Nobody answers for the old link: the dead-peer timeout (5 s) ends it, not the idle timeout (30 s). */
    @Test
    void aBackEndThatStaysAwayIsFoundDeadByTheDeadPeerTimeout() throws Exception {
        Outcome o = crashAndRestart("encrypted, back after 6.5 s", pki.initiator("fe", "be"),
                () -> pki.responder("be"), 6500);
        assertTrue(o.reason().contains("no acknowledgement for 5000 ms with data in flight"), o.reason());
        assertTrue(o.crashToResetMillis() < 6500, o.crashToResetMillis() + " ms");
    }

    private Outcome crashAndRestart(String label, UdpSecurity fe, Supplier<UdpSecurity> be, long downMillis)
            throws Exception {
        EventLoops clientLoops = EventLoops.create("reset-it-fe", Transport.NIO, 1);
        EventLoops firstLoops = EventLoops.create("reset-it-be", Transport.NIO, 1);
        EventLoops secondLoops = null;
        TmpServer second = null;
        TmpClient client = null;
        try {
            TmpServer first = TmpServer.startUdpOnly(firstLoops, new InetSocketAddress("127.0.0.1", 0),
                    TestPki.with(UdpCarrierIT.PATIENT, be.get()), "be", stream -> new UdpCarrierIT.Echo());
            InetSocketAddress address = first.localAddress();
            client = TmpClient.start(clientLoops, address, "be", TestPki.with(UdpCarrierIT.PATIENT, fe), "fe",
                    stream -> null);
            TmpLink old = client.awaitLink().get(10, TimeUnit.SECONDS);
            echo(old, 1000);

            firstLoops.close(); // the crash: the loops stop first, no CLOSE leaves
            // A request sent meanwhile: data in flight that the dead back-end never acknowledges.
            long crashed = System.nanoTime();
            UdpCarrierIT.Collect stuck = new UdpCarrierIT.Collect();
            long[] resetAt = {0};
            stuck.done.whenComplete((v, e) -> resetAt[0] = System.nanoTime());
            TmpStream s = old.openStream(1, "standard", false, stuck);
            ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(2000);
            b.writeZero(2000);
            s.writeAndEnd(b);
            Thread.sleep(downMillis);

            secondLoops = EventLoops.create("reset-it-be2", Transport.NIO, 1);
            second = TmpServer.startUdpOnly(secondLoops, address, TestPki.with(UdpCarrierIT.PATIENT, be.get()), "be",
                    stream -> new UdpCarrierIT.Echo());
            long restarted = System.nanoTime();
            TmpLink next = null;
            long deadline = restarted + 20_000_000_000L;
            while (System.nanoTime() < deadline) {
                TmpLink l = client.link();
                if (l != null && l != old) {
                    next = l;
                    break;
                }
                Thread.sleep(5);
            }
            long ms = (System.nanoTime() - restarted) / 1_000_000;
            assertNotNull(next, "a new link within 20 s of the restart");
            String reason;
            try {
                stuck.done.get(1, TimeUnit.SECONDS);
                reason = "not reset";
            } catch (ExecutionException e) {
                reason = e.getCause().getMessage();
            }
            long crashToReset = (resetAt[0] - crashed) / 1_000_000;
            System.out.printf("back-end crash (%s): old link's stream reset %d ms after the crash (%s); new link %d ms"
                    + " after the restart%n", label, crashToReset, reason, ms);
            echo(next, 1000);
            assertTrue(reason.startsWith(ResetCode.LINK_LOST.name()), reason);
            assertEquals("udp", next.carrier());
            return new Outcome(reason, crashToReset, ms);
        } finally {
            if (client != null) {
                client.close();
            }
            if (second != null) {
                second.close();
            }
            if (secondLoops != null) {
                secondLoops.close();
            }
            clientLoops.close();
        }
    }

    private static void echo(TmpLink link, int bytes) throws Exception {
        byte[] payload = new byte[bytes];
        new java.util.Random(bytes).nextBytes(payload);
        UdpCarrierIT.Collect c = new UdpCarrierIT.Collect();
        TmpStream s = link.openStream(1, "standard", false, c);
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(bytes);
        b.writeBytes(payload);
        s.writeAndEnd(b);
        assertArrayEquals(payload, c.done.get(10, TimeUnit.SECONDS));
    }
}
