package dev.braid.redirector;

import dev.braid.managers.config.BackEndNode;
import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.ConfigValidator;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.managers.config.Site;
import dev.braid.runtime.EventLoops;
import dev.braid.testing.PooledMemoryBaseline;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Conformance against NSD: NSD and the redirector serve the same static zones (NSD from a zone file
 * generated here, the redirector from the equivalent configuration) and answer the same 10,000
 * generated queries: names that exist and do not, wrong types, CNAME chains, a delegation, EDNS
 * variants and small buffers, over UDP and some over TCP. Every answer is compared in rcode, header
 * flags, every section and the OPT record; the only differences tolerated are those in
 * {@link #ALLOWLIST}, each justified by an RFC (docs/redirector.md repeats them).
 */
@ExtendWith(PooledMemoryBaseline.class)
class NsdConformanceIT {

    static final Path NSD = Path.of("/usr/sbin/nsd");
    static final int QUERIES = 10_000;
    static final long VERSION = 7;
    static final List<dev.braid.managers.config.Origin> ORIGINS = List.of(
            new dev.braid.managers.config.Origin(null, "http://127.0.0.1:8000", null, null, null));

    /**
     * What may differ, and why. Applied as normalisations of both answers before they are compared.
     */
    static final Map<String, String> ALLOWLIST = new LinkedHashMap<>();

    static {
        ALLOWLIST.put("order of the records of an RRset",
                "RFC 2181 §5: an RRset is a set, its order is not significant; the redirector ranks site addresses "
                        + "(hand-off weights), NSD keeps zone-file order");
        ALLOWLIST.put("EDNS Client Subnet option in the answer",
                "RFC 7871 §7.2.1: an authoritative server that supports ECS echoes the option with its scope; NSD "
                        + "does not support ECS and ignores it as RFC 6891 §6.1.2 lets it");
        ALLOWLIST.put("CD bit in the answer",
                "RFC 4035 §3.1.6 and RFC 6840 §5.9: a name server copies CD from the query; the redirector does, "
                        + "NSD 4.6 clears it when it serves no signed zone");
        ALLOWLIST.put("a query without a question",
                "RFC 1035 §4.1.1: FORMERR means the server could not interpret the query; the redirector answers "
                        + "FORMERR, NSD sends nothing");
        ALLOWLIST.put("an opcode other than QUERY left unanswered",
                "RFC 1035 §4.1.1 (NOTIMP) and RFC 5625 §4: a server may answer NOTIMP or not answer; NSD 4.6 leaves "
                        + "a few such datagrams unanswered, the redirector always answers NOTIMP");
        ALLOWLIST.put("Extended DNS Error option (code 15) in the answer",
                "RFC 8914 §3: EDE is informational and must not change how the answer is processed; NSD adds it to "
                        + "REFUSED answers, the redirector does not send it");
    }

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private Process nsd;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        if (nsd != null) {
            nsd.destroy();
            if (!nsd.waitFor(5, TimeUnit.SECONDS)) {
                nsd.destroyForcibly();
            }
        }
    }

    /** The static zones: explicit records, two sites, two redirectors. */
    static BraidConfig config() {
        List<DnsSettings.DnsRecord> records = new ArrayList<>(List.of(
                rec("@", "A", "192.0.2.80"),
                rec("mail", "A", "192.0.2.25"),
                rec("mail", "AAAA", "2001:db8::25"),
                rec("alias", "CNAME", "www.conf.example."),
                rec("alias2", "CNAME", "alias.conf.example."),
                rec("to-mail", "CNAME", "mail.conf.example."),
                rec("dangling", "CNAME", "nothing.conf.example."),
                rec("outside", "CNAME", "www.elsewhere.example."),
                rec("to-other", "CNAME", "www.other.test."),
                rec("a.b.c", "A", "192.0.2.3"),
                rec("sub", "NS", "ns.sub.conf.example."),
                rec("sub", "NS", "ns.outside.example."),
                rec("ns.sub", "A", "192.0.2.53")));
        for (int i = 1; i <= 40; i++) {
            records.add(rec("big", "A", "10.0.0." + i));
        }
        for (int i = 1; i <= 6; i++) {
            records.add(rec("mid", "AAAA", "2001:db8::" + i));
        }
        DnsSettings dns = new DnsSettings(List.of(new DnsSettings.DnsZone("conf.example", records)), null, null,
                null, null, null, DnsSettings.RrlSettings.OFF);
        return new BraidConfig(
                List.of(new Site("conf", List.of("www.conf.example"), 20, ORIGINS),
                        new Site("other", List.of("www.other.test"), 60, ORIGINS)),
                List.of(new FrontEndNode("fe1", null, "192.0.2.1", null, null, null, List.of("conf"), List.of("be")),
                        new FrontEndNode("fe2", null, "192.0.2.2", null, null, null, List.of("conf", "other"),
                                List.of("be")),
                        new FrontEndNode("fe3", null, "2001:db8::3", null, null, null, List.of("conf"), List.of("be"))),
                List.of(new BackEndNode("be", null, null, List.of("conf", "other"))),
                null,
                List.of(new RedirectorNode("r1", "127.0.0.1:5300", "127.0.0.1:5380", 8, null, null, null),
                        new RedirectorNode("r2", "0.0.0.0:5301", "127.0.0.2:5381", 8, "127.0.0.2", null, null)),
                null, null, dns);
    }

    private static DnsSettings.DnsRecord rec(String name, String type, String data) {
        return new DnsSettings.DnsRecord(name, type, 3600, data);
    }

    /** The same zones as zone files for NSD: apex name to text. */
    static Map<String, String> zoneFiles(BraidConfig config) {
        Map<String, String> files = new TreeMap<>();
        for (String apex : List.of("conf.example", "other.test")) {
            StringBuilder z = new StringBuilder("$ORIGIN " + apex + ".\n");
            z.append("@ 3600 IN SOA ns1.").append(apex).append(". hostmaster.").append(apex).append(". ")
                    .append(VERSION).append(" 3600 600 1209600 30\n");
            z.append("@ 3600 IN NS ns1.").append(apex).append(".\n@ 3600 IN NS ns2.").append(apex).append(".\n");
            z.append("ns1 3600 IN A 127.0.0.1\nns2 3600 IN A 127.0.0.2\n");
            files.put(apex, z.toString());
        }
        StringBuilder conf = new StringBuilder(files.get("conf.example"));
        for (DnsSettings.DnsRecord r : config.dns().zones().get(0).records()) {
            conf.append(r.name()).append(' ').append(r.ttl()).append(" IN ").append(r.type()).append(' ')
                    .append(r.data()).append('\n');
        }
        conf.append("www 20 IN A 192.0.2.1\nwww 20 IN A 192.0.2.2\nwww 20 IN AAAA 2001:db8::3\n");
        files.put("conf.example", conf.toString());
        files.put("other.test", files.get("other.test") + "www 60 IN A 192.0.2.2\n");
        return files;
    }

    static int freePort() throws IOException {
        for (int i = 0; i < 20; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
                int port = s.getLocalPort();
                try (DatagramSocket d = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
                    return port;
                } catch (IOException e) {
                    // taken for UDP: try another
                }
            }
        }
        throw new IOException("no port free for both UDP and TCP");
    }

    /** Starts NSD on 127.0.0.1 with {@code files}; returns its address once it answers. */
    static Process startNsd(Path dir, Map<String, String> files, int port) throws Exception {
        StringBuilder conf = new StringBuilder("""
                server:
                  ip-address: 127.0.0.1
                  port: %d
                  username: ""
                  zonesdir: "%s"
                  database: ""
                  pidfile: "%s/nsd.pid"
                  xfrdfile: "%s/xfrd.state"
                  zonelistfile: "%s/zone.list"
                  logfile: "%s/nsd.log"
                  server-count: 1
                  verbosity: 1
                  minimal-responses: yes
                  refuse-any: no
                  rrl-ratelimit: 0
                remote-control:
                  control-enable: no
                """.formatted(port, dir, dir, dir, dir, dir));
        for (Map.Entry<String, String> f : files.entrySet()) {
            Files.writeString(dir.resolve(f.getKey() + ".zone"), f.getValue());
            conf.append("zone:\n  name: ").append(f.getKey()).append("\n  zonefile: ").append(f.getKey())
                    .append(".zone\n");
        }
        Files.writeString(dir.resolve("nsd.conf"), conf);
        Process p = new ProcessBuilder(NSD.toString(), "-d", "-c", dir.resolve("nsd.conf").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nsd.out").toFile()).start();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        Message probe = Message.newQuery(Record.newRecord(Name.fromString("conf.example."), Type.SOA, DClass.IN));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(200);
            while (System.nanoTime() < deadline) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("nsd exited: " + Files.readString(dir.resolve("nsd.out")));
                }
                try {
                    if (udp(s, address, probe.toWire()) != null) {
                        return p;
                    }
                } catch (IOException e) {
                    Thread.sleep(50);
                }
            }
        }
        p.destroyForcibly();
        throw new IllegalStateException("nsd did not answer within 10 s");
    }

    static byte[] udp(DatagramSocket s, InetSocketAddress to, byte[] query) throws IOException {
        s.send(new DatagramPacket(query, query.length, to));
        byte[] buf = new byte[65535];
        int id = ((query[0] & 0xFF) << 8) | (query[1] & 0xFF);
        while (true) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            s.receive(p);
            if (p.getLength() >= 2 && (((buf[0] & 0xFF) << 8) | (buf[1] & 0xFF)) == id) {
                return java.util.Arrays.copyOf(buf, p.getLength());
            }
        }
    }

    /** The answer, or null when none came within the socket's timeout (or the connection closed). */
    static byte[] exchange(DatagramSocket s, InetSocketAddress to, byte[] query, boolean overTcp) throws IOException {
        try {
            return overTcp ? tcp(to, query) : udp(s, to, query);
        } catch (java.net.SocketTimeoutException | java.io.EOFException | java.net.SocketException e) {
            return null;
        }
    }

    static byte[] tcp(InetSocketAddress to, byte[] query) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(to, 2000);
            s.setSoTimeout(2000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(query.length);
            out.write(query);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] answer = new byte[in.readUnsignedShort()];
            in.readFully(answer);
            return answer;
        }
    }

    private static final String[] NAMES = {
        "conf.example.", "www.conf.example.", "WWW.Conf.Example.", "mail.conf.example.", "alias.conf.example.",
        "alias2.conf.example.", "to-mail.conf.example.", "dangling.conf.example.", "outside.conf.example.",
        "to-other.conf.example.", "a.b.c.conf.example.", "b.c.conf.example.", "c.conf.example.",
        "sub.conf.example.", "x.sub.conf.example.", "ns.sub.conf.example.", "big.conf.example.",
        "mid.conf.example.", "ns1.conf.example.", "ns2.conf.example.", "nothing.conf.example.",
        "x.www.conf.example.", "x.alias.conf.example.", "other.test.", "www.other.test.", "ns1.other.test.",
        "nope.other.test.", "example.", "elsewhere.example.", "www.elsewhere.example.", ".", "Big.CONF.example.",
    };
    private static final int[] TYPES = {Type.A, Type.AAAA, Type.NS, Type.SOA, Type.CNAME, Type.MX, Type.TXT,
        Type.ANY, Type.DS, Type.PTR, Type.A, Type.A, Type.AAAA};

    /** One generated query, as wire octets. */
    static byte[] query(Random random, int id) throws IOException {
        String name = NAMES[random.nextInt(NAMES.length)];
        int type = TYPES[random.nextInt(TYPES.length)];
        int dnsClass = random.nextInt(40) == 0 ? DClass.CH : DClass.IN;
        Message m = new Message(id);
        m.getHeader().unsetFlag(Flags.RD);
        if (random.nextBoolean()) {
            m.getHeader().setFlag(Flags.RD);
        }
        if (random.nextInt(8) == 0) {
            m.getHeader().setFlag(Flags.CD);
        }
        m.addRecord(Record.newRecord(Name.fromString(name), type, dnsClass), Section.QUESTION);
        int edns = random.nextInt(10);
        if (edns >= 3) {
            int[] sizes = {512, 600, 700, 1232, 4096, 0};
            int size = sizes[random.nextInt(sizes.length)];
            int version = random.nextInt(20) == 0 ? 1 : 0;
            int flags = random.nextInt(4) == 0 ? 0x8000 : 0;
            List<EDNSOption> options = new ArrayList<>();
            if (random.nextInt(4) == 0) {
                options.add(new org.xbill.DNS.ClientSubnetOption(24, java.net.InetAddress.getByName("198.51.100.0")));
            }
            if (random.nextInt(6) == 0) {
                options.add(new GenericEDNSOption(65001, new byte[] {1, 2, 3}));
            }
            m.addRecord(new OPTRecord(size, 0, version, flags, options), Section.ADDITIONAL);
        }
        byte[] wire = m.toWire();
        int twist = random.nextInt(60);
        if (twist == 0) {
            wire[5] = 0; // no question: FORMERR
            wire[11] = 0;
            return java.util.Arrays.copyOf(wire, 12);
        } else if (twist == 1) {
            wire[2] = (byte) ((wire[2] & 0x87) | (2 << 3)); // opcode STATUS: NOTIMP
        } else if (twist == 2) {
            wire[2] = (byte) ((wire[2] & 0x87) | (5 << 3)); // opcode UPDATE: NOTIMP
        }
        return wire;
    }

    /** What of an answer is compared, after the allowlist's normalisations. */
    static String canonical(byte[] wire) throws IOException {
        if (wire == null) {
            return "(no answer)";
        }
        Message m = new Message(wire);
        StringBuilder sb = new StringBuilder();
        sb.append("rcode=").append(m.getRcode()).append(" opcode=").append(m.getHeader().getOpcode()).append(" flags=");
        for (int f : new int[] {Flags.QR, Flags.AA, Flags.TC, Flags.RD, Flags.RA, Flags.AD}) {
            if (m.getHeader().getFlag(f)) {
                sb.append(Flags.string(f)).append(' ');
            }
        }
        sb.append("\nquestion=");
        for (Record r : m.getSection(Section.QUESTION)) {
            sb.append(r.getName()).append(' ').append(Type.string(r.getType())).append(' ')
                    .append(DClass.string(r.getDClass())).append(';');
        }
        for (int section : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
            sb.append('\n').append(Section.string(section)).append('=');
            // RRsets in the order they came, the records of each sorted (RFC 2181 §5).
            List<List<String>> rrsets = new ArrayList<>();
            String lastKey = null;
            for (Record r : m.getSection(section)) {
                if (r.getType() == Type.OPT) {
                    continue;
                }
                String key = r.getName().toString() + '/' + r.getType();
                if (!key.equals(lastKey)) {
                    rrsets.add(new ArrayList<>());
                    lastKey = key;
                }
                rrsets.get(rrsets.size() - 1).add(r.toString());
            }
            for (List<String> rrset : rrsets) {
                rrset.sort(Comparator.naturalOrder());
                sb.append(rrset).append(';');
            }
        }
        OPTRecord opt = m.getOPT();
        sb.append("\nopt=");
        if (opt != null) {
            sb.append(opt.getPayloadSize()).append(" v").append(opt.getVersion()).append(" flags=").append(opt.getFlags());
            for (EDNSOption o : opt.getOptions()) {
                if (o.getCode() != EDNSOption.Code.CLIENT_SUBNET && o.getCode() != 15) {
                    sb.append(' ').append(o);
                }
            }
        }
        return sb.toString();
    }

    @Test
    void answersLikeNsdToTenThousandQueries() throws Exception {
        assumeTrue(Files.isExecutable(NSD), "NSD is not installed (" + NSD + "): run scripts/install-deps.sh; "
                + "the conformance comparison is skipped");
        BraidConfig config = config();
        assertEquals(List.of(), ConfigValidator.validate(config));
        Path dir = Files.createTempDirectory("braid-nsd");
        int nsdPort = freePort();
        nsd = startNsd(dir, zoneFiles(config), nsdPort);
        InetSocketAddress nsdAddress = new InetSocketAddress("127.0.0.1", nsdPort);

        EventLoops loops = EventLoops.create("dns-conformance", null, 1);
        toClose.add(() -> loops.group().shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly());
        Redirector redirector = Redirector.start(Redirector.Options.builder(loops)
                .listen(new InetSocketAddress("127.0.0.1", 0)).nodeName("r1").probes(false)
                .config(config, VERSION).build());
        toClose.add(0, redirector);
        InetSocketAddress ours = redirector.localAddress();

        Random random = new Random(20_240_601);
        Map<String, Integer> differences = new TreeMap<>();
        List<String> examples = new ArrayList<>();
        int tcpQueries = 0;
        long started = System.nanoTime();
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(300);
            for (int i = 0; i < QUERIES; i++) {
                byte[] q = query(random, i & 0xFFFF);
                boolean overTcp = i % 25 == 0;
                byte[] theirs = exchange(s, nsdAddress, q, overTcp);
                byte[] mine = exchange(s, ours, q, overTcp);
                tcpQueries += overTcp ? 1 : 0;
                String a = canonical(theirs);
                String b = canonical(mine);
                if (theirs == null && (q.length == 12 && b.startsWith("rcode=1 ") || b.startsWith("rcode=4 "))) {
                    b = a; // allowlisted: a query without a question, or an opcode not implemented
                }
                if (!a.equals(b)) {
                    String kind = new Message(q).getQuestion() == null ? "(no question)"
                            : Type.string(new Message(q).getQuestion().getType());
                    differences.merge(kind, 1, Integer::sum);
                    if (examples.size() < 12 && examples.stream().noneMatch(e -> e.startsWith(kind + ":"))) {
                        examples.add(kind + ": query " + new Message(q).toString().replace('\n', ' ') + "\nNSD:\n" + a
                                + "\nredirector:\n" + b);
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("conformance: %d queries (%d over TCP) in %.1f s, differences beyond the allowlist: %s%n",
                QUERIES, tcpQueries, seconds, differences);
        assertTrue(differences.isEmpty(), () -> differences + "\n" + String.join("\n\n", examples));
    }
}
