package dev.netfence.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {

    @Test
    void aPortItGivesIsBelowTheEphemeralRangeAndCanBeBoundOnLoopback() throws Exception {
        for (int i = 0; i < 20; i++) {
            int port = LoopbackPorts.unused();
            assertThat(port).isBetween(LoopbackPorts.LOWEST, LoopbackPorts.ephemeralLow() - 1);
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                assertThat(s.getLocalPort()).isEqualTo(port);
            }
        }
    }

    @Test
    void itNeverGivesTheSamePortTwiceAlthoughNothingBoundTheFirst() {
        java.util.Set<Integer> given = new java.util.HashSet<>();
        for (int i = 0; i < 2_000; i++) {
            assertThat(given.add(LoopbackPorts.unused())).as("port %d given before", i).isTrue();
        }
    }

    @Test
    void theEphemeralRangeIsReadWholeFromTheKernel() throws Exception {
        String range = Sh.ok("cat", "/proc/sys/net/ipv4/ip_local_port_range");
        assertThat(LoopbackPorts.ephemeralLow()).isEqualTo(Integer.parseInt(range.trim().split("\\s+")[0]));
    }
}
