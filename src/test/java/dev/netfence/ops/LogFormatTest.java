package dev.netfence.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.testkit.RunsAlone;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

@RunsAlone
class LogFormatTest {

    @AfterEach
    void restoreTextLogs() {
        LogFormat.TEXT.configure();
        System.clearProperty(LogFormat.PROPERTY);
    }

    @Test
    void jsonFormatWritesOneJsonObjectPerLineToStderr() throws Exception {
        LogFormat.JSON.configure();

        String written = captureStderr(() -> LoggerFactory.getLogger("dev.netfence.test").info("applied {} rules", 17));

        String[] lines = written.strip().split("\n");
        assertThat(lines).hasSize(1);
        JsonNode line = new ObjectMapper().readTree(lines[0]);
        assertThat(line.path("level").asText()).isEqualTo("INFO");
        assertThat(line.path("loggerName").asText()).isEqualTo("dev.netfence.test");
        assertThat(line.path("formattedMessage").asText()).isEqualTo("applied 17 rules");
        assertThat(line.has("timestamp")).isTrue();
    }

    @Test
    void textFormatWritesAReadableLineWithLevelLoggerAndMessage() {
        LogFormat.TEXT.configure();

        String written = captureStderr(() -> LoggerFactory.getLogger("dev.netfence.test").warn("lock contended"));

        assertThat(written).matches("(?s)\\d{4}-\\d\\d-\\d\\dT\\S+ WARN  \\[[^]]+] dev\\.netfence\\.test - lock contended\\R");
    }

    @Test
    void parseAcceptsTextAndJsonInAnyCaseAndRejectsOthersWithAnExactMessage() {
        assertThat(LogFormat.parse("JSON")).isEqualTo(LogFormat.JSON);
        assertThat(LogFormat.parse("text")).isEqualTo(LogFormat.TEXT);
        assertThatThrownBy(() -> LogFormat.parse("xml"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("log format must be text or json, was 'xml'");
    }

    @Test
    void aCommandThatLogsKeepsStdoutToItsOwnOutputInBothFormats() throws Exception {
        dev.netfence.testkit.KernelTests.requirePinPrivileges(); // it runs netfence apply
        java.nio.file.Path policy = java.nio.file.Files.createTempFile("policy", ".json");
        java.nio.file.Files.writeString(policy, "{\"schemaVersion\": 1, \"preset\": \"default\"}");
        for (String format : new String[] {"text", "json"}) {
            ProcessBuilder builder = new ProcessBuilder(
                    java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", mainClassPath(), "dev.netfence.cli.Main",
                    "apply", "--policy", policy.toString(), "--pid", "999999");
            builder.environment().put("NETFENCE_LOG_FORMAT", format);
            Process process = builder.start();
            byte[] stdout = process.getInputStream().readAllBytes();
            String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor();

            JsonNode outcome = new ObjectMapper().readTree(stdout); // the whole stdout is one JSON document
            assertThat(outcome.path("status").asText()).as(format).isEqualTo("skipped");
            assertThat(stderr).as(format).contains("CONTAINER_NOT_FOUND").doesNotContain("|-INFO in ch.qos.logback");
            if (format.equals("json")) {
                assertThat(new ObjectMapper().readTree(stderr.lines().filter(l -> l.startsWith("{")).findFirst()
                        .orElseThrow()).path("level").asText()).isEqualTo("WARN");
            }
        }
        java.nio.file.Files.delete(policy);
    }

    /** The classpath without test classes, so the shipped logback.xml applies, not logback-test.xml. */
    private static String mainClassPath() {
        return java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(entry -> !entry.endsWith("test-classes"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    private static String captureStderr(Runnable action) {
        PrintStream original = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }
}
