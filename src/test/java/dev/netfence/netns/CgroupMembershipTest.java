package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The cgroup check as a table: which /proc/PID/cgroup paths name which container id. */
class CgroupMembershipTest {
    private static final String ID = "f6f6fcfc373d8ca438362e1ac9ab39e147bde01791ee2264e8506713984ed290";
    private static final String OTHER = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    @ParameterizedTest(name = "{0} names {1}: {2}")
    @CsvSource(delimiter = '|', value = {
        // podman, cgroupfs manager (v1 hybrid, as on the test machine) and systemd manager
        "9:name=systemd:/libpod_parent/libpod-" + ID + "|" + ID + "|true",
        "0::/machine.slice/libpod-" + ID + ".scope|" + ID + "|true",
        "0::/machine.slice/libpod-" + ID + ".scope/container|" + ID + "|true",
        "0::/machine.slice/machine-libpod_pod_" + OTHER + ".slice/libpod-" + ID + ".scope|" + ID + "|true",
        // docker
        "0::/system.slice/docker-" + ID + ".scope|" + ID + "|true",
        "4:memory:/docker/" + ID + "|" + ID + "|true",
        // CRI-O, containerd, kubelet cgroupfs layout
        "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/crio-" + ID + ".scope|" + ID + "|true",
        "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2.slice/cri-containerd-" + ID + ".scope|" + ID + "|true",
        "0::/kubepods/burstable/pod0b7e-11/" + ID + "|" + ID + "|true",
        "0::/crio-" + ID + "|" + ID + "|true",
        // substrings are not ids
        "9:name=systemd:/libpod_parent/libpod-" + ID + "|f6f6fcfc373d|false",
        "9:name=systemd:/libpod_parent/libpod-" + ID + "|" + "6f6fcfc373d8ca438362e1ac9ab39e147bde01791ee2264e8506713984ed290" + "|false",
        "9:name=systemd:/user.slice|s|false",
        "9:name=systemd:/user.slice|systemd|false",
        "0::/|0|false",
        "9:name=systemd:/user.slice/user-0.slice/session-4.scope|session-4.scope|false",
        // a bare id component outside docker/ and kubepods is not a runtime's layout
        "4:memory:/process_api/" + ID + "|" + ID + "|false",
        "4:memory:/libpod_parent/" + ID + "|" + ID + "|false",
        // another container's cgroup
        "0::/machine.slice/libpod-0" + "123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde" + ".scope|" + ID + "|false",
        // the controller list is not part of the path
        "4:libpod-" + ID + ":/|" + ID + "|false",
        // below another container's cgroup (one with a writable cgroup tree made it): that container's, not this one's
        "0::/machine.slice/libpod-" + OTHER + ".scope/libpod-" + ID + ".scope|" + ID + "|false",
        "0::/machine.slice/libpod-" + OTHER + ".scope/libpod-" + ID + ".scope|" + OTHER + "|true",
        "4:memory:/docker/" + OTHER + "/" + ID + "|" + ID + "|false",
        "4:memory:/docker/" + OTHER + "/docker/" + ID + "|" + ID + "|false",
        "0::/kubepods/burstable/pod0b7e-11/" + OTHER + "/" + ID + "|" + ID + "|false",
        "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2.slice/cri-containerd-" + OTHER
                + ".scope/crio-" + ID + ".scope|" + ID + "|false",
        "0::/machine.slice/libpod-conmon-" + OTHER + ".scope/libpod-" + ID + ".scope|" + ID + "|false",
        // an operator's slices named with a runtime's prefix hold containers, they are none
        "0::/docker.slice/docker-sandboxes.slice/docker-" + ID + ".scope|" + ID + "|true",
        "0::/machine.slice/libpod-workloads-2026.slice/libpod-" + ID + ".scope|" + ID + "|true",
    })
    void namesOnlyAWholeIdInARuntimesPathComponent(String line, String id, boolean names) {
        assertThat(CgroupMembership.names(line.replace("\\n", "\n"), id)).isEqualTo(names);
    }

