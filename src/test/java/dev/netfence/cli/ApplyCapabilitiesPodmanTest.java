package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 item 9 through the command line only, against real podman containers with the cgroup
 * check on: {@code netfence apply} names the risky capabilities the container's process holds in
 * the outcome's {@code risks}, and {@code --refuse-capabilities} quarantines such a container. It
 * reads nothing but the printed outcome and the exit code, so the same test states the contract
 * for any version of the command (on the code before issue 12 it fails: no {@code risks}, and the
 * option is unknown).
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class ApplyCapabilitiesPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void theOutcomeListsCapNetRawForAContainerHoldingItAndNothingForOneWithout() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer plain = PODMAN.sandbox();
        PodmanContainer raw = PODMAN.sandbox(List.of("--cap-add", "NET_RAW"));
        Path policy = policyAllowing(peer);

        Run safe = apply(plain, policy);
        Run risky = apply(raw, policy);

        assertThat(safe.exit).as("%s", safe).isEqualTo(Main.OK);
        assertThat(safe.outcome.path("status").asText()).isEqualTo("applied");
        assertThat(safe.outcome.path("risks").isArray()).as("%s", safe).isTrue();
        assertThat(safe.outcome.path("risks")).isEmpty();
        assertThat(risky.exit).as("%s", risky).isEqualTo(Main.OK);
        assertThat(risky.outcome.path("status").asText()).isEqualTo("applied");
        assertThat(texts(risky.outcome.path("risks"))).as("%s", risky).containsExactly("CAP_NET_RAW");
    }

    @Test
    void refusingTheCapabilityQuarantinesTheContainerThatHoldsItAndItReachesNothing() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer raw = PODMAN.sandbox(List.of("--cap-add", "NET_RAW"));
        Path policy = policyAllowing(peer);
        assertThat(raw.agent().send("tcp " + peer.ipv4() + " " + HTTP + " 2000")).as("open before").isEqualTo("OK");

        Run refused = apply(raw, policy, "--refuse-capabilities", "NET_RAW");

        assertThat(refused.exit).as("%s", refused).isEqualTo(Main.RUNTIME_FAILURE);
        assertThat(refused.outcome.path("status").asText()).isEqualTo("failed");
        assertThat(refused.outcome.path("error").path("code").asText()).isEqualTo("UNSAFE_CAPABILITIES");
        assertThat(refused.outcome.path("quarantined").asBoolean()).isTrue();
        assertThat(raw.agent().send("tcp " + peer.ipv4() + " " + HTTP + " 1500")).as("quarantined").isNotEqualTo("OK");
    }

    private Run apply(PodmanContainer container, Path policy, String... extra) {
        List<String> args = new ArrayList<>(List.of("apply", "--policy", policy.toString(),
                "--pid", Integer.toString(container.pid()), "--container-id", container.id()));
        args.addAll(List.of(extra));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
        return new Run(exit, parse(out.toString()), out.toString(), err.toString());
    }

    private static JsonNode parse(String out) {
        try {
            return out.isBlank() ? JSON.createObjectNode() : JSON.readTree(out);
        } catch (IOException e) {
            throw new AssertionError("apply printed no JSON outcome: " + out, e);
        }
    }

    private Path policyAllowing(PodmanContainer peer) throws IOException {
        Path file = dir.resolve("policy-" + peer.name() + ".json");
        Files.writeString(file, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + peer.ipv4() + ":"
                + HTTP + "/tcp\"],\"dns\":false,\"outbound\":false,\"inbound\":false}", StandardCharsets.UTF_8);
        return file;
    }

    private static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(n -> texts.add(n.asText()));
        return texts;
    }

    /** One run of the command: exit code, the printed outcome, and both streams for the failure message. */
    private record Run(int exit, JsonNode outcome, String out, String err) {
    }
}
