package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whose capabilities count for a container, against a fake /proc and fake cgroup hierarchies (a v2
 * one and a v1 {@code pids} one, as mountinfo names them): every thread of the container's cgroup
 * and its sub-cgroups when the pid's cgroup names the container, else the pid's own threads.
 */
class ContainerCapabilitiesTest {
    private static final String ID = "f6f6fcfc373d8ca438362e1ac9ab39e147bde01791ee2264e8506713984ed290";
    private static final long NONE = 0x800405fbL;
    private static final long NET_ADMIN = NONE | (1L << 12);
    private static final long NET_RAW = NONE | (1L << 13);

    @TempDir
    Path root;
    private Path proc;
    private Path v2;
    private Path v1;

    @BeforeEach
    void mounts() throws IOException {
        proc = Files.createDirectories(root.resolve("proc"));
        v2 = Files.createDirectories(root.resolve("unified"));
        v1 = Files.createDirectories(root.resolve("pids"));
        Files.createDirectories(proc.resolve("self"));
        Files.writeString(proc.resolve("self/mountinfo"), "38 30 0:35 / " + v1 + " rw - cgroup cgroup rw,pids\n"
                + "40 30 0:37 / " + v2 + " rw - cgroup2 cgroup2 rw\n");
    }

    @Test
    void aChildInASubCgroupHoldingTheCapabilityCountsThoughThePidDroppedIt() throws IOException {
        Path container = cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        cgroup(container, "cgroup.threads", "/container", 101);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(101, NET_ADMIN, "0::/machine.slice/libpod-" + ID + ".scope/container\n");

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_ADMIN");
    }

    @Test
    void aThreadOfAnotherProcessOfTheContainerCountsOnCgroupV1() throws IOException {
        cgroup(v1, "tasks", "/libpod_parent/libpod-" + ID, 100, 200, 201);
        process(100, NONE, "8:pids:/libpod_parent/libpod-" + ID + "\n0::/\n");
        process(200, NONE, "8:pids:/libpod_parent/libpod-" + ID + "\n0::/\n");
        process(201, NET_RAW, "8:pids:/libpod_parent/libpod-" + ID + "\n0::/\n");

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_RAW");
    }

