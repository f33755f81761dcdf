package dev.braid.tmp.noise;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link NoiseIK} against published test vectors (see {@code noise-ik-vectors.txt} for where they
 * come from): both sides must write exactly the vector's ciphertexts, read the other's back to the
 * payloads, agree on the handshake hash, and continue with transport messages under Split()'s keys.
 */
class NoiseIKVectorsTest {

    private static final HexFormat HEX = HexFormat.of();

    record Vector(String name, Map<String, byte[]> fields, List<byte[][]> messages) {
    }

    static List<Vector> vectors() throws IOException {
        List<Vector> out = new ArrayList<>();
        try (InputStream in = NoiseIKVectorsTest.class.getResourceAsStream("noise-ik-vectors.txt")) {
            String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            String name = null;
            Map<String, byte[]> fields = new HashMap<>();
            List<byte[][]> messages = new ArrayList<>();
            for (String line : (text + "\n\n").split("\n", -1)) {
                line = line.strip();
                if (line.startsWith("#")) {
                    continue;
                }
                if (line.isEmpty()) {
                    if (name != null) {
                        out.add(new Vector(name, fields, messages));
                    }
                    name = null;
                    fields = new HashMap<>();
                    messages = new ArrayList<>();
                    continue;
                }
                int colon = line.indexOf(':');
                String key = line.substring(0, colon);
                String value = line.substring(colon + 1).strip();
                switch (key) {
                    case "vector" -> name = value;
                    case "message" -> {
                        String[] pc = value.split(" ");
                        messages.add(new byte[][] {HEX.parseHex(pc[0]), HEX.parseHex(pc[1])});
                    }
                    default -> fields.put(key, HEX.parseHex(value));
                }
            }
        }
        return out;
    }

    @Test
    void everyVectorRunsByteForByte() throws Exception {
        List<Vector> vectors = vectors();
        assertEquals(2, vectors.size());
        for (Vector v : vectors) {
            Map<String, byte[]> f = v.fields();
            X25519Keys respStatic = X25519Keys.fromPrivate(f.get("resp_static"));
            assertArrayEquals(f.get("init_remote_static"), respStatic.publicKey(), v.name() + ": responder's public key");
            NoiseIK init = NoiseIK.initiator(f.get("prologue"), X25519Keys.fromPrivate(f.get("init_static")),
                    X25519Keys.fromPrivate(f.get("init_ephemeral")), f.get("init_remote_static"));
            NoiseIK resp = NoiseIK.responder(f.get("prologue"), respStatic,
                    X25519Keys.fromPrivate(f.get("resp_ephemeral")));

            byte[][] m1 = v.messages().get(0);
            assertArrayEquals(m1[1], init.writeMessage(m1[0]), v.name() + ": message 1");
            assertArrayEquals(m1[0], resp.readMessage(m1[1]), v.name() + ": message 1 payload");
            assertArrayEquals(X25519Keys.fromPrivate(f.get("init_static")).publicKey(), resp.remoteStatic());
            byte[][] m2 = v.messages().get(1);
            assertArrayEquals(m2[1], resp.writeMessage(m2[0]), v.name() + ": message 2");
            assertArrayEquals(m2[0], init.readMessage(m2[1]), v.name() + ": message 2 payload");
            assertTrue(init.isComplete() && resp.isComplete());
            assertArrayEquals(init.handshakeHash(), resp.handshakeHash());
            if (f.containsKey("handshake_hash")) {
                assertArrayEquals(f.get("handshake_hash"), init.handshakeHash(), v.name() + ": handshake hash");
            }

            NoiseIK.TransportKeys ik = init.split();
            NoiseIK.TransportKeys rk = resp.split();
            CipherState initSend = new CipherState(ik.send());
            CipherState initRecv = new CipherState(ik.receive());
            CipherState respSend = new CipherState(rk.send());
            CipherState respRecv = new CipherState(rk.receive());
            for (int i = 2; i < v.messages().size(); i++) {
                byte[][] m = v.messages().get(i);
                boolean fromInitiator = i % 2 == 0;
                byte[] c = (fromInitiator ? initSend : respSend).encryptWithAd(new byte[0], m[0]);
                assertArrayEquals(m[1], c, v.name() + ": transport message " + i);
                assertArrayEquals(m[0], (fromInitiator ? respRecv : initRecv).decryptWithAd(new byte[0], c));
            }
        }
    }

    @Test
    void aFlippedBitInMessageOneFailsAuthentication() throws Exception {
        Vector v = vectors().get(0);
        byte[] m1 = v.messages().get(0)[1].clone();
        for (int at : new int[] {0, 40, 90, m1.length - 1}) {
            byte[] bad = m1.clone();
            bad[at] ^= 1;
            NoiseIK resp = NoiseIK.responder(v.fields().get("prologue"),
                    X25519Keys.fromPrivate(v.fields().get("resp_static")),
                    X25519Keys.fromPrivate(v.fields().get("resp_ephemeral")));
            assertThrows(NoiseException.class, () -> resp.readMessage(bad), "bit flipped at " + at);
            assertFalse(resp.isComplete());
        }
    }

    @Test
    void aDifferentPrologueFailsAuthentication() throws Exception {
        Vector v = vectors().get(0);
        NoiseIK resp = NoiseIK.responder("another prologue".getBytes(StandardCharsets.US_ASCII),
                X25519Keys.fromPrivate(v.fields().get("resp_static")),
                X25519Keys.fromPrivate(v.fields().get("resp_ephemeral")));
        assertThrows(NoiseException.class, () -> resp.readMessage(v.messages().get(0)[1]));
    }

    @Test
    void rekeyChangesTheKeyTheSameWayOnBothSides() throws Exception {
        byte[] key = new byte[32];
        key[0] = 7;
        CipherState a = new CipherState(key);
        CipherState b = new CipherState(key);
        a.rekey();
        b.rekey();
        byte[] c = a.encryptWithAd(new byte[] {1}, new byte[] {42});
        assertArrayEquals(new byte[] {42}, b.decryptWithAd(new byte[] {1}, c));
        CipherState old = new CipherState(key);
        assertThrows(NoiseException.class, () -> old.decryptWithAd(new byte[] {1}, c));
    }
}
