package dev.braid.cli.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The network between a front-end and a back-end, in the test: a relay on one loopback port that
 * forwards UDP datagrams and TCP connections to the back-end's TMP port, and that can be cut.
 * While {@linkplain #cut() cut}, datagrams are dropped in both directions and TCP bytes are held
 * (as a path in a blackout would: nothing arrives, nothing is refused); {@link #restore()} lets
 * traffic pass again. Each front-end source address gets its own upstream socket, so the back-end
 * sees one peer per link, as through a NAT.
 */
final class LinkRelay implements AutoCloseable {

    private final InetSocketAddress target;
    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final Map<SocketAddress, DatagramSocket> upstreams = new ConcurrentHashMap<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean cut;
    private volatile boolean closed;

    LinkRelay(InetSocketAddress target) throws IOException {
        this.target = target;
        // UDP and TCP on one port number, as the back-end listens; retry if TCP's is taken.
        DatagramSocket u = null;
        ServerSocket t = null;
        for (int attempt = 0; attempt < 20 && t == null; attempt++) {
            u = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            try {
                t = new ServerSocket();
                t.setReuseAddress(true);
                t.bind(new InetSocketAddress("127.0.0.1", u.getLocalPort()));
            } catch (IOException taken) {
                u.close();
                t = null;
            }
        }
        if (t == null) {
            throw new IOException("no loopback port free for both UDP and TCP");
        }
        udp = u;
        tcp = t;
        thread("relay-udp", this::pumpDatagrams);
        thread("relay-accept", this::accept);
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", udp.getLocalPort());
    }

    /** Cuts the path: nothing passes until {@link #restore()}. */
    void cut() {
        cut = true;
    }

    void restore() {
        cut = false;
    }

    private void pumpDatagrams() {
        byte[] buf = new byte[65_535];
        while (!closed) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                udp.receive(p);
            } catch (IOException e) {
                return;
            }
            if (cut) {
                continue;
            }
            SocketAddress client = p.getSocketAddress();
            try {
                DatagramSocket up = upstreams.computeIfAbsent(client, this::upstream);
                up.send(new DatagramPacket(p.getData(), p.getOffset(), p.getLength(), target));
            } catch (IOException | RuntimeException e) {
                // The back-end is down: the datagram is lost, as it would be on the wire.
            }
        }
    }

    private DatagramSocket upstream(SocketAddress client) {
        try {
            DatagramSocket up = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            thread("relay-udp-back", () -> {
                byte[] buf = new byte[65_535];
                while (!closed) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        up.receive(p);
                    } catch (SocketException e) {
                        if (up.isClosed()) {
                            return;
                        }
                        continue; // ICMP port unreachable while the back-end is down
                    } catch (IOException e) {
                        return;
                    }
                    if (cut) {
                        continue;
                    }
                    try {
                        udp.send(new DatagramPacket(p.getData(), p.getOffset(), p.getLength(), client));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            return up;
        } catch (SocketException e) {
            throw new IllegalStateException(e);
        }
    }

    private void accept() {
        while (!closed) {
            Socket down;
            try {
                down = tcp.accept();
            } catch (IOException e) {
                return;
            }
            sockets.add(down);
            Socket up = new Socket();
            try {
                up.connect(target, 2000);
            } catch (IOException e) {
                closeQuietly(down);
                continue;
            }
            sockets.add(up);
            thread("relay-tcp-up", () -> pump(down, up));
            thread("relay-tcp-down", () -> pump(up, down));
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                while (cut && !closed) {
                    Thread.sleep(10);
                }
                out.write(buf, 0, n);
            }
        } catch (IOException | InterruptedException e) {
            // One side closed or broke: close both, as the peers would see through a real path.
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void thread(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        cut = false;
        udp.close();
        closeQuietly(tcp);
        upstreams.values().forEach(DatagramSocket::close);
        sockets.forEach(LinkRelay::closeQuietly);
    }
}
