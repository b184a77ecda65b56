package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The exact first line {@code netfence apply} prints for each bad option value (then the usage,
 * exit 2). Pinned byte for byte: scripts and operators match on them.
 */
class ApplyOptionsTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            --backend bogus | Invalid value for option '--backend': cannot convert 'bogus' to BackendChoice (java.lang.IllegalArgumentException: backend must be auto, nft or iptables (or iptables-nft, iptables-legacy), was: bogus)
            --iptables-backend bogus | Invalid value for option '--iptables-backend': cannot convert 'bogus' to BackendChoice (java.lang.IllegalArgumentException: iptables backend must be auto, nft or legacy, was: bogus)
            --on-failure bogus | Invalid value for option '--on-failure': cannot convert 'bogus' to OnFailure (java.lang.IllegalArgumentException: on-failure must be quarantine or leave, was: bogus)
            --deadline-seconds 0 | --deadline-seconds must be at least 1, was: 0
            --deadline-seconds x | Invalid value for option '--deadline-seconds': 'x' is not an int
            --refuse-capabilities NET_FOO | invalid value for --refuse-capabilities: must be a comma-separated list of NET_ADMIN, NET_RAW, was: NET_FOO
            --netns /tmp/x | invalid value for --netns: must be /run/netns/NAME, /var/run/netns/NAME, /run/docker/netns/NAME, /var/run/docker/netns/NAME or /proc/PID/ns/net, was: /tmp/x
            --backend nft --iptables-backend nft | --backend and --iptables-backend are the same setting: give one
            --dns-servers 1.2.3 | invalid value for --dns-servers: invalid address "1.2.3" (expected an IPv4 or IPv6 address, e.g. "10.88.0.1")
            --pid x | Invalid value for option '--pid': 'x' is not an int
            --container-id bad/id | invalid value for --container-id: must be 1-128 letters, digits, '_', '.' or '-', the first a letter or digit, was: "bad/id"
            --container-id -x | invalid value for --container-id: must be 1-128 letters, digits, '_', '.' or '-', the first a letter or digit, was: "-x"
            """)
    void aBadValueIsRefusedWithItsExactMessageAndTheUsage(String options, String message) throws Exception {
        Path policy = Files.writeString(dir.resolve("p.json"), "{\"schemaVersion\":1,\"mode\":\"none\"}");
        List<String> args = new ArrayList<>(List.of("apply", "--policy", policy.toString(), "--pid", "999999"));
        args.addAll(List.of(options.trim().split(" ")));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        int exit = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));

        assertThat(exit).isEqualTo(Main.USAGE);
        assertThat(err.toString().lines().findFirst()).hasValue(message);
        assertThat(err.toString()).contains("Usage: netfence apply");
        assertThat(out.toString()).isEmpty();
    }

    @ParameterizedTest(name = "--pid {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"0", "-5"})
    void aPidThatIsNoProcessIdIsRefusedBeforeAnythingIsTouched(String pid) throws Exception {
        Path policy = Files.writeString(dir.resolve("p.json"), "{\"schemaVersion\":1,\"mode\":\"none\"}");
        StringWriter err = new StringWriter();

        int exit = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                "apply", "--policy", policy.toString(), "--pid", pid);

        assertThat(exit).isEqualTo(Main.USAGE);
        assertThat(err.toString().lines().findFirst()).hasValue("--pid must be a process id (at least 1), was: " + pid);
    }

    @ParameterizedTest(name = "--netns {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"/run/netns/netns-c1806ba7", "/var/run/netns/x1",
            "/var/run/docker/netns/1b2c3d4e5f60", "/run/docker/netns/default", "/proc/4242/ns/net"})
    void aRuntimesNamespacePathIsTakenAsGiven(String netns) throws Exception {
        Path policy = Files.writeString(dir.resolve("p.json"), "{\"schemaVersion\":1,\"mode\":\"none\"}");
        StringWriter err = new StringWriter();

        Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                "apply", "--policy", policy.toString(), "--pid", "999999", "--netns", netns);

        assertThat(err.toString()).doesNotContain("invalid value for --netns");
    }

    @org.junit.jupiter.api.Test
    void anEmptyContainerIdIsRefusedNotPrintedIntoAnOutcomeTheSchemaForbids() throws Exception {
        Path policy = Files.writeString(dir.resolve("p.json"), "{\"schemaVersion\":1,\"mode\":\"none\"}");
        StringWriter err = new StringWriter();
        StringWriter out = new StringWriter();

        int exit = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true),
                "apply", "--policy", policy.toString(), "--pid", "999999", "--container-id", "");

        assertThat(exit).isEqualTo(Main.USAGE);
        assertThat(err.toString().lines().findFirst()).hasValue("invalid value for --container-id: must be 1-128 letters,"
                + " digits, '_', '.' or '-', the first a letter or digit, was: \"\"");
        assertThat(out.toString()).isEmpty();
    }

    @ParameterizedTest(name = "without {0}")
    @CsvSource(delimiter = '|', textBlock = """
            --policy | Missing required option: '--policy=FILE'
            --pid | Missing required option: '--pid=PID'
            """)
    void aMissingRequiredOptionIsNamed(String missing, String message) {
        List<String> args = new ArrayList<>(List.of("apply", "--policy", "p.json", "--pid", "1"));
        int at = args.indexOf(missing);
        args.remove(at + 1);
        args.remove(at);
        StringWriter err = new StringWriter();

        int exit = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                args.toArray(String[]::new));

        assertThat(exit).isEqualTo(Main.USAGE);
        assertThat(err.toString().lines().findFirst()).hasValue(message);
    }
}
