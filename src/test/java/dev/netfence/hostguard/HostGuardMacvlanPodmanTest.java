package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A macvlan child of a podman container's {@code eth0}, made while the workload held CAP_NET_ADMIN
 * and moved into a namespace of its own (done here from the test, as that workload would have):
 * what that namespace sends is handed to {@code eth0} as a frame, past every IP hook of the
 * container's namespace, so netfence's rules there (output, input, forward) never see it. With the
 * host guard it goes nowhere (its source MAC is not the container's, which the guard's binding
 * drops); without it, it reaches the port the policy forbids under an {@code applied} outcome,
 * which is what README "What it does not protect against" says and what shows this proof can fail.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardMacvlanPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int ALLOWED = 8080;
    private static final int FORBIDDEN = 8081;
    private static final String PROBE = "import socket, sys\n"
            + "try:\n"
            + "    socket.create_connection((sys.argv[1], int(sys.argv[2])), 1.5).close(); print('OK')\n"
            + "except socket.timeout:\n"
            + "    print('TIMEOUT')\n"
            + "except OSError as e:\n"
            + "    print('FAILED', e)\n";

    static PodmanContainer peer;
    private GuardedEnforcer enforcer;
    private String other;

    @BeforeAll
    static void startPeer() throws java.io.IOException {
        peer = PODMAN.peer(ALLOWED);
        Agent agent = peer.agent();
        assertThat(agent.send("listen tcp " + FORBIDDEN)).startsWith("OK");
    }

    @AfterEach
    void removeTheOtherNamespaceAndGuards() {
        if (other != null) {
            Sh.run("ip", "netns", "delete", other); // the macvlan goes with it
        }
        if (enforcer != null) {
            enforcer.close();
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aMacvlanOfTheContainersEth0InANamespaceOfItsOwnIsHeldOnlyByTheHostGuard(HostGuardMode mode) {
        PodmanContainer sandbox = PODMAN.sandbox();
        byte[] random = new SecureRandom().generateSeed(4);
        String id = HexFormat.of().formatHex(random);
        other = "nfm-" + id;
        String pid = Integer.toString(sandbox.pid());
        Sh.ok("ip", "netns", "add", other);
        // the workload's part, while it held CAP_NET_ADMIN: a macvlan of eth0, moved out, an address on the bridge
        Sh.ok("nsenter", "-t", pid, "-n", "ip", "link", "add", "nfm" + id, "link", "eth0", "type", "macvlan", "mode", "bridge");
        Sh.ok("nsenter", "-t", pid, "-n", "ip", "link", "set", "nfm" + id, "netns", "/run/netns/" + other);
        String address = "10.88.250." + (2 + Byte.toUnsignedInt(random[0]) % 250);
        Sh.ok("ip", "-n", other, "addr", "add", address + "/16", "dev", "nfm" + id);
        Sh.ok("ip", "-n", other, "link", "set", "nfm" + id, "up");

        var container = List.of("nsenter", "-t", pid, "-n");
        var macvlan = List.of("ip", "netns", "exec", other);
        assertThat(probe(macvlan, FORBIDDEN)).as("the macvlan reaches the peer before any rule").isEqualTo("OK");

        enforcer = GuardedEnforcer.create(mode);
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + peer.ipv4() + ":" + ALLOWED
                + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        var result = enforcer.apply(sandbox, policy);
        assertThat(result.risks()).as("the capability was dropped before the apply (the test holds it here)").isEmpty();
        assertThat(probe(container, FORBIDDEN)).as("the container's own forbidden connection")
                .isNotEqualTo("OK");
        assertThat(probe(container, ALLOWED)).as("the container's own allowed one").isEqualTo("OK");

        if (mode == HostGuardMode.AUTO) {
            assertThat(probe(macvlan, FORBIDDEN)).as("forbidden port, from the macvlan, at the guard")
                    .isEqualTo("TIMEOUT");
            assertThat(probe(macvlan, ALLOWED)).as("not the container's source MAC: nothing passes")
                    .isEqualTo("TIMEOUT");
        } else {
            assertThat(probe(macvlan, FORBIDDEN))
                    .as("without the guard, a macvlan's frames meet no rule of netfence's").isEqualTo("OK");
        }
    }

    private String probe(List<String> enter, int port) {
        List<String> argv = new ArrayList<>(enter);
        argv.addAll(List.of(Python.EXE, "-c", PROBE, peer.ipv4(), Integer.toString(port)));
        return Sh.ok(argv.toArray(String[]::new)).trim();
    }
}
