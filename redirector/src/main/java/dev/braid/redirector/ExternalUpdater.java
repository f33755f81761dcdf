package dev.braid.redirector;

import dev.braid.managers.config.HostPort;
import dev.braid.managers.config.RedirectorNode;
import dev.braid.runtime.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The redirector's external mode: it pushes its decisions (the best front-ends of every site name,
 * with the site's TTL) to an external authoritative server as RFC 2136 dynamic updates signed with
 * TSIG (RFC 8945), for deployments where another server answers the world. What to push and when
 * is {@link ExternalSync}'s business; this class computes the decisions from the live
 * {@link ZoneView}, sends the updates over TCP with dnsjava, checks the server's signed answer,
 * logs and counts.
 *
 * <p>A push goes out as soon as the view changes ({@link #changed()}), and at least every
 * {@code external.intervalMillis} the decisions are recomputed; every {@code reassertSeconds} each
 * zone is pushed whole. A failed push (a timeout, an error rcode such as NOTAUTH for a wrong key,
 * or an answer whose TSIG does not verify) is retried after {@code intervalMillis}, doubling up to
 * {@value #MAX_BACKOFF_SECONDS} s. Each UPDATE replaces a name's A and AAAA RRsets (delete, then
 * add, in one message the server applies atomically); a name that is no longer a site name has
 * both deleted. Static records of the zones are the external server's own business.
 *
 * <p>One thread of its own does all of it (sends block on it, never an event loop); every method
 * is safe from any thread.
 *
 * <p>Metrics: {@code braid_redirector_external_updates_total{result}} (ok, refused, unverified,
 * timeout, error), {@code braid_redirector_external_names_pushed_total}, and the gauge
 * {@code braid_redirector_external_names_pending}: names whose records on the server are not
 * (yet) what the redirector answers.
 */
final class ExternalUpdater implements AutoCloseable {

    /** Longest wait between two tries of a zone whose pushes fail, in seconds. */
    static final long MAX_BACKOFF_SECONDS = 30;
    /** How long one UPDATE may take, answer included. */
    static final Duration UPDATE_TIMEOUT = Duration.ofSeconds(3);

    private static final Logger log = LoggerFactory.getLogger(ExternalUpdater.class);

    /** Sends one UPDATE and returns the server's answer. */
    interface Sender {
        Message send(Update update) throws IOException;
    }

    /** Builds the sender for a server's settings. */
    interface SenderFactory {
        Sender create(RedirectorNode.ExternalDns settings) throws IOException;
    }

    private final String node;
    private final Supplier<ZoneView> view;
    private final SenderFactory senders;
    private final ScheduledExecutorService thread;
    private final Metrics.Counter updates;
    private final LongAdder namesPushed;
    private final AtomicLong pendingNames = new AtomicLong();
    // Confined to the thread:
    private RedirectorNode.ExternalDns settings;
    private Sender sender;
    private ExternalSync sync;
    private ScheduledFuture<?> next;
    private long nextAt;
    private boolean failing;

    /**
     * @param node    this redirector's name, for logs
     * @param view    the live view whose decisions are pushed
     * @param senders how to reach a server ({@link #dnsjava()} in production)
     */
    ExternalUpdater(String node, Supplier<ZoneView> view, Metrics metrics, SenderFactory senders) {
        this.node = node;
        this.view = view;
        this.senders = senders;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "redirector-rfc2136-" + node);
            t.setDaemon(true);
            return t;
        });
        this.updates = metrics.counter("braid_redirector_external_updates_total",
                "RFC 2136 updates sent to the external server, by result (ok, refused, unverified, timeout, error).",
                "result");
        this.namesPushed = metrics.counter("braid_redirector_external_names_pushed_total",
                "Site names whose records the external server accepted.").labels();
        metrics.gauge("braid_redirector_external_names_pending",
                "Site names whose records on the external server are not what the redirector answers.",
                pendingNames::get);
    }

    /** The sender of production: dnsjava over TCP, signed with the configured TSIG key. */
    static SenderFactory dnsjava() {
        return settings -> {
            InetSocketAddress server = HostPort.parse("external.server", settings.server());
            SimpleResolver resolver = new SimpleResolver(server);
            resolver.setTCP(true);
            resolver.setTimeout(UPDATE_TIMEOUT);
            resolver.setTSIGKey(new TSIG(TSIG.algorithmToName(settings.algorithm()),
                    Name.fromString(absolute(settings.keyName())), secret(settings)));
            return resolver::send;
        };
    }

    private static String secret(RedirectorNode.ExternalDns settings) throws IOException {
        if (settings.secret() != null) {
            return settings.secret().strip();
        }
        return Files.readString(Path.of(settings.secretFile())).strip();
    }

    /** Pushes to the server {@code settings} describe from now on; null stops pushing. Any thread. */
    void configure(RedirectorNode.ExternalDns settings) {
        thread.execute(() -> {
            if (settings == null ? this.settings == null : settings.equals(this.settings)) {
                return;
            }
            this.settings = settings;
            this.sender = null;
            // A new server knows nothing of what the old one was told: start over.
            this.sync = settings == null ? null : new ExternalSync(
                    TimeUnit.SECONDS.toNanos(settings.reassertSeconds()),
                    TimeUnit.MILLISECONDS.toNanos(settings.intervalMillis()),
                    TimeUnit.SECONDS.toNanos(Math.max(MAX_BACKOFF_SECONDS, settings.intervalMillis() / 1000)));
            if (settings == null) {
                cancelNext();
                pendingNames.set(0);
                log.info("redirector {}: no external server configured; RFC 2136 updates stop", node);
            } else {
                log.info("redirector {}: pushing answers to {} with RFC 2136 updates (TSIG key {}, {})", node,
                        settings.server(), settings.keyName(), settings.algorithm());
                schedule(0);
            }
        });
    }

    /** The decisions may have changed (a new view): push what changed soon. Any thread. */
    void changed() {
        thread.execute(() -> {
            if (sync != null) {
                schedule(0);
            }
        });
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(UPDATE_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void schedule(long delayNanos) {
        long at = System.nanoTime() + delayNanos;
        if (next != null && !next.isDone()) {
            if (nextAt - at <= 0) {
                return; // an earlier run is already planned
            }
            next.cancel(false);
        }
        nextAt = at;
        next = thread.schedule(this::run, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void cancelNext() {
        if (next != null) {
            next.cancel(false);
            next = null;
        }
    }

    private void run() {
        next = null; // this run is under way: the next one is planned afresh below
        if (sync == null) {
            return;
        }
        long now = System.nanoTime();
        Map<String, ExternalSync.Records> wanted = wanted(view.get());
        for (ExternalSync.Push push : sync.due(wanted, now)) {
            push(push);
        }
        pendingNames.set(sync.pending(wanted));
        long interval = TimeUnit.MILLISECONDS.toNanos(settings.intervalMillis());
        long after = System.nanoTime();
        schedule(Math.max(0, Math.min(interval, sync.nextDueNanos(after) - after)));
    }

    private void push(ExternalSync.Push push) {
        String result;
        String detail;
        try {
            if (sender == null) {
                sender = senders.create(settings);
            }
            Message answer = sender.send(update(push));
            int rcode = answer.getRcode();
            TSIGRecord tsig = answer.getTSIG();
            if (rcode != Rcode.NOERROR) {
                result = "refused";
                detail = Rcode.string(rcode) + (tsig != null && tsig.getError() != Rcode.NOERROR
                        ? " (TSIG " + Rcode.TSIGstring(tsig.getError()) + ")" : "");
            } else if (!answer.isVerified()) {
                result = "unverified";
                detail = "the answer's TSIG signature does not verify";
            } else {
                result = "ok";
                detail = null;
            }
        } catch (SocketTimeoutException e) {
            result = "timeout";
            detail = "no answer within " + UPDATE_TIMEOUT.toMillis() + " ms";
        } catch (IOException | RuntimeException e) {
            result = "error";
            detail = e.toString();
            sender = null; // build it again: the key file or the server may have been fixed
        }
        updates.inc(result);
        long now = System.nanoTime();
        if (detail == null) {
            sync.succeeded(push, now);
            namesPushed.add(push.changes().size());
            if (failing) {
                log.info("redirector {}: external server {} accepts updates again", node, settings.server());
                failing = false;
            }
            log.info("redirector {}: zone {}: {} name(s) {} on {} (view version {})", node, push.zone(),
                    push.changes().size(), push.reassert() ? "re-asserted" : "updated", settings.server(),
                    view.get().version());
        } else {
            long wait = sync.failed(push, now);
            failing = true;
            log.warn("redirector {}: zone {}: RFC 2136 update to {} failed: {}; {} name(s) pending, next try in {} ms",
                    node, push.zone(), settings.server(), detail, push.changes().size(),
                    TimeUnit.NANOSECONDS.toMillis(wait));
        }
    }

    /** The UPDATE for one push: per name, delete its A and AAAA RRsets, then add the wanted records. */
    static Update update(ExternalSync.Push push) throws TextParseException {
        Update u = new Update(Name.fromString(absolute(push.zone())));
        for (ExternalSync.Change c : push.changes()) {
            Name name = Name.fromString(absolute(c.name()));
            u.delete(name, Type.A);
            u.delete(name, Type.AAAA);
            if (c.records() == null) {
                continue;
            }
            for (String a : c.records().ipv4()) {
                u.add(new ARecord(name, DClass.IN, c.records().ttl(), address(a)));
            }
            for (String a : c.records().ipv6()) {
                u.add(new AAAARecord(name, DClass.IN, c.records().ttl(), address(a)));
            }
        }
        return u;
    }

    /**
     * What the redirector would answer for every site name, asked without a client address (so
     * no proximity, no referral) at the first hand-off position: the best-ranked front-ends, at
     * most {@code answerCount} per family.
     */
    static Map<String, ExternalSync.Records> wanted(ZoneView view) {
        Map<String, ExternalSync.Records> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : view.siteHostZones().entrySet()) {
            String owner = absolute(e.getKey());
            long ttl = -1;
            Set<String> v4 = new HashSet<>();
            Set<String> v6 = new HashSet<>();
            for (int type : new int[] {Dns.TYPE_A, Dns.TYPE_AAAA}) {
                List<ResourceRecord> answers = view.answer(Query.of(0, owner, type, null), null, 0).answers();
                for (ResourceRecord r : answers) {
                    if (r.type() == type) {
                        (type == Dns.TYPE_A ? v4 : v6).add(io.netty.util.NetUtil.bytesToIpAddress(r.sharedTail()));
                        ttl = r.ttl();
                    }
                }
            }
            out.put(e.getKey(), new ExternalSync.Records(e.getValue(), Math.max(ttl, 0), v4, v6));
        }
        return out;
    }

    private static String absolute(String name) {
        return name.endsWith(".") ? name : name + '.';
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByAddress(io.netty.util.NetUtil.createByteArrayFromIpAddressString(literal));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("not an address literal: " + literal, e);
        }
    }
}
