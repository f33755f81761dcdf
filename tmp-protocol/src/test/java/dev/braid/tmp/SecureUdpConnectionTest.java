package dev.braid.tmp;

import dev.braid.tmp.security.PeerRejectedException;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The encrypted UDP link, sans I/O, on the deterministic test network: the Noise IK handshake with
 * certificates checked on both sides, refusal of unknown, expired, revoked and wrong-role peers,
 * tampered, replayed and truncated packets dropped and counted while the link goes on, and key
 * updates under load with every byte delivered.
 */
class SecureUdpConnectionTest {

    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void keys() throws Exception {
        pki = TestPki.create(dir);
    }

    private static UdpPair pair(long seed, UdpSecurity client, UdpSecurity server, String clientName) {
        return new UdpPair(seed, TestPki.with(LinkSettings.DEFAULT, client), TestPki.with(LinkSettings.DEFAULT, server),
                clientName);
    }

    private static boolean isShort(ByteBuf d) {
        return !PacketHeader.isLong(d);
    }

    private static void echoBytes(UdpPair p, int bytes) {
        p.run(1);
        assertTrue(p.client.isEstablished(), "established before the load");
        UdpPair.Bulk b = p.bulk(1, bytes);
        p.run(30);
        assertNull(b.reset);
        assertEquals(bytes, p.receivedBytes(), "every byte arrived");
        LinkCoreTest.Sink sink = p.accepted.get(0);
        byte[] got = sink.bytes.toByteArray();
        for (int i = 0; i < got.length; i++) {
            if (got[i] != (byte) (i * 31 % 251)) {
                throw new AssertionError("byte " + i + " differs");
            }
        }
        assertTrue(sink.fin);
    }

    @Test
    void theHandshakeAuthenticatesBothNodesAndStreamsArriveIntact() throws Exception {
        UdpSecurity fe = pki.initiator("fe", "be");
        UdpSecurity be = pki.responder("be");
        try (UdpPair p = pair(1, fe, be, "fe")) {
            byte[] marker = "a secret marker in the clear".getBytes(StandardCharsets.US_ASCII);
            boolean[] seenInClear = {false};
            for (int end = 0; end < 2; end++) {
                p.net.taps[end] = d -> {
                    byte[] all = new byte[d.readableBytes()];
                    d.getBytes(d.readerIndex(), all);
                    if (new String(all, StandardCharsets.ISO_8859_1).contains("marker")) {
                        seenInClear[0] = true;
                    }
                    return d;
                };
            }
            p.run(2);
            assertTrue(p.client.isEstablished() && p.server.isEstablished(), "established");
            assertTrue(p.client.isEncrypted());
            assertEquals("back-end be", p.client.peerIdentity().toString());
            assertEquals("front-end fe", p.server.peerIdentity().toString());
            LinkCoreTest.Sink unused = new LinkCoreTest.Sink();
            TmpStream s = p.client.core().openStream(1, "c", false, unused);
            ByteBuf b = p.net.alloc.buffer();
            b.writeBytes(marker);
            s.writeAndEnd(b);
            p.run(2);
            assertEquals(new String(marker, StandardCharsets.US_ASCII),
                    p.accepted.get(0).bytes.toString(StandardCharsets.US_ASCII));
            assertFalse(seenInClear[0], "stream bytes never travel in the clear");
            assertEquals(0, fe.dropped(UdpSecurity.Drop.UNDECRYPTABLE) + be.dropped(UdpSecurity.Drop.UNDECRYPTABLE));
        }
    }

    private static void assertRefused(String clientName, PeerRejectedException.Reason reason) throws Exception {
        UdpSecurity be = pki.responder("be");
        try (UdpPair p = pair(2, pki.initiator(clientName, "be"), be, clientName)) {
            p.run(3);
            assertFalse(p.client.isEstablished(), clientName + " must not get a link");
            assertTrue(p.server.isClosed());
            assertTrue(p.server.closeReason().startsWith("peer refused"), p.server.closeReason());
            assertEquals(1, be.refused(reason), clientName + ": " + p.server.closeReason());
            assertEquals(1, be.dropped(UdpSecurity.Drop.PEER_REFUSED));
        }
    }

