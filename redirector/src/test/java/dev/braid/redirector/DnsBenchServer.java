package dev.braid.redirector;

import dev.braid.runtime.EventLoops;
import dev.braid.runtime.Transport;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * The servers of {@code perf/scripts/dns-bench.sh}: NSD and the redirector on loopback, serving the
 * conformance test's zones (static records and site names) side by side, with no rate limits. Prints
 * {@code ready} once both answer and runs until it is killed, taking NSD down with it.
 * Arguments: a work directory, NSD's port, the redirector's port, and optionally the transport
 * ({@code io_uring}, {@code epoll}, {@code nio}; default the best available) and the number of event
 * loops (default 2), each with its own UDP socket on the port; NSD runs as many server processes.
 */
public final class DnsBenchServer {

    private DnsBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Transport transport = args.length > 3 ? Transport.parse(args[3]) : null;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        Process nsd = NsdConformanceIT.startNsd(dir, NsdConformanceIT.zoneFiles(NsdConformanceIT.config()),
                Integer.parseInt(args[1]), threads);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // NSD's server processes are its children: end them too, not only the main process.
            nsd.descendants().forEach(ProcessHandle::destroy);
            nsd.destroy();
        }));
        EventLoops loops = EventLoops.create("dns-bench", transport, threads);
        Redirector redirector = Redirector.start(Redirector.Options.builder(loops)
                .listen(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2]))).nodeName("r1")
                .probes(false).config(NsdConformanceIT.config(), NsdConformanceIT.VERSION).build());
        Runtime.getRuntime().addShutdownHook(new Thread(redirector::close));
        System.out.println("ready");
        Thread.currentThread().join();
    }
}
