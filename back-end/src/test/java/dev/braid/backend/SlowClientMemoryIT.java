package dev.braid.backend;

import dev.braid.managers.config.Origin;
import dev.braid.testing.PooledMemoryBaseline;
import dev.braid.tmp.LinkSettings;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;

import static dev.braid.backend.TestFrontEnd.await;
import static dev.braid.backend.TestFrontEnd.get;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client reading at 10 KB/s from an origin offering a 1 GiB response: the back-end holds at most
 * the stream's send high-water mark plus one origin read, the front-end side at most the stream's
 * credit, and the origin is read only as fast as the client. Runs 20 s by default;
 * {@code -Dbraid.slowClientSeconds=60} runs the full minute.
 */
@ExtendWith(PooledMemoryBaseline.class)
class SlowClientMemoryIT {

    private static final int RATE = 10_000;
    /** One origin read: the adaptive receive buffer's largest size. */
    private static final int ONE_READ = 64 * 1024;

    @Test
    void aSlowClientNeverMakesTheBackEndBufferTheResponse() throws Exception {
        int seconds = Integer.getInteger("braid.slowClientSeconds", 20);
        try (Rig rig = new Rig()) {
            TestOrigin origin = rig.origin("primary");
            rig.start(Rig.config(List.of(new Origin("primary", origin.url(), null, null, null)), null));
            long baseline = usedPooledMemory();
            TestFrontEnd.SlowReader reader = rig.frontEnd.slowRead(get("/big"), 2, RATE);
            LinkSettings link = LinkSettings.DEFAULT;
            long backEndBound = link.sendHighWaterBytes() + ONE_READ + 1024;
            long frontEndBound = link.streamWindowBytes();
            long maxBackEnd = 0;
            long maxFrontEnd = 0;
            long maxPooled = 0;
            await(() -> reader.received > 0, Duration.ofSeconds(5), "the first bytes");
            long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
            while (System.nanoTime() < end) {
                Thread.sleep(250);
                long read = rig.backEnd.metrics().responseBytes("shop", "primary");
                long sent = rig.backEnd.links().stream().mapToLong(l -> l.sentBytesByRing()[2]).sum();
                // Sent bytes include the response head; held bytes are body bytes read and not yet sent.
                long heldBackEnd = Math.max(0, read - sent);
                maxBackEnd = Math.max(maxBackEnd, heldBackEnd);
                maxFrontEnd = Math.max(maxFrontEnd, reader.held());
                maxPooled = Math.max(maxPooled, usedPooledMemory() - baseline);
                assertTrue(heldBackEnd <= backEndBound, "back-end holds " + heldBackEnd + " > " + backEndBound);
                assertTrue(reader.held() <= frontEndBound, "front-end side holds " + reader.held() + " > " + frontEndBound);
            }
            long consumed = reader.consumed;
            long written = origin.bigBytesWritten.get();
            System.out.printf("slow client, %d s at %d B/s: client read %d B; origin wrote %d B of %d; most held: "
                            + "back-end %d B (bound %d), front-end side %d B (bound %d), pooled memory +%d B%n",
                    seconds, RATE, consumed, written, TestOrigin.BIG_BYTES, maxBackEnd, backEndBound, maxFrontEnd,
                    frontEndBound, maxPooled);
            assertTrue(consumed >= RATE * (seconds - 2L) / 2, "the client kept reading: " + consumed);
            // Socket buffers in the kernel hold a few MiB on loopback; the rest of the GiB was never read.
            assertTrue(written < 32L * 1024 * 1024, "the origin was read only as fast as the client: " + written);
            assertTrue(maxPooled <= 32L * 1024 * 1024, "pooled memory grew by " + maxPooled);
            reader.cancel();
            await(() -> rig.backEnd.activeExchanges() == 0, Duration.ofSeconds(5), "the exchange to end");
        }
    }

    private static long usedPooledMemory() {
        if (!(ByteBufAllocator.DEFAULT instanceof PooledByteBufAllocator p)) {
            return 0;
        }
        return p.metric().usedDirectMemory() + p.metric().usedHeapMemory();
    }
}