    @Test
    void aPeerOfAnUnknownCaIsRefused() throws Exception {
        assertRefused("fe-stranger", PeerRejectedException.Reason.UNKNOWN_CA);
    }

    @Test
    void anExpiredPeerIsRefused() throws Exception {
        assertRefused("fe-expired", PeerRejectedException.Reason.EXPIRED);
    }

    @Test
    void aRevokedPeerIsRefused() throws Exception {
        assertRefused("fe-revoked", PeerRejectedException.Reason.REVOKED);
    }

    @Test
    void aPeerOfTheWrongRoleIsRefused() throws Exception {
        assertRefused("rd", PeerRejectedException.Reason.WRONG_ROLE);
    }

    @Test
    void theInitiatorRefusesAResponderThatIsNotTheOneItExpects() throws Exception {
        // The front-end was configured with be's key but be-2 answers: Noise itself fails, since
        // message 1 was encrypted to be's static key, which be-2 does not hold.
        UdpSecurity be2 = pki.responder("be-2");
        try (UdpPair p = pair(3, pki.initiator("fe", "be"), be2, "fe")) {
            p.run(3);
            assertFalse(p.client.isEstablished());
            assertTrue(p.server.isClosed());
            assertEquals(1, be2.dropped(UdpSecurity.Drop.HANDSHAKE));
        }
    }

    @Test
    void aHelloNamingAnotherNodeThanTheCertificateClosesTheLink() throws Exception {
        try (UdpPair p = pair(4, pki.initiator("fe", "be"), pki.responder("be"), "fe-other")) {
            p.run(3);
            assertFalse(p.server.isEstablished());
            assertTrue(p.server.closeReason().contains("HELLO names node fe-other"), p.server.closeReason());
        }
    }

    @Test
    void tamperedPacketsAreDroppedCountedAndTheLinkGoesOn() throws Exception {
        UdpSecurity be = pki.responder("be");
        try (UdpPair p = pair(5, pki.initiator("fe", "be"), be, "fe")) {
            int[] n = {0};
            p.net.taps[1] = d -> {
                if (isShort(d) && ++n[0] % 7 == 0) {
                    int at = d.readerIndex() + d.readableBytes() - 20; // a payload byte
                    d.setByte(at, d.getByte(at) ^ 0x40);
                }
                return d;
            };
            echoBytes(p, 300_000);
            assertTrue(be.dropped(UdpSecurity.Drop.UNDECRYPTABLE) > 10, "tampered packets counted");
            assertTrue(p.client.isEstablished() && p.server.isEstablished());
        }
    }

    @Test
    void replayedPacketsAreDroppedCountedAndTheLinkGoesOn() throws Exception {
        UdpSecurity be = pki.responder("be");
        try (UdpPair p = pair(6, pki.initiator("fe", "be"), be, "fe")) {
            int[] n = {0};
            p.net.taps[1] = d -> {
                if (isShort(d) && ++n[0] % 3 == 0) {
                    ByteBuf copy = p.net.alloc.buffer(d.readableBytes());
                    copy.writeBytes(d, d.readerIndex(), d.readableBytes());
                    p.net.inject(1, copy, 5_000_000L * (n[0] % 5)); // at once, or a little later
                }
                return d;
            };
            echoBytes(p, 300_000);
            assertTrue(be.dropped(UdpSecurity.Drop.REPLAY) > 10, "replays counted: " + be.dropped(UdpSecurity.Drop.REPLAY));
            assertEquals(0, be.dropped(UdpSecurity.Drop.UNDECRYPTABLE));
        }
    }

