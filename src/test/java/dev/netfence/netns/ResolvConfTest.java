package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which resolv.conf lines become nameservers. */
class ResolvConfTest {

    @Test
    void keepsIpv4AndIpv6NameserversAndIgnoresCommentsJunkAndDuplicates() {
        String text = "# generated\nsearch example.test\nnameserver 198.51.100.53 # main\n"
                + "nameserver 2001:DB8::53\n; nameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver dns.example\n"
                + "nameserver 256.1.1.1\nnameserver 01.2.3.4\nnameserver\nnameserver 198.51.100.53\n"
                + "  nameserver\t198.51.100.54\noptions ndots:5\n";

        assertThat(ResolvConf.parse(text).stream().map(InetAddress::getHostAddress).toList())
                .containsExactly("198.51.100.53", "2001:db8:0:0:0:0:0:53", "198.51.100.54");
    }

    @Test
    void aMissingFileMeansNoNameservers(@TempDir Path dir) throws Exception {
        assertThat(ResolvConf.readForPid(dir, 4242)).isEmpty();
    }
}
