package dev.braid.redirector;

import dev.braid.managers.config.BraidConfig;
import dev.braid.managers.config.DnsSettings;
import dev.braid.managers.config.FrontEndNode;
import dev.braid.runtime.EventLoops;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The redirector's own health checks: a TCP connect to each front-end's HTTP port (its public
 * address, the port of its {@code listen}) every {@code dns.probe.intervalMillis}, failing after
 * {@code timeoutMillis}; {@link ProbeTracker} turns the outcomes into verdicts with rise and fall
 * thresholds. One probe per front-end is in flight at a time; the next starts one interval after
 * the last one started, or at once when that one took longer. Whenever a verdict changes, or a
 * smoothed connect time moves by half the ranking tolerance, the listener gets a new immutable map
 * of every front-end's {@link ProbeResult}. All state lives on one event loop.
 */
final class FrontEndProber implements AutoCloseable {

    private final EventLoops loops;
    private final EventLoop loop;
    private final Consumer<Map<String, ProbeResult>> listener;
    private final Map<String, Target> targets = new HashMap<>();
    private DnsSettings.ProbeSettings settings = DnsSettings.ProbeSettings.DEFAULT;
    private boolean closed;

    FrontEndProber(EventLoops loops, Consumer<Map<String, ProbeResult>> listener) {
        this.loops = loops;
        this.loop = loops.group().next();
        this.listener = listener;
    }

    /** Probes the front-ends of {@code config} from now on, with its probe settings. Any thread. */
    void update(BraidConfig config) {
        loop.execute(() -> apply(config));
    }

    @Override
    public void close() {
        loop.execute(() -> {
            closed = true;
            targets.values().forEach(Target::cancel);
            targets.clear();
        });
    }

    private void apply(BraidConfig config) {
        if (closed) {
            return;
        }
        boolean settingsChanged = !config.dns().probe().equals(settings);
        settings = config.dns().probe();
        Map<String, InetSocketAddress> wanted = new HashMap<>();
        for (FrontEndNode fe : config.frontEnds()) {
            InetSocketAddress address = address(fe);
            if (address != null) {
                wanted.put(fe.name(), address);
            }
        }
        boolean changed = targets.keySet().removeIf(name -> {
            Target t = targets.get(name);
            if (!t.address.equals(wanted.get(name)) || settingsChanged) {
                t.cancel();
                return true;
            }
            return false;
        });
        for (Map.Entry<String, InetSocketAddress> e : wanted.entrySet()) {
            if (!targets.containsKey(e.getKey())) {
                Target t = new Target(e.getKey(), e.getValue(), new ProbeTracker(settings.rise(), settings.fall()));
                targets.put(e.getKey(), t);
                t.probe();
                changed = true;
            }
        }
        if (changed) {
            publish();
        }
    }

    private static InetSocketAddress address(FrontEndNode fe) {
        byte[] ip = DomainNames.addressLiteral(fe.publicAddress());
        int colon = fe.listen().lastIndexOf(':');
        if (ip == null || colon < 0) {
            return null;
        }
        try {
            int port = Integer.parseInt(fe.listen().substring(colon + 1));
            return port > 0 ? new InetSocketAddress(InetAddress.getByAddress(ip), port) : null;
        } catch (NumberFormatException | UnknownHostException e) {
            return null;
        }
    }

    private void publish() {
        Map<String, ProbeResult> out = new HashMap<>();
        targets.forEach((name, t) -> out.put(name, t.tracker.result()));
        listener.accept(Map.copyOf(out));
    }

    /** One probed front-end; confined to the loop. */
    private final class Target {
        final String name;
        final InetSocketAddress address;
        final ProbeTracker tracker;
        double publishedRtt = Double.NaN;
        ScheduledFuture<?> next;
        ChannelFuture inFlight;
        boolean cancelled;

        Target(String name, InetSocketAddress address, ProbeTracker tracker) {
            this.name = name;
            this.address = address;
            this.tracker = tracker;
        }

        void probe() {
            if (cancelled) {
                return;
            }
            long started = System.nanoTime();
            inFlight = new Bootstrap().group(loop)
                    .channel(loops.transport().socketChannel())
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, settings.timeoutMillis())
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(address);
            inFlight.addListener((ChannelFuture f) -> {
                long tookNanos = System.nanoTime() - started;
                if (f.isSuccess()) {
                    f.channel().close();
                }
                if (cancelled) {
                    return;
                }
                boolean changed = f.isSuccess() ? tracker.success(tookNanos / 1e6) : tracker.failure();
                double rtt = tracker.result().rttMillis();
                if (!changed && !Double.isNaN(rtt) && (Double.isNaN(publishedRtt)
                        || Math.abs(rtt - publishedRtt) >= FrontEndSelector.RTT_TOLERANCE_MILLIS / 2)) {
                    changed = true;
                }
                if (changed) {
                    publishedRtt = rtt;
                    publish();
                }
                long wait = Math.max(0, TimeUnit.MILLISECONDS.toNanos(settings.intervalMillis()) - tookNanos);
                next = loop.schedule(this::probe, wait, TimeUnit.NANOSECONDS);
            });
        }

        void cancel() {
            cancelled = true;
            if (next != null) {
                next.cancel(false);
            }
            if (inFlight != null && !inFlight.isDone()) {
                inFlight.channel().close();
            }
        }
    }
}
