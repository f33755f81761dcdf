package dev.braid.tmp;

import dev.braid.managers.pki.NodeRole;
import dev.braid.tmp.security.PeerRejectedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Renewal of the UDP carrier's keys without a restart (docs/security.md), sans I/O: a node that
 * reads its renewed certificate and X25519 key uses them for new handshakes, a responder still
 * answers initiators that hold its previous certificate until that certificate expires, an
 * initiator follows the responder's renewed certificate copy, files caught half-written are refused
 * until whole, and an established link whose peer is revoked is closed at the re-check.
 */
class UdpRenewalTest {

    @TempDir
    Path dir;

    private static UdpPair pair(long seed, UdpSecurity client, UdpSecurity server) {
        return new UdpPair(seed, TestPki.with(LinkSettings.DEFAULT, client), TestPki.with(LinkSettings.DEFAULT, server),
                "fe");
    }

    private static String serial(X509Certificate c) {
        return c.getSerialNumber().toString(16);
    }

    /**
     * The responder refuses a message 1 whose timestamp (milliseconds) is not newer than the last one
     * it accepted from the same initiator; handshakes made back to back in a test must not share one.
     */
    private static void nextMillisecond() throws InterruptedException {
        Thread.sleep(3);
    }

    @Test
    void aRenewedResponderStillAnswersInitiatorsHoldingItsPreviousCertificate() throws Exception {
        TestPki pki = TestPki.create(dir);
        UdpSecurity be = pki.responder("be");
        String before = serial(be.certificate());
        UdpSecurity feWithOldCopy = pki.initiator("fe", "be");

        pki.renew(NodeRole.BACK_END, "be");
        assertTrue(be.reloadIfChanged(), "the renewed files are taken");
        assertNull(be.lastReloadError());
        String after = serial(be.certificate());
        assertNotEquals(before, after);
        assertFalse(be.reloadIfChanged(), "unchanged files change nothing");

        try (UdpPair p = pair(1, feWithOldCopy, be)) {
            p.run(2);
            assertTrue(p.client.isEstablished(), "old copy: " + p.closed);
            assertEquals(before, p.client.peerIdentity().serial().toString(16), "answered under the previous key");
        }
        nextMillisecond();
        UdpSecurity feWithNewCopy = pki.initiator("fe", "be");
        try (UdpPair p = pair(2, feWithNewCopy, be)) {
            p.run(2);
            assertTrue(p.client.isEstablished(), "new copy: " + p.closed);
            assertEquals(after, p.client.peerIdentity().serial().toString(16), "answered under the new key");
            assertEquals(0, be.dropped(UdpSecurity.Drop.HANDSHAKE));
        }
    }

    @Test
    void thePreviousKeyAnswersNoMoreOnceItsCertificateExpired() throws Exception {
        TestPki pki = TestPki.create(dir);
        // "be" valid for a few seconds more: issued an hour ago (the shortest validity) for an hour.
        Instant expiry = Instant.now().plusSeconds(3);
        pki.renew(NodeRole.BACK_END, "be", Clock.fixed(expiry.minus(Duration.ofHours(1)), ZoneOffset.UTC),
                Duration.ofHours(1), null);
        UdpSecurity be = pki.responder("be");
        UdpSecurity feWithOldCopy = pki.initiator("fe", "be");
        pki.renew(NodeRole.BACK_END, "be");
        assertTrue(be.reloadIfChanged());
        long wait = Duration.between(Instant.now(), be.certificate().getNotAfter().toInstant()).toMillis();
        assertTrue(wait > 0, "the new certificate is the long one");
        while (Instant.now().isBefore(expiry.plusMillis(1_100))) {
            Thread.sleep(100);
        }
        try (UdpPair p = pair(3, feWithOldCopy, be)) {
            p.run(2);
            assertFalse(p.client.isEstablished(), "an expired key answers nothing");
            assertTrue(p.server.isClosed());
            assertTrue(p.server.closeReason().startsWith("handshake failed"), p.server.closeReason());
            assertEquals(1, be.dropped(UdpSecurity.Drop.HANDSHAKE));
        }
    }

