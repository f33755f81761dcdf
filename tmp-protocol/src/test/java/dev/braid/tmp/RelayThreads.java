package dev.braid.tmp;

import java.io.IOException;
import java.util.List;

/** Daemon threads for the tests' datagram relays: a loop that ends when its socket is closed. */
final class RelayThreads {

    interface Loop {
        void run() throws IOException;
    }

    private RelayThreads() {
    }

    /** Starts {@code body} on a daemon thread named {@code name} and adds it to {@code threads}. */
    static void start(String name, Loop body, List<Thread> threads) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (IOException e) {
                // Socket closed: the relay (or this side of it) is done.
            }
        }, name);
        t.setDaemon(true);
        t.start();
        threads.add(t);
    }
}
