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
    void theNodeIdDefaultTakesHostnameFirstAndTrimmed() {
        assertThat(HostName.defaultNodeId(" node-7\n")).isEqualTo("node-7");
    }

    @Test
    void withoutHostnameTheNodeIdDefaultIsStillANameNeverBlank() {
        assertThat(HostName.defaultNodeId(null)).isNotBlank();
        assertThat(HostName.defaultNodeId("  ")).isNotBlank().isEqualTo(HostName.defaultNodeId(null));
    }

    @Test
    void aKnownNodeIdIsHostnameFirstAndTheDefaultAddsOnlyTheLastResort() {
        assertThat(HostName.knownNodeId(" node-7 ")).isEqualTo("node-7");
        String known = HostName.knownNodeId(null);
        assertThat(HostName.defaultNodeId(null)).isEqualTo(known != null ? known : "localhost");
    }

    @Test
    void theOutputLabelPrefersTheKernelsHostNameThenHostname() throws Exception {
        Path kernel = Files.writeString(dir.resolve("hostname"), "kernel-name\n", StandardCharsets.UTF_8);
        assertThat(HostName.orFallback(kernel, "env-name")).isEqualTo("kernel-name");
        assertThat(HostName.orFallback(dir.resolve("absent"), " env-name ")).isEqualTo("env-name");
        assertThat(HostName.orFallback(dir.resolve("absent"), null)).isNotBlank();
    }
}