    @Test
    void aRenewedInitiatorSendsItsNewCertificateAndFollowsTheResponderCopy() throws Exception {
        TestPki pki = TestPki.create(dir);
        // The front-end reads the back-end's key from its copy of the back-end's certificate.
        UdpSecurity fe = UdpSecurity.load(pki.identity("fe"), pki.verifier(dev.braid.tmp.security.PeerIdentity.BACK_END))
                .towards("be", pki.nodes.resolve("be.crt"));
        String feBefore = serial(fe.certificate());
        String beBefore = fe.peerCertificateSerial();

        pki.renew(NodeRole.FRONT_END, "fe");
        pki.renew(NodeRole.BACK_END, "be");
        assertTrue(fe.reloadIfChanged(), "own files renewed");
        String feAfter = serial(fe.certificate());
        assertNotEquals(feBefore, feAfter);
        String beAfter = fe.peerCertificateSerial();
        assertNotEquals(beBefore, beAfter, "the back-end's renewed copy was read");

        UdpSecurity be = pki.responder("be");
        assertEquals(beAfter, serial(be.certificate()));
        try (UdpPair p = pair(4, fe, be)) {
            p.run(2);
            assertTrue(p.client.isEstablished(), p.closed.toString());
            assertEquals(feAfter, p.server.peerIdentity().serial().toString(16), "the back-end saw the renewed front-end");
            assertEquals(beAfter, p.client.peerIdentity().serial().toString(16));
        }
    }

    @Test
    void aHalfWrittenRenewalIsRefusedUntilItsFilesFormAWhole() throws Exception {
        TestPki pki = TestPki.create(dir);
        UdpSecurity be = pki.responder("be");
        dev.braid.runtime.Metrics metrics = new dev.braid.runtime.Metrics();
        be.registerMetrics(metrics);
        String expiryBefore = TcpTlsLinkIT.gaugeLine(metrics, "braid_tmp_udp_certificate_expiry_timestamp_seconds");
        String before = serial(be.certificate());
        Path staging = dir.resolve("staging");
        // 91 days: its expiry differs from the first certificate's even when issued within the same second.
        pki.renew(NodeRole.BACK_END, "be", Clock.systemUTC(), Duration.ofDays(91), staging);
        // The certificate and its EC key arrive first; the X25519 key is still the old one.
        for (String f : new String[] {"be.key", "be.crt"}) {
            Files.copy(staging.resolve(f), pki.nodes.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        assertFalse(be.reloadIfChanged(), "a certificate without its X25519 key is not taken");
        assertNotNull(be.lastReloadError());
        assertTrue(be.lastReloadError().contains("be.x25519.key"), be.lastReloadError());
        assertEquals("braid_tmp_udp_certificate_reload_failing 1",
                TcpTlsLinkIT.gaugeLine(metrics, "braid_tmp_udp_certificate_reload_failing"));
        assertEquals(before, serial(be.certificate()));
        try (UdpPair p = pair(5, pki.initiator("fe", "be"), be)) {
            // The initiator's copy is already the new certificate, whose key the responder does not hold yet.
            p.run(2);
            assertFalse(p.client.isEstablished());
        }
        Files.copy(staging.resolve("be.x25519.key"), pki.nodes.resolve("be.x25519.key"),
                StandardCopyOption.REPLACE_EXISTING);
        assertTrue(be.reloadIfChanged(), "whole now");
        assertNull(be.lastReloadError());
        assertEquals("braid_tmp_udp_certificate_reload_failing 0",
                TcpTlsLinkIT.gaugeLine(metrics, "braid_tmp_udp_certificate_reload_failing"));
        assertNotEquals(expiryBefore, TcpTlsLinkIT.gaugeLine(metrics, "braid_tmp_udp_certificate_expiry_timestamp_seconds"));
        nextMillisecond();
        try (UdpPair p = pair(6, pki.initiator("fe", "be"), be)) {
            p.run(2);
            assertTrue(p.client.isEstablished(), p.closed.toString());
        }
    }

    @Test
    void aPeerRevokedWhileItsLinkIsUpIsRefusedAtTheRecheck() throws Exception {
        TestPki pki = TestPki.create(dir);
        UdpSecurity be = pki.responder("be");
        try (UdpPair p = pair(7, pki.initiator("fe", "be"), be)) {
            p.run(2);
            assertTrue(p.server.isEstablished());
            assertFalse(p.server.recheckPeer(), "still in good standing");
            be.updateCrls(pki.revoke("fe"));
            assertTrue(p.server.recheckPeer(), "revoked since the handshake");
            assertTrue(p.server.isClosed());
            assertTrue(p.server.closeReason().startsWith("peer refused at recheck"), p.server.closeReason());
            assertEquals(1, be.refused(PeerRejectedException.Reason.REVOKED));
            p.run(1);
            assertTrue(p.client.isClosed(), "the front-end learnt of it: " + p.closed);
        }
    }
}