    @Test
    void truncatedPacketsAreDroppedCountedAndTheLinkGoesOn() throws Exception {
        UdpSecurity be = pki.responder("be");
        try (UdpPair p = pair(7, pki.initiator("fe", "be"), be, "fe")) {
            int[] n = {0};
            p.net.taps[1] = d -> {
                if (isShort(d) && ++n[0] % 5 == 0) {
                    // Every other cut leaves less than a header and tag, the rest a packet missing its end.
                    d.writerIndex(d.readerIndex() + (n[0] % 2 == 0 ? 20 : d.readableBytes() - 7));
                }
                return d;
            };
            echoBytes(p, 300_000);
            assertTrue(be.dropped(UdpSecurity.Drop.TRUNCATED) > 5, "short ones counted as truncated");
            assertTrue(be.dropped(UdpSecurity.Drop.UNDECRYPTABLE) > 5, "cut ones fail authentication");
        }
    }

    @Test
    void keysRotateUnderLoadAndLossWithEveryStreamComplete() throws Exception {
        UdpSecurity fe = pki.initiator("fe", "be").withKeyUpdate(64, Duration.ofSeconds(120));
        UdpSecurity be = pki.responder("be").withKeyUpdate(64, Duration.ofSeconds(120));
        try (UdpPair p = pair(8, fe, be, "fe")) {
            p.net.ab.loss = 0.02;
            p.net.ba.loss = 0.02;
            p.net.ab.bitsPerSecond = 100e6;
            p.net.ab.delayNanos = 2_000_000;
            p.net.ba.delayNanos = 2_000_000;
            p.run(1);
            UdpPair.Bulk[] bulks = new UdpPair.Bulk[4];
            for (int i = 0; i < bulks.length; i++) {
                bulks[i] = p.bulk(i % 3, 400_000);
            }
            p.run(30);
            for (UdpPair.Bulk b : bulks) {
                assertNull(b.reset);
            }
            assertEquals(4 * 400_000, p.receivedBytes());
            for (LinkCoreTest.Sink s : p.accepted) {
                assertTrue(s.fin);
                byte[] got = s.bytes.toByteArray();
                assertEquals(400_000, got.length);
                for (int i = 0; i < got.length; i++) {
                    if (got[i] != (byte) (i * 31 % 251)) {
                        throw new AssertionError("byte " + i + " differs");
                    }
                }
            }
            assertTrue(p.client.keyUpdatesSent() >= 10, "client key updates: " + p.client.keyUpdatesSent());
            assertEquals(p.client.keyUpdatesSent(), p.server.keyUpdatesReceived());
            assertTrue(p.server.keyUpdatesSent() >= 1, "server key updates: " + p.server.keyUpdatesSent());
            assertNotNull(p.server.peerIdentity());
        }
    }

    @Test
    void keysRotateByTimeOnAQuietLink() throws Exception {
        UdpSecurity fe = pki.initiator("fe", "be").withKeyUpdate(1L << 20, Duration.ofSeconds(1));
        try (UdpPair p = pair(9, fe, pki.responder("be"), "fe")) {
            p.run(12); // keepalives and QoS reports keep packets going both ways
            assertTrue(p.client.isEstablished());
            assertTrue(p.client.keyUpdatesSent() >= 3, "updates: " + p.client.keyUpdatesSent());
            assertEquals(p.client.keyUpdatesSent(), p.server.keyUpdatesReceived());
        }
    }

