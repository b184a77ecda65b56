package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which event paths name a container's namespace by themselves (a runtime's bind mount) and which only follow a process. */
class NamespacePinnerTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "/run/netns/netns-1a2b, true",
        "/var/run/netns/cni-1234, true",
        "/run/docker/netns/4f0c1e, true",
        "/var/run/docker/netns/4f0c1e, true",
        "/proc/4242/ns/net, false",
        "/proc/1/ns/net, false",
    })
    void onlyARuntimesBindMountProvesTheNamespaceIsTheContainers(String path, boolean proves) {
        assertThat(NamespacePinner.isRuntimeBind(Path.of(path))).isEqualTo(proves);
    }

    @org.junit.jupiter.api.Test
    void noPathProvesNothing() {
        assertThat(NamespacePinner.isRuntimeBind(null)).isFalse();
    }
}
