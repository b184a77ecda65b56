package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host names netfence labels output with and defaults node ids to. */
class HostNameTest {
    @TempDir
    Path dir;

    @Test
    void theNodeIdDefaultTakesHostnameFirstAndTrimmed() throws Exception {
        Path kernel = Files.writeString(dir.resolve("hostname"), "kernel-name\n", StandardCharsets.UTF_8);
        assertThat(HostName.knownNodeId(kernel, " node-7\n")).isEqualTo("node-7");
    }

    @Test
    void withoutHostnameTheNodeIdDefaultIsTheKernelsHostNameWithoutAskingTheResolver() throws Exception {
        Path kernel = Files.writeString(dir.resolve("hostname"), "unresolvable-node\n", StandardCharsets.UTF_8);
        assertThat(HostName.knownNodeId(kernel, null)).isEqualTo("unresolvable-node");
        assertThat(HostName.knownNodeId(kernel, "  ")).isEqualTo("unresolvable-node");
    }

    @Test
    void aKernelHostNameThatWasNeverSetIsNoName() throws Exception {
        Path kernel = Files.writeString(dir.resolve("hostname"), "(none)\n", StandardCharsets.UTF_8);
        assertThat(HostName.knownNodeId(kernel, null)).isEqualTo(HostName.knownNodeId(dir.resolve("absent"), null));
    }

    @Test
    void withNeitherTheNodeIdDefaultIsWhatTheResolverSaysAndNeverLocalhostByGuess() {
        String resolved;
        try {
            resolved = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            resolved = null;
        }
        assertThat(HostName.knownNodeId(dir.resolve("absent"), null)).isEqualTo(resolved);
        assertThat(HostName.knownNodeId(Path.of("/proc/sys/kernel/hostname"), null)).as("this Linux host")
                .isNotBlank();
    }

    @Test
    void theOutputLabelPrefersTheKernelsHostNameThenHostname() throws Exception {
        Path kernel = Files.writeString(dir.resolve("hostname"), "kernel-name\n", StandardCharsets.UTF_8);
        assertThat(HostName.orFallback(kernel, "env-name")).isEqualTo("kernel-name");
        assertThat(HostName.orFallback(dir.resolve("absent"), " env-name ")).isEqualTo("env-name");
        assertThat(HostName.orFallback(dir.resolve("absent"), null)).isNotBlank();
    }
}
