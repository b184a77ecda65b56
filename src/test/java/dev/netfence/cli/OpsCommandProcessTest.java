package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Runs an ops command as its own JVM with the shipped logging configuration, the way an operator
 * does, to check what actually reaches the terminal.
 */
class OpsCommandProcessTest {

    @Test
    void anUnreachableBrokerGivesExitThreeAndExactlyOneLineOnStderr() throws Exception {
        Result result = run("policy", "list", "--bootstrap-servers", "127.0.0.1:1", "--timeout", "2s");

        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.stdout()).isEmpty();
        assertThat(result.stderr().lines().toList()).containsExactly(
                "netfence policy list: error: Kafka at 127.0.0.1:1 did not answer within 2s "
                        + "(Timeout expired while fetching topic metadata)");
    }

    @Test
    void verboseKeepsTheKafkaClientWarningsAndPrintsTheException() throws Exception {
        Result result = run("policy", "list", "--bootstrap-servers", "127.0.0.1:1", "--timeout", "2s", "--verbose");

        assertThat(result.exitCode()).isEqualTo(3);
        // Kafka's ApiExceptions carry no stack frames; the exception line itself is the detail
        assertThat(result.stderr()).contains("WARN", "org.apache.kafka.common.errors.TimeoutException: Timeout expired");
    }

    private record Result(int exitCode, String stdout, String stderr) {
    }

    private static Result run(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", mainClassPath(),
                "dev.netfence.cli.Main"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
        process.getOutputStream().close();
        // stderr is small here; read it on another thread so neither pipe can fill up
        var stderr = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(process.waitFor(), stdout, stderr.get());
    }

    /** Without test classes, so the shipped logback.xml applies rather than logback-test.xml. */
    private static String mainClassPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.endsWith("test-classes"))
                .collect(Collectors.joining(File.pathSeparator));
    }
}
