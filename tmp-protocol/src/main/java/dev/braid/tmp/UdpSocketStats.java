package dev.braid.tmp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Receive-buffer drops of a UDP socket, so that they are counted apart from path loss: datagrams
 * the kernel dropped because the socket's receive buffer was full never reached TMP, and the sender
 * sees them as losses. Linux reports them per socket in the {@code drops} column of
 * {@code /proc/net/udp} and {@code /proc/net/udp6}; where the socket is not found there (another
 * network namespace, not Linux), the host-wide {@code RcvbufErrors} of {@code /proc/net/snmp}
 * is the fallback. Reading costs a file read: for metrics scrapes, not the data path.
 */
final class UdpSocketStats {

    private UdpSocketStats() {
    }

    /** Drops of the socket bound to {@code localPort}, host-wide receive-buffer errors if unknown, -1 if neither is readable. */
    static long receiveDrops(int localPort) {
        long perSocket = socketDrops(localPort);
        return perSocket >= 0 ? perSocket : hostRcvbufErrors();
    }

    static long socketDrops(int localPort) {
        String portHex = String.format(":%04X", localPort);
        long total = -1;
        for (String file : List.of("/proc/net/udp", "/proc/net/udp6")) {
            try {
                for (String line : Files.readAllLines(Path.of(file))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length >= 13 && f[1].endsWith(portHex)) {
                        total = Math.max(total, 0) + Long.parseLong(f[f.length - 1]);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // Not Linux or not readable: try the next source.
            }
        }
        return total;
    }

    static long hostRcvbufErrors() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/net/snmp"));
            for (int i = 0; i + 1 < lines.size(); i++) {
                if (lines.get(i).startsWith("Udp:") && lines.get(i + 1).startsWith("Udp:")) {
                    String[] names = lines.get(i).trim().split("\\s+");
                    String[] values = lines.get(i + 1).trim().split("\\s+");
                    for (int k = 0; k < names.length && k < values.length; k++) {
                        if (names[k].equals("RcvbufErrors")) {
                            return Long.parseLong(values[k]);
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not available here.
        }
        return -1;
    }
}
