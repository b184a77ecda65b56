package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which directory a line of /proc/PID/cgroup names, from a mountinfo text, as a table. */
class CgroupMountsTest {
    /** The mounts of the test machine (cgroup v1 with the unified hierarchy beside it), a v2 host and a sub-tree mount. */
    private static final String MOUNTINFO = String.join("\n",
            "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
            "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
            "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime shared:7 - cgroup cgroup rw,pids",
            "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
            "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
            "41 22 0:37 /kubepods /mnt/kube\\040pods rw,relatime - cgroup2 cgroup2 rw",
            "42 22 0:38 / /proc rw - proc proc rw", "");

    @ParameterizedTest(name = "[{0}] {1} is in {2}")
    @CsvSource(delimiter = '|', value = {
        "''|/libpod_parent/libpod-1|/sys/fs/cgroup/unified/libpod_parent/libpod-1",
        "pids|/libpod_parent/libpod-1|/sys/fs/cgroup/pids/libpod_parent/libpod-1",
        "name=systemd|/machine.slice/x.scope|/sys/fs/cgroup/systemd/machine.slice/x.scope",
        "cpu,cpuacct|/docker/abc|/sys/fs/cgroup/cpu,cpuacct/docker/abc",
        "cpu|/docker/abc|/sys/fs/cgroup/cpu,cpuacct/docker/abc",
        "memory|/|/sys/fs/cgroup/memory",
        "blkio|/docker/abc|''",
        "name=other|/docker/abc|''",
    })
    void aCgroupLineMapsToItsHierarchysMountPoint(String controllers, String path, String expected) {
        assertThat(CgroupMounts.parse(MOUNTINFO).directories(controllers, path).stream().filter(p -> !p.startsWith("/mnt")))
                .containsExactlyElementsOf(expected.isEmpty() ? java.util.List.of() : java.util.List.of(Path.of(expected)));
    }

    @Test
    void aMountOfASubTreeMapsOnlyThePathsUnderItsRootAndItsEscapedMountPointIsDecoded() {
        CgroupMounts mounts = CgroupMounts.parse(MOUNTINFO);

        assertThat(mounts.directories("", "/kubepods/burstable/pod1/abc")).containsExactly(
                Path.of("/sys/fs/cgroup/unified/kubepods/burstable/pod1/abc"), Path.of("/mnt/kube pods/burstable/pod1/abc"));
        assertThat(mounts.directories("", "/kubepodsX/abc")).containsExactly(Path.of("/sys/fs/cgroup/unified/kubepodsX/abc"));
        assertThat(mounts.directories("", "/kubepods/../etc")).isEmpty();
    }

    @Test
    void withoutCgroupMountsNothingMaps() {
        assertThat(CgroupMounts.parse("42 22 0:38 / /proc rw - proc proc rw\n").directories("", "/a")).isEmpty();
        assertThat(CgroupMounts.unescape("a\\040b\\134c\\04")).isEqualTo("a b\\c\\04");
    }
}
