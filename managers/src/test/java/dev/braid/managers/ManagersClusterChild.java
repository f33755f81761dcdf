package dev.braid.managers;

import dev.braid.managers.config.EtcdSettings;
import dev.braid.managers.config.TestConfigs;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * One managers process of a cluster on etcd, for {@link ManagersClusterIT}. Arguments: the etcd
 * client URL, the key prefix, the lease in seconds. Prints {@code LISTENING <port>}, then runs
 * until killed.
 */
public final class ManagersClusterChild {

    private ManagersClusterChild() {
    }

    public static void main(String[] args) throws Exception {
        ManagersServer server = ManagersServer.start(ManagersServer.Options.builder()
                .config(TestConfigs.example())
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .etcd(new EtcdSettings(List.of(args[0]), args[1], Integer.parseInt(args[2])))
                .build());
        System.out.println("LISTENING " + server.localAddress().getPort());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
