package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Which raw sockets of a container's network namespace make it count as holding CAP_NET_RAW though
 * no thread holds the capability ({@link RawSockets}: the kernel checks it only when such a socket
 * is made), against a fake /proc: a packet or raw IP socket the container holds, or that nobody
 * visibly holds, counts, one only a process outside the container holds in its namespace does not,
 * an XDP socket counts wherever it is; the listings are read only where the namespace's socket
 * counts say there is one, and the walk for a holder stops when the read's budget runs out.
 */
class ContainerCapabilitiesRawSocketsTest extends ContainerCapabilitiesFixture {
    @Test
    void aPacketSocketOneOfTheContainersThreadsHoldsCountsAsCapNetRawThoughNoThreadHoldsTheCapability()
            throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100, 101);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(101, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        Path ns = Files.createDirectories(proc.resolve("100/ns")).resolve("net");
        Files.writeString(ns, "");
        Path packet = Files.createDirectories(proc.resolve("100/net")).resolve("packet");
        String header = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n";
        Files.createDirectories(proc.resolve("101/fd"));
        Files.createSymbolicLink(proc.resolve("101/fd/0"), Path.of("/dev/null"));
        Files.createSymbolicLink(proc.resolve("101/fd/3"), Path.of("socket:[812345]"));

        protocols(100, 0, 0, 0, 0);
        assertThat(reader().risksOf(100, ID)).as("none counted, no net/packet: no packet family").isEmpty();
        protocols(100, 1, 0, 0, 0);
        Files.writeString(packet, header);
        assertThat(reader().risksOf(100, ID)).as("no socket").isEmpty();
        Files.writeString(packet, header + "ffff8f2d4a3e7000 3      3    0003   2     1 0      0      812345\n");
        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_RAW");
    }

    @Test
    void aPacketSocketAProcessOutsideTheContainerHoldsInItsNamespaceDoesNotCountOneNobodyHoldsDoes()
            throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(300, NONE, "0::/user.slice\n"); // an operator's capture, entered into the container's namespace
        Path ns = Files.createDirectories(proc.resolve("100/ns")).resolve("net");
        Files.writeString(ns, "");
        Files.createDirectories(proc.resolve("300/ns"));
        Files.createLink(proc.resolve("300/ns/net"), ns); // the same namespace
        Files.createDirectories(proc.resolve("300/fd"));
        Files.createSymbolicLink(proc.resolve("300/fd/3"), Path.of("socket:[999999]"));
        protocols(100, 1, 0, 0, 0);
        Path packet = Files.createDirectories(proc.resolve("100/net")).resolve("packet");
        String header = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n";

        Files.writeString(packet, header + "ffff8f2d4a3e6000 3      3    0003   2     1 0      0      999999\n");
        assertThat(reader().risksOf(100, ID)).as("held by the capture beside it").isEmpty();

        Files.writeString(packet, header + "ffff8f2d4a3e6000 3      3    0003   2     1 0      0      999999\n"
                + "ffff8f2d4a3e8000 3      3    0003   2     1 0      0      777777\n");
        assertThat(reader().risksOf(100, ID)).as("one nobody visibly holds: parked in flight, say")
                .containsExactly("CAP_NET_RAW");

        // a process of the container forked after its threads were listed holds the second one
        process(400, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        Files.createDirectories(proc.resolve("400/ns"));
        Files.createLink(proc.resolve("400/ns/net"), ns); // in the namespace too: it would explain it away
        Files.createDirectories(proc.resolve("400/fd"));
        Files.createSymbolicLink(proc.resolve("400/fd/4"), Path.of("socket:[777777]"));
        assertThat(reader().risksOf(100, ID)).as("not among the threads read, but of the container")
                .containsExactly("CAP_NET_RAW");
    }

    @Test
    void aPacketSocketPassedToAProcessOutsideTheNamespaceCounts() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(500, NONE, "0::/system.slice/dbus.service\n"); // a bus daemon, in the host's namespace
        Files.writeString(Files.createDirectories(proc.resolve("100/ns")).resolve("net"), "");
        Files.writeString(Files.createDirectories(proc.resolve("500/ns")).resolve("net"), "");
        Files.createDirectories(proc.resolve("500/fd"));
        Files.createSymbolicLink(proc.resolve("500/fd/9"), Path.of("socket:[666666]")); // sent in a message, unread
        protocols(100, 1, 0, 0, 0);
        Files.writeString(Files.createDirectories(proc.resolve("100/net")).resolve("packet"),
                "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
                + "ffff8f2d4a3e6000 3      3    0003   2     1 0      0      666666\n");

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_RAW");
    }

    @Test
    void aPacketSocketTheContainerHoldsCountsThoughAProcessOutsideHoldsItToo() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(300, NONE, "0::/user.slice\n");
        for (int pid : new int[] {100, 300}) {
            Files.createDirectories(proc.resolve(pid + "/fd"));
            Files.createSymbolicLink(proc.resolve(pid + "/fd/3"), Path.of("socket:[555555]")); // passed over SCM_RIGHTS
        }
        protocols(100, 1, 0, 0, 0);
        Path packet = Files.createDirectories(proc.resolve("100/net")).resolve("packet");
        Files.writeString(packet, "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
                + "ffff8f2d4a3e6000 3      3    0003   2     1 0      0      555555\n");

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_RAW");
    }

    @Test
    void aCountedPacketSocketWhoseListingCannotBeReadCountsAsCapNetRaw() throws IOException {
        // the leader exited (pthread_exit in main): net/packet is read through a thread, which exits too
        process(100, NONE, "0::/user.slice\n", 101);
        Files.writeString(Files.createDirectories(proc.resolve("100/ns")).resolve("net"), "");
        protocols(100, 1, 0, 0, 0); // read before the thread went; net/packet is not there to read

        assertThat(reader().risksOf(100, null)).as("counted, and nothing says whose").containsExactly("CAP_NET_RAW");
    }

    @Test
    void theWalkForAPacketSocketNobodyInTheContainerHoldsStopsWhenTheReadsBudgetRunsOut() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        Files.writeString(Files.createDirectories(proc.resolve("100/ns")).resolve("net"), "");
        Files.createDirectories(proc.resolve("100/fd"));
        for (int pid = 300; pid < 310; pid++) {
            process(pid, NONE, "0::/user.slice\n");
        }
        protocols(100, 1, 0, 0, 0);
        Files.writeString(Files.createDirectories(proc.resolve("100/net")).resolve("packet"),
                "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
                + "ffff8f2d4a3e6000 3      3    0003   2     1 0      0      777777\n");
        long[] now = {0};
        ContainerCapabilities reader = new ContainerCapabilities(proc, () -> now[0] += 200_000_000L);

        assertThatThrownBy(() -> reader.risksOf(100, ID)).isInstanceOf(IOException.class)
                .hasMessageContaining("reading the capabilities of " + ID + " took longer than 1000 ms");
    }

    @Test
    void withoutAContainerIdAListedPacketSocketCountsThoughOnlyAProcessOutsideHoldsIt() throws IOException {
        process(100, NONE, "0::/user.slice\n");
        process(300, NONE, "0::/user.slice\n");
        Files.writeString(Files.createDirectories(proc.resolve("100/ns")).resolve("net"), "");
        Files.createLink(Files.createDirectories(proc.resolve("300/ns")).resolve("net"), proc.resolve("100/ns/net"));
        Files.createDirectories(proc.resolve("100/fd"));
        Files.createDirectories(proc.resolve("300/fd"));
        Files.createSymbolicLink(proc.resolve("300/fd/4"), Path.of("socket:[888888]")); // a capture in its namespace
        protocols(100, 1, 0, 0, 0);
        Files.writeString(Files.createDirectories(proc.resolve("100/net")).resolve("packet"),
                "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
                + "ffff8f2d4a3e6000 3      3    0003   2     1 0      0      888888\n");

        assertThat(reader().risksOf(100, null)).as("no container to tell its processes from others by")
                .containsExactly("CAP_NET_RAW");
        assertThat(reader().risksOf(100, ID)).as("a cgroup that does not name the container tells nothing either")
                .containsExactly("CAP_NET_RAW");
    }

    @Test
    void anXdpSocketAnywhereInTheNamespaceCountsAsCapNetRawForNothingTellsWhoseItIs() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        protocols(100, 0, 0, 0, 0);
        assertThat(reader().risksOf(100, ID)).isEmpty();

        protocols(100, 0, 1, 0, 0);

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_RAW");
    }

    @Test
    void aRawIpSocketTheContainerHoldsCountsAndOneACaptureBesideItHoldsDoesNot() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(300, NONE, "0::/user.slice\n"); // an operator's ping, entered into the container's namespace
        Path ns = Files.createDirectories(proc.resolve("100/ns")).resolve("net");
        Files.writeString(ns, "");
        Files.createDirectories(proc.resolve("300/ns"));
        Files.createLink(proc.resolve("300/ns/net"), ns);
        Files.createDirectories(proc.resolve("100/fd"));
        Files.createDirectories(proc.resolve("300/fd"));
        Files.createSymbolicLink(proc.resolve("300/fd/3"), Path.of("socket:[78743935]"));
        Files.writeString(proc.resolve("100/net/raw"), "  sl  local_address rem_address   st tx_queue rx_queue tr"
                + " tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
                + " 162: 00000000:00FF 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 78743935 2"
                + " 00000000bdcc3623 0\n");
        protocols(100, 0, 0, 1, 0);
        assertThat(reader().risksOf(100, ID)).as("held by the ping beside it").isEmpty();

        Files.writeString(proc.resolve("100/net/raw6"), "  sl  local_address                         remote_address"
                + "                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer"
                + " drops\n  238: 00000000000000000000000000000000:003A 00000000000000000000000000000000:0000 07"
                + " 00000000:00000000 00:00000000 00000000     0        0 78743936 2 000000009ba58bc6 0\n");
        Files.createSymbolicLink(proc.resolve("100/fd/5"), Path.of("socket:[78743936]"));
        protocols(100, 0, 0, 1, 1);

        assertThat(reader().risksOf(100, ID)).as("an IPv6 raw socket the container holds").containsExactly("CAP_NET_RAW");
    }

    @Test
    void aNamespaceThatCountsNoSuchSocketHasItsListingsLeftUnread() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        Files.writeString(Files.createDirectories(proc.resolve("100/ns")).resolve("net"), "");
        Files.createDirectories(proc.resolve("100/fd")); // the walk runs: nobody holds it
        protocols(100, 1, 0, 0, 0);
        Files.writeString(proc.resolve("100/net/packet"), "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
                + "ffff8f2d4a3e6000 3      3    0003   2     1 0      0      555555\n");
        assertThat(reader().risksOf(100, ID)).as("counted and listed, nobody visibly holds it").containsExactly("CAP_NET_RAW");

        protocols(100, 0, 0, 0, 0);

        assertThat(reader().risksOf(100, ID)).as("the count says none: the listing is not read").isEmpty();
    }

    @Test
    void aProtocolsFileWithoutSocketCountsFailsTheRead() throws IOException {
        process(100, NONE, "0::/user.slice\n");
        Files.writeString(proc.resolve("100/net/protocols"), "protocol  size\nPACKET 1600\n");

        assertThatThrownBy(() -> reader().risksOf(100, null)).isInstanceOf(IOException.class)
                .hasMessageContaining("does not count sockets by protocol as expected");
    }
}
