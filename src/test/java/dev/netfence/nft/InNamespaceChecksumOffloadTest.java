package dev.netfence.nft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class InNamespaceChecksumOffloadTest {
    @Test
    void theInterfacesOfANetDevTextAreEveryNameButLo() {
        String netDev = """
                Inter-|   Receive                                                |  Transmit
                 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
                  eth0:    1296      16    0    0    0     0          0         0      788      10    0    0    0     0       0          0
                v-1.2@x:      0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
                """;

        assertThat(InNamespaceChecksumOffload.interfaces(netDev)).containsExactly("eth0", "v-1.2@x");
    }
}