    @Test
    void withoutAContainerIdOrACgroupNamingItThePidsOwnThreadsAreRead() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100, 300);
        process(100, NONE, "0::/user.slice\n", 100, 102);
        process(102, NET_RAW, "0::/user.slice\n");
        process(300, NET_ADMIN, "0::/machine.slice/libpod-" + ID + ".scope\n");

        assertThat(reader().risksOf(100, null)).as("its thread 102, not process 300").containsExactly("CAP_NET_RAW");
        assertThat(reader().risksOf(100, ID)).as("pid 100's cgroup does not name the container").containsExactly("CAP_NET_RAW");
    }

    @Test
    void aThreadThatExitedWhileListedIsSkippedButAGonePidIsNotFound() throws IOException {
        cgroup(v2, "cgroup.threads", "/docker/" + ID, 100, 999);
        process(100, NET_ADMIN, "0::/docker/" + ID + "\n");

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_ADMIN");
        assertThatThrownBy(() -> reader().risksOf(4242, ID)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void aContainerWithMoreSubCgroupsThanTheLimitFailsTheReadRatherThanBeHalfRead() throws IOException {
        Path container = cgroup(v2, "cgroup.threads", "/docker/" + ID, 100);
        process(100, NONE, "0::/docker/" + ID + "\n");
        for (int i = 0; i < ContainerCapabilities.MAX_CGROUPS; i++) {
            cgroup(container, "cgroup.threads", "/c" + i);
        }

        assertThatThrownBy(() -> reader().risksOf(100, ID)).isInstanceOf(IOException.class)
                .hasMessageContaining("more than " + ContainerCapabilities.MAX_CGROUPS + " cgroups");
    }

    @Test
    void aCgroupTheMountsNameButThatIsNotThereFallsBackToThePidsThreads() throws IOException {
        process(100, NONE, "0::/docker/" + ID + "\n", 100, 102);
        process(102, NET_RAW, "0::/docker/" + ID + "\n");

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_RAW");
    }

    @Test
    void aContainerCgroupWhoseThreadListIsGoneWhileThePidLivesFailsTheRead() throws IOException {
        Path container = cgroup(v2, "cgroup.threads", "/docker/" + ID, 100);
        Files.delete(container.resolve("cgroup.threads"));
        process(100, NONE, "0::/docker/" + ID + "\n");

        assertThatThrownBy(() -> reader().risksOf(100, ID)).isInstanceOf(IOException.class)
                .isNotInstanceOf(NoSuchFileException.class).hasMessageContaining("disappeared while pid 100 lives");
    }

    @Test
    void aThreadListNamingAThreadOutsideNetfencesPidNamespaceFailsTheRead() throws IOException {
        cgroup(v2, "cgroup.threads", "/docker/" + ID, 100, 0);
        process(100, NONE, "0::/docker/" + ID + "\n");

        assertThatThrownBy(() -> reader().risksOf(100, ID)).hasMessageContaining("names a thread netfence cannot read: 0");
    }

    @Test
    void listingsRepeatUntilOneFindsNoNewThreadAndEveryThreadFoundIsRead() throws IOException {
        process(201, NET_ADMIN, "0::/\n");
        process(202, NET_RAW, "0::/\n");
        java.util.Iterator<List<String>> listings = List.of(List.of("200", "201"), List.of("201", "202"), List.of("202"))
                .iterator();
        java.util.Set<String> read = new java.util.HashSet<>(List.of("200"));

        long held = reader().heldByAll(listings::next, read, "test", unbounded());

        assertThat(Capabilities.risksInMask(held)).containsExactly("CAP_NET_ADMIN", "CAP_NET_RAW");
        assertThat(listings.hasNext()).as("every listing taken").isFalse();
    }

    @Test
    void listingsThatKeepFindingNewThreadsPastTheBudgetFailTheReadClosed() {
        long[] now = {0};
        ContainerCapabilities reader = new ContainerCapabilities(proc, () -> now[0] += 50_000_000L);
        int[] next = {1000};

        assertThatThrownBy(() -> reader.heldByAll(() -> List.of(Integer.toString(next[0]++)), new java.util.HashSet<>(), "c1",
                unbounded()))
                .isInstanceOf(IOException.class).hasMessageContaining("the threads of c1 kept changing")
                .hasMessageContaining("6 listings in 200 ms");
    }

    @Test
    void aFirstListingOfManyThreadsReadSlowerThanTheBudgetIsNotTakenForThreadsThatKeptChanging() throws IOException {
        long[] now = {0};
        ContainerCapabilities reader = new ContainerCapabilities(proc, () -> now[0] += 300_000_000L);
        process(201, NET_RAW, "0::/\n");
        List<String> many = new java.util.ArrayList<>(List.of("201"));
        for (int tid = 1000; tid < 3000; tid++) {
            many.add(Integer.toString(tid)); // exited meanwhile: skipped
        }

        long held = reader.heldByAll(() -> many, new java.util.HashSet<>(), "c1", unbounded());

        assertThat(Capabilities.risksInMask(held)).containsExactly("CAP_NET_RAW");
    }

    @Test
    void aStatusCutInsideACapabilitySetByALongGroupsLineFailsTheReadRatherThanHideTheSet() throws IOException {
        // Groups comes before the sets: a workload that calls setgroups with thousands of groups can put the
        // limit a few digits into CapBnd, whose risky bits are the last digits
        String head = "Name:\tsleep\nGroups:\t";
        String sets = "\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t";
        StringBuilder groups = new StringBuilder();
        while (head.length() + groups.length() + sets.length() + 4 < dev.netfence.netns.ProcFile.LIMIT) {
            groups.append("1000 ");
        }
        groups.setLength(dev.netfence.netns.ProcFile.LIMIT - head.length() - sets.length() - 4);
        Path dir = Files.createDirectories(proc.resolve("100"));
        Files.writeString(dir.resolve("status"), head + groups + sets + "000001ffffffffff\nCapAmb:\t0000000000000000\n");
        Files.writeString(dir.resolve("cgroup"), "0::/\n");
        Files.createDirectories(dir.resolve("task/100"));

        assertThatThrownBy(() -> reader().risksOf(100, null)).isInstanceOf(IOException.class)
                .hasMessageContaining("does not hold the capability sets on whole lines");
    }

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
    void aReadOfThreadsWhoseStatusesTakeLongerThanTheWholeReadsBudgetFailsClosed() throws IOException {
        long[] now = {0};
        ReadBudget budget = new ReadBudget(() -> now[0] += 600_000L, () -> 0L, "c1");
        List<String> many = new java.util.ArrayList<>();
        for (int tid = 1000; tid < 3000; tid++) {
            process(tid, NONE, "0::/\n"); // each status as slow to render as a thread given thousands of groups
            many.add(Integer.toString(tid));
        }

        assertThatThrownBy(() -> reader().heldByAll(() -> many, new java.util.HashSet<>(), "c1", budget))
                .isInstanceOf(IOException.class)
                .hasMessage("reading the capabilities of c1 took longer than 1000 ms (1667 threads or processes read),"
                        + " so they cannot be vouched for");
    }

    @Test
    void aReadThatWaitsForTheCpuIsBoundedByFiveTimesTheBudgetOfWallTime() throws IOException {
        // a node whose CPU other tenants take: the read's own CPU time stays small, the wall's bound holds
        long[] wall = {0};
        ReadBudget budget = new ReadBudget(() -> 0L, () -> wall[0] += 1_000_000_000L,
                "c1");
        List<String> many = new java.util.ArrayList<>();
        for (int tid = 1000; tid < 1020; tid++) {
            process(tid, NONE, "0::/\n");
            many.add(Integer.toString(tid));
        }

        assertThatThrownBy(() -> reader().heldByAll(() -> many, new java.util.HashSet<>(), "c1", budget))
                .isInstanceOf(IOException.class).hasMessageContaining("(6 threads or processes read)");
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

    /** A budget whose clock never moves: the tests of what is read, not of how long. */
    private static ReadBudget unbounded() {
        return new ReadBudget(() -> 0L, "test");
    }

    private ContainerCapabilities reader() {
        return new ContainerCapabilities(proc);
    }

    /** A cgroup directory {@code under/path} whose thread list names {@code tids}. */
    private static Path cgroup(Path under, String list, String path, int... tids) throws IOException {
        Path dir = Files.createDirectories(Path.of(under + path));
        StringBuilder text = new StringBuilder();
        for (int tid : tids) {
            text.append(tid).append('\n');
        }
        Files.writeString(dir.resolve(list), text);
        return dir;
    }

    /** {@code pid}'s net/protocols counting these sockets in its namespace (as the kernel's, two PACKET lines). */
    private void protocols(int pid, long packet, long xdp, long raw, long raw6) throws IOException {
        String head = "protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re bi"
                + " br ha uh gp em\n";
        String flags = "   -1   NI       0   no   kernel      n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n";
        Files.writeString(Files.createDirectories(proc.resolve(pid + "/net")).resolve("protocols"), head
                + String.format("PACKET    1600 %6d", packet) + flags
                + String.format("PACKET    1600 %6d", 0) + flags
                + String.format("RAWv6     1344 %6d", raw6) + flags
                + String.format("XDP       1088 %6d", xdp) + flags
                + String.format("UDP       1152 %6d", 3) + flags
                + String.format("RAW       1152 %6d", raw) + flags);
    }

    /** A /proc entry for {@code pid} with {@code caps} in its permitted, effective and bounding sets. */
    private void process(int pid, long caps, String cgroup, int... threads) throws IOException {
        Path dir = Files.createDirectories(proc.resolve(Integer.toString(pid)));
        String hex = String.format("%016x", caps);
        Files.writeString(dir.resolve("status"), "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t" + hex
                + "\nCapEff:\t" + hex + "\nCapBnd:\t" + hex + "\nCapAmb:\t0000000000000000\n");
        Files.writeString(dir.resolve("cgroup"), cgroup);
        protocols(pid, 0, 0, 0, 0); // no raw socket in its namespace; a test that writes net/packet counts one

        for (int tid : threads.length == 0 ? new int[] {pid} : threads) {
            Files.createDirectories(dir.resolve("task").resolve(Integer.toString(tid)));
        }
    }
}
