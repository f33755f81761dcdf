package dev.braid.redirector;

import dev.braid.runtime.EventLoops;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * The servers of {@code perf/scripts/dns-bench.sh}: NSD and the redirector on loopback, serving the
 * conformance test's zones (static records and site names) side by side, with no rate limits. Prints
 * {@code ready} once both answer and runs until it is killed, taking NSD down with it.
 * Arguments: a work directory, NSD's port, the redirector's port.
 */
public final class DnsBenchServer {

    private DnsBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Process nsd = NsdConformanceIT.startNsd(dir, NsdConformanceIT.zoneFiles(NsdConformanceIT.config()),
                Integer.parseInt(args[1]));
        Runtime.getRuntime().addShutdownHook(new Thread(nsd::destroy));
        EventLoops loops = EventLoops.create("dns-bench", null, 1);
        Redirector redirector = Redirector.start(Redirector.Options.builder(loops)
                .listen(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2]))).nodeName("r1")
                .probes(false).config(NsdConformanceIT.config(), NsdConformanceIT.VERSION).build());
        Runtime.getRuntime().addShutdownHook(new Thread(redirector::close));
        System.out.println("ready");
        Thread.currentThread().join();
    }
}