    @ParameterizedTest
    @CsvSource({"s", "0", "abcdef01234", "''"})
    void idsShorterThanTwelveCharactersAreNeverAccepted(String id) {
        assertThat(CgroupMembership.acceptableId(id)).isFalse();
        assertThat(CgroupMembership.names("0::/docker/" + id + "\n0::/libpod-" + id + "\n", id)).isFalse();
    }

    @org.junit.jupiter.api.Test
    void anIdWithBytesOutsidePrintableAsciiNeverMatchesEvenWhenTheFileHasItByteForByte() {
        String id = "caf\u00e9caf\u00e9caf\u00e9";

        assertThat(CgroupMembership.names("0::/docker/" + id + "\n0::/machine.slice/libpod-" + id + ".scope\n", id)).isFalse();
    }

    @ParameterizedTest(name = "{0}: the container's cgroup is [{1}] {2}")
    @CsvSource(delimiter = '|', value = {
        "9:name=systemd:/libpod_parent/libpod-" + ID + "|name=systemd|/libpod_parent/libpod-" + ID,
        "0::/machine.slice/libpod-" + ID + ".scope/container|''|/machine.slice/libpod-" + ID + ".scope",
        "4:memory:/docker/" + ID + "/sub|memory|/docker/" + ID,
        "0::/kubepods/burstable/pod0b7e-11/" + ID + "|''|/kubepods/burstable/pod0b7e-11/" + ID,
        "0::/system.slice/docker-" + ID + ".scope/a/b|''|/system.slice/docker-" + ID + ".scope",
    })
    void theContainersCgroupIsThePathUpToTheComponentNamingTheIdWhateverSubCgroupTheProcessIsIn(
            String line, String controllers, String path) {
        assertThat(CgroupMembership.containersIn(line + "\n", ID)).containsExactly(new CgroupMembership.Match(controllers, path));
    }

    @org.junit.jupiter.api.Test
    void everyLineNamingTheContainerGivesItsCgroupInFileOrder() {
        String file = "9:name=systemd:/libpod_parent/libpod-" + ID + "\n8:pids:/\n0::/libpod_parent/libpod-" + ID + "\n";

        assertThat(CgroupMembership.containersIn(file, ID)).containsExactly(
                new CgroupMembership.Match("name=systemd", "/libpod_parent/libpod-" + ID),
                new CgroupMembership.Match("", "/libpod_parent/libpod-" + ID));
        assertThat(CgroupMembership.containersIn(file, "0".repeat(64))).isEmpty();
    }

    @ParameterizedTest(name = "{0}: another container than ID: {1}")
    @CsvSource(delimiter = '|', value = {
        "0::/machine.slice/libpod-" + ID + ".scope/container|false",
        "9:name=systemd:/libpod_parent/libpod-" + ID + "|false",
        "0::/machine.slice/libpod-" + OTHER + ".scope|true",
        "0::/machine.slice/machine-libpod_pod_" + ID + ".slice/libpod-" + OTHER + ".scope|true",
        "0::/machine.slice/libpod-" + OTHER + ".scope/libpod-" + ID + ".scope|true",
        "0::/kubepods/burstable/pod0b7e-11/" + OTHER + "|true",
        "4:memory:/docker/" + OTHER + "|true",
        "0::/user.slice/user-0.slice/session-3.scope|false",
        "0::/system.slice/netfence.service|false",
        "0::/system.slice/docker-sandboxes.slice|false",
        "0::/|false",
    })
    void aProcessOfAnotherContainerIsOneWhoseCgroupNamesAnotherContainerNotTheHostsOrThisOnes(String line, boolean other) {
        assertThat(CgroupMembership.namesAnotherContainer(line + "\n", ID)).isEqualTo(other);
    }

    @org.junit.jupiter.api.Test
    void anyLineNamingAnotherContainerMakesItAnotherContainersProcess() {
        String file = "12:pids:/machine.slice/libpod-" + ID + ".scope\n0::/machine.slice/libpod-" + OTHER + ".scope\n";

        assertThat(CgroupMembership.namesAnotherContainer(file, ID)).isTrue();
        assertThat(CgroupMembership.namesAnotherContainer("12:pids:/machine.slice/libpod-" + ID + ".scope\n", ID)).isFalse();
    }
}
