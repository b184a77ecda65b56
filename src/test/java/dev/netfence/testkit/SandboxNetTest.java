package dev.netfence.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The sandbox itself: without rules every address answers, and close() leaves nothing behind. */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class SandboxNetTest {

    @Test
    void withoutRulesTheContainerReachesEveryPeerAddressOverTcpAndUdpAndSeesItsResolvConf() throws Exception {
        String container;
        try (SandboxNet net = SandboxNet.create()) {
            container = net.containerNs();
            net.peerListens(7001);
            for (String host : new String[] {net.peerV4(), net.peerV6(), net.otherHostV4(), net.otherHostV6(),
                    net.blockedHostV4(), net.blockedHostV6()}) {
                assertThat(net.containerTcp(host, 7001)).as("tcp %s", host).isEqualTo("OK");
                assertThat(net.containerUdp(host, 7001)).as("udp %s", host).isEqualTo("OK");
            }
            assertThat(net.containerTcp(net.peerV4(), 7002)).isEqualTo("REFUSED");
            // the container names its own resolvers (a workload can write anything here; netfence never reads it)
            assertThat(Files.readString(Path.of("/proc", String.valueOf(net.containerPid()), "root/etc/resolv.conf")))
                    .contains("nameserver " + net.peerV4() + "\n", "nameserver " + net.peerV6() + "\n");
        }
        assertThat(Files.exists(Path.of("/run/netns", container))).isFalse();
        assertThat(Files.exists(Path.of("/etc/netns", container))).isFalse();
    }
}
