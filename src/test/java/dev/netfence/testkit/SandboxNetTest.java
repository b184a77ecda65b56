package dev.netfence.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.ResolvConf;
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
            assertThat(ResolvConf.readForPid(Path.of("/proc"), net.containerPid()).stream()
                    .map(a -> a.getHostAddress()).toList())
                    .containsExactly(net.peerV4(), "2001:db8:" + net.peerV6().split(":")[2] + ":0:0:0:0:2");
        }
        assertThat(Files.exists(Path.of("/run/netns", container))).isFalse();
        assertThat(Files.exists(Path.of("/etc/netns", container))).isFalse();
    }
}
