package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.event.DocumentSchema;
import dev.netfence.event.OutcomeCodec;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exit codes and output of plan, validate and apply, run in-process. */
class MainTest {
    private static final String POLICY = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
            + "[\"198.51.100.7:443\",\"[2001:db8::7]:443\",\"pypi.internal:443\"],\"dns\":true,\"outbound\":false,"
            + "\"inbound\":false}";

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return Main.execute(new PrintWriter(out), new PrintWriter(err), args);
    }

    private Path file(String name, String content) throws Exception {
        return Files.writeString(dir.resolve(name), content);
    }

    @Test
    void validateAcceptsAValidPolicyWithExitZero() throws Exception {
        assertThat(run("validate", "--policy", file("p.json", POLICY).toString())).isZero();
    }

    @Test
    void validateNotesAnOutboundTheEndpointsTurnedOnAndStillSaysValid() throws Exception {
        int code = run("validate", "--policy", file("p.json", "{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"198.51.100.7:443\"]}").toString());

        assertThat(code).isZero();
        assertThat(out.toString()).isEqualTo("valid" + System.lineSeparator());
        assertThat(err.toString()).isEqualTo("note: " + dev.netfence.policy.PolicyParser.DERIVED_OUTBOUND_NOTE
                + System.lineSeparator());
    }

    @Test
    void validateRejectsHostModeWithExitOneAndAReasonPerLine() throws Exception {
        int code = run("validate", "--policy", file("p.json", "{\"schemaVersion\":1,\"mode\":\"host\"}").toString());

        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("host").endsWith(System.lineSeparator());
    }

    @Test
    void aMissingPolicyFileIsInvalidInput() {
        assertThat(run("validate", "--policy", dir.resolve("nope.json").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("cannot read");
    }

    @Test
    void noSubcommandOrAnUnknownOptionIsAUsageError() {
        assertThat(run()).isEqualTo(2);
        assertThat(run("apply", "--bogus")).isEqualTo(2);
        assertThat(run("apply", "--policy", "x", "--pid", "12", "--iptables-backend", "iptables")).isEqualTo(2);
    }

    @Test
    void aBadDurationOfAnOpsCommandIsAUsageErrorNamingTheOptionAndTheForms() {
        assertThat(run("outcomes", "--timeout", "x")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--timeout': "
                + "'x' is not a duration (500ms, 30s, 5m, 1h, PT30S)" + System.lineSeparator() + "Usage: netfence outcomes ");
    }

    @Test
    void aNonPositiveDurationOfAnOpsCommandIsAUsageError() {
        assertThat(run("outcomes", "--follow", "--wait", "0s")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--wait': "
                + "'0s' must be a positive duration" + System.lineSeparator());
    }

    @Test
    void planPrintsBothFamiliesAndListsUnresolvedHostnames() throws Exception {
        int code = run("plan", "--policy", file("p.json", POLICY).toString(), "--dns-servers", "198.51.100.53",
                "--backend", "iptables");

        String text = out.toString();
        assertThat(code).isZero();
        assertThat(text).doesNotContain("table inet netfence");
        assertThat(text).contains("# unresolved hostname endpoint, not rendered (use --resolve): pypi.internal:443");
        assertThat(text.indexOf("# ipv4")).isGreaterThanOrEqualTo(0).isLessThan(text.indexOf("# ipv6"));
        assertThat(text).contains("-A NETFENCE-OUT -d 198.51.100.7/32 -p tcp -m tcp --dport 443")
                .contains("-A NETFENCE-OUT -d 2001:db8::7/128 -p tcp -m tcp --dport 443")
                .contains("-A NETFENCE-OUT -d 198.51.100.53/32 -p udp -m udp --dport 53")
                .contains("-I OUTPUT 1 -j NETFENCE-OUT");
        assertThat(text.indexOf("# host guard")).isGreaterThan(text.indexOf("# ipv6"));
        assertThat(text).contains("\tchain HOST-VETH {\n")
                .contains("type filter hook ingress device \"HOST-VETH\" priority -500; policy drop;")
                .contains("ip daddr 198.51.100.7 tcp dport 443 accept")
                .contains("ip6 daddr 2001:db8::7 tcp dport 443 accept")
                .contains("ip daddr 198.51.100.53 udp dport 53 accept");
    }

    @Test
    void planPrintsTheNftTransactionByDefaultWhereNftablesIsUsableAndForBackendNft() throws Exception {
        String policy = file("p.json", POLICY).toString();
        for (String[] args : List.of(new String[] {"plan", "--policy", policy, "--dns-servers", "198.51.100.53"},
                new String[] {"plan", "--policy", policy, "--dns-servers", "198.51.100.53", "--backend", "nft"})) {
            out.getBuffer().setLength(0);
            assertThat(run(args)).isZero();
            String text = out.toString();
            assertThat(text).startsWith("# unresolved hostname endpoint, not rendered (use --resolve): pypi.internal:443\n"
                    + "# backend nft: one transaction replacing table inet netfence in the container's namespace\n"
                    + "table inet netfence\ndelete table inet netfence\ntable inet netfence {\n");
            assertThat(text).contains("\t\tip daddr 198.51.100.7 tcp dport 443 accept")
                    .contains("\t\tip6 daddr 2001:db8::7 tcp dport 443 accept")
                    .contains("ip daddr 198.51.100.53 udp dport 53 accept")
                    .doesNotContain("-A NETFENCE-OUT");
            assertThat(text.indexOf("# host guard")).isGreaterThan(text.indexOf("table inet netfence {"));
            assertThat(text).contains("type filter hook ingress device \"HOST-VETH\" priority -500; policy drop;");
        }
    }

    @Test
    void planWithResolveNamesAHostnameItCannotResolveInOneLineAndExitsThree() throws Exception {
        int code = run("plan", "--policy", file("p.json", "{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"no-such-host.invalid:443\"],\"outbound\":false}").toString(), "--resolve");

        assertThat(code).isEqualTo(Main.RUNTIME_FAILURE);
        assertThat(err.toString().lines().toList()).hasSize(1).first().asString()
                .startsWith("netfence plan: cannot resolve no-such-host.invalid: ").doesNotContain("Exception");
    }

    @Test
    void planWithoutATrustedResolverPrintsNoDnsRuleAndTheWarning() throws Exception {
        int code = run("plan", "--policy", file("p.json", POLICY).toString(), "--backend", "iptables");

        assertThat(code).isZero();
        assertThat(out.toString()).doesNotContain("--dport 53")
                .contains("# warning: " + dev.netfence.rules.RulePlanner.NO_RESOLVER_WARNING);
    }

    @Test
    void planNotesAnOutboundTheEndpointsTurnedOnWithoutThePolicySayingSo() throws Exception {
        int code = run("plan", "--policy", file("p.json", "{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"198.51.100.7:443\"]}").toString(), "--backend", "iptables");

        assertThat(code).isZero();
        assertThat(out.toString()).contains("# note: " + dev.netfence.policy.PolicyParser.DERIVED_OUTBOUND_NOTE);
        out.getBuffer().setLength(0);
        assertThat(run("plan", "--policy", file("q.json", POLICY).toString(), "--backend", "iptables")).isZero();
        assertThat(out.toString()).as("outbound written").doesNotContain("# note:");
    }

    @Test
    void aDnsServerThatIsNotAnAddressIsAUsageError() throws Exception {
        assertThat(run("plan", "--policy", file("p.json", POLICY).toString(), "--dns-servers", "10.88.0.1,resolver.example"))
                .isEqualTo(2);
        assertThat(err.toString()).contains("invalid value for --dns-servers: invalid address \"resolver.example\""
                + " (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")");
    }

    @Test
    void applyToAnInvalidPolicyExitsOne() throws Exception {
        assertThat(run("apply", "--policy", file("p.json", "{\"mode\":\"host\"}").toString(), "--pid", "4242"))
                .isEqualTo(1);
    }

    @Test
    void applyToAPidThatDoesNotExistPrintsASkippedOutcomeAndExitsThree() throws Exception {
        dev.netfence.testkit.KernelTests.requirePinPrivileges();
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();

        int code = run("apply", "--policy", file("p.json", POLICY.replace(",\"pypi.internal:443\"", "")).toString(),
                "--pid", Long.toString(gone.pid()));

        JsonNode outcome = new ObjectMapper().readTree(out.toString());
        assertThat(code).isEqualTo(3);
        assertThat(outcome.get("status").asText()).isEqualTo("skipped");
        assertThat(outcome.get("error").get("code").asText()).isEqualTo("CONTAINER_NOT_FOUND");
        assertThat(outcome.get("policyDigest").asText()).startsWith("sha256:");
        assertThat(outcome.get("attempts").asInt()).isEqualTo(1);
        assertThat(outcome.get("quarantined").asBoolean()).isFalse();
        assertThat(outcome.get("containerId").asText()).isEqualTo("pid-" + gone.pid());
        assertThat(DocumentSchema.load("outcome.v1.json").validate(outcome)).as("an outcome v1 document").isEmpty();
        assertThat(new OutcomeCodec().decode(out.toString().getBytes(StandardCharsets.UTF_8)).status())
                .isEqualTo("skipped");
    }
}