    @Test
    void aReplayedFirstMessageCreatesNoSecondLink() throws Exception {
        UdpSecurity be = pki.responder("be");
        try (UdpPair p = pair(11, pki.initiator("fe", "be"), be, "fe")) {
            ByteBuf[] initial = {null};
            p.net.taps[1] = d -> {
                if (PacketHeader.isLong(d) && initial[0] == null) {
                    initial[0] = d.copy(); // what an attacker on the path records
                }
                return d;
            };
            p.run(2);
            assertTrue(p.server.isEstablished());
            // The recorded INITIAL, sent again later (its token would still be valid): a fresh responder
            // connection authenticates it, sees it is not newer than the last one of fe, and drops it.
            TmpConnection again = TmpConnection.server(io.netty.util.concurrent.ImmediateEventExecutor.INSTANCE,
                    TestPki.with(LinkSettings.DEFAULT, be), "be", TmpServer.ROLE_BACK_END, stream -> null,
                    new TmpConnection.Events() {
                        @Override
                        public void established(TmpConnection connection) {
                        }

                        @Override
                        public void closed(TmpConnection connection, String reason) {
                        }
                    }, p.net.now, new java.util.Random(1));
            again.receive(p.net.now, initial[0]);
            assertTrue(again.isClosed());
            assertTrue(again.closeReason().startsWith("handshake replayed"), again.closeReason());
            assertEquals(1, be.dropped(UdpSecurity.Drop.REPLAY));
            assertNull(again.poll(p.net.now, p.net.alloc), "no answer to a replay");
        }
    }

    @Test
    void aLostHandshakeMessageIsSentAgain() throws Exception {
        try (UdpPair p = pair(10, pki.initiator("fe", "be"), pki.responder("be"), "fe")) {
            int[] dropped = {0, 0};
            for (int end = 0; end < 2; end++) {
                int e = end;
                p.net.taps[end] = d -> {
                    if (PacketHeader.isLong(d) && dropped[e]++ < 1) {
                        d.release();
                        return null;
                    }
                    return d;
                };
            }
            p.run(5);
            assertTrue(p.client.isEstablished() && p.server.isEstablished());
        }
    }

    /**
     * The restarted back-end (its keys loaded again from the same files, no link state) resets the
     * link at once; the token never crossed the network in clear; a reset under another node's key
     * is ignored.
     */
    @Test
    void aStatelessResetOfTheRestartedBackEndClosesTheLinkAtOnce() throws Exception {
        UdpSecurity fe = pki.initiator("fe", "be");
        try (UdpPair p = pair(11, fe, pki.responder("be"), "fe")) {
            java.util.List<byte[]> toClient = new java.util.ArrayList<>();
            p.net.taps[0] = d -> {
                byte[] copy = new byte[d.readableBytes()];
                d.getBytes(d.readerIndex(), copy);
                toClient.add(copy);
                return d;
            };
            p.run(1);
            assertTrue(p.client.isEstablished());
            UdpPair.Bulk b = p.bulk(1, 50_000_000);
            p.run(0.5);
            long serverCid = p.server.localConnectionId();
            byte[] token = pki.responder("be").statelessReset().token(serverCid);
            assertTrue(java.util.Arrays.equals(token, p.client.peerResetToken()), "the token came with the HELLO");
            String hexToken = java.util.HexFormat.of().formatHex(token);
            for (byte[] d : toClient) {
                assertFalse(java.util.HexFormat.of().formatHex(d).contains(hexToken), "the token travels sealed only");
            }
            p.net.taps[0] = java.util.function.UnaryOperator.identity();

            dev.braid.tmp.noise.StatelessReset.Responder forger = new dev.braid.tmp.noise.StatelessReset.Responder(
                    pki.initiator("fe", "be").statelessReset(), new java.util.Random(1));
            p.net.inject(0, forger.answer(serverCid, 1200, p.net.now, p.net.alloc), 0);
            p.run(0.2);
            assertTrue(p.client.isEstablished(), "a reset under another key is ignored: " + p.closed);

            UdpSecurity restarted = pki.responder("be");
            dev.braid.tmp.noise.StatelessReset.Responder reset = new dev.braid.tmp.noise.StatelessReset.Responder(
                    restarted.statelessReset(), new java.util.Random(2));
            p.net.inject(0, reset.answer(serverCid, 1200, p.net.now, p.net.alloc), 0);
            p.run(0.001);
            assertTrue(p.client.isClosed(), "closed at once");
            assertEquals(TmpConnection.STATELESS_RESET, p.client.closeReason());
            assertEquals(ResetCode.LINK_LOST, b.reset);
            assertEquals(1, fe.statelessResets(false), "counted (braid_tmp_stateless_resets_total{direction=received})");
        }
    }
}
