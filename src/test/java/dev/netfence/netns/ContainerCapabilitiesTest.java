package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Whose capabilities count for a container, against a fake /proc and fake cgroup hierarchies (a v2
 * one and a v1 {@code pids} one, as mountinfo names them): every thread of the container's cgroup
 * and its sub-cgroups when the pid's cgroup names the container, else the pid's own threads; the
 * listings repeated until one finds no new thread, and the read failing closed past its budget or
 * on a status it cannot read whole. Raw sockets counted as CAP_NET_RAW are
 * {@link ContainerCapabilitiesRawSocketsTest}'s.
 */
class ContainerCapabilitiesTest extends ContainerCapabilitiesFixture {
    @Test
    void aChildInASubCgroupHoldingTheCapabilityCountsThoughThePidDroppedIt() throws IOException {
        Path container = cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        cgroup(container, "cgroup.threads", "/container", 101);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(101, NET_ADMIN, "0::/machine.slice/libpod-" + ID + ".scope/container\n");

        assertThat(reader().risksOf(100, ID)).containsExactly("CAP_NET_ADMIN");
    }

    @Test
    void netAdminReachesTheHostOnlyFromTheHostsUserNamespaceAndAnySiblingThreadCounts() throws IOException {
        Path host = Files.writeString(root.resolve("host-users"), "init");
        Path child = Files.writeString(root.resolve("child-users"), "child");
        users(1, host);
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100, 101);
        process(100, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        process(101, NET_ADMIN, "0::/machine.slice/libpod-" + ID + ".scope\n");

        users(100, child);
        users(101, child);
        assertThat(reader().read(100, ID, null)).as("NET_ADMIN in a user namespace of the container's own")
                .isEqualTo(new ContainerCapabilities.Read(List.of("CAP_NET_ADMIN"), false));
        users(101, host);
        assertThat(reader().read(100, ID, null)).as("a sibling of the pid, in the host's user namespace")
                .isEqualTo(new ContainerCapabilities.Read(List.of("CAP_NET_ADMIN"), true));
        process(101, NONE, "0::/machine.slice/libpod-" + ID + ".scope\n");
        users(100, host);
        assertThat(reader().read(100, ID, null)).as("the host's user namespace without NET_ADMIN")
                .isEqualTo(new ContainerCapabilities.Read(List.of(), false));
    }

    @Test
    void aUserNamespaceThatCannotBeToldApartFromTheHostsCountsAsTheHosts() throws IOException {
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NET_ADMIN, "0::/machine.slice/libpod-" + ID + ".scope\n");
        users(100, Files.writeString(root.resolve("child-users"), "child")); // pid 1's cannot be read: no proc/1

        assertThat(reader().read(100, ID, null).netAdminOverHost()).isTrue();
    }

    @Test
    void wherePid1sUserNamespaceCannotBeReadTheOwnerOfNetfencesOwnNetworkNamespaceIsTheHosts() throws IOException {
        // no proc/1 here; self/ns/net leads to this JVM's real network namespace, whose owner is this
        // machine's initial user namespace (the real /proc/self/ns/user of a test run as root on the host)
        Files.createDirectories(proc.resolve("self/ns"));
        Files.createSymbolicLink(proc.resolve("self/ns/net"), Path.of("/proc/self/ns/net"));
        cgroup(v2, "cgroup.threads", "/machine.slice/libpod-" + ID + ".scope", 100);
        process(100, NET_ADMIN, "0::/machine.slice/libpod-" + ID + ".scope\n");

        users(100, Files.writeString(root.resolve("child-users"), "child"));
        assertThat(reader().read(100, ID, null).netAdminOverHost()).as("a user namespace of the container's own")
                .isFalse();
        users(100, Path.of("/proc/self/ns/user"));
        assertThat(reader().read(100, ID, null).netAdminOverHost()).as("the host's").isTrue();
    }

    /** {@code pid}'s ns/user, a link to {@code namespace} (a file standing for a user namespace: its inode). */
    private void users(int pid, Path namespace) throws IOException {
        Path link = Files.createDirectories(proc.resolve(pid + "/ns")).resolve("user");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, namespace);
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
        for (int i = 0; i < ContainerThreads.MAX_CGROUPS; i++) {
            cgroup(container, "cgroup.threads", "/c" + i);
        }

        assertThatThrownBy(() -> reader().risksOf(100, ID)).isInstanceOf(IOException.class)
                .hasMessageContaining("more than " + ContainerThreads.MAX_CGROUPS + " cgroups");
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
    void aReadOfThreadsWhoseStatusesTakeLongerThanTheWholeReadsBudgetFailsClosed() throws IOException {
        long[] now = {0};
        ReadBudget budget = new ReadBudget(() -> now[0] += 6_000_000L, () -> 0L, "c1");
        List<String> many = new java.util.ArrayList<>();
        for (int tid = 1000; tid < 1200; tid++) {
            process(tid, NONE, "0::/\n"); // each status as slow to render as a thread given thousands of groups
            many.add(Integer.toString(tid));
        }

        assertThatThrownBy(() -> reader().heldByAll(() -> many, new java.util.HashSet<>(), "c1", budget))
                .isInstanceOf(IOException.class)
                .hasMessage("reading the capabilities of c1 took longer than 1000 ms (167 threads or processes read),"
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
}
