package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Review 57 #1 on the real kernel: while a policy's hostname does not resolve (a tenant's own zone
 * answering NXDOMAIN), a resync still reads the rules back and puts back what was removed from
 * outside, planning with the answers they were last verified with. Before, every such resync failed
 * RESOLUTION_FAILED before the read-back, and the "container" kept reaching a host its policy
 * forbids. Real connections between the test's own namespaces, both backends.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class ResolutionFailureResyncKernelTest {
    @Parameter
    String backend;

    private static final int PORT = 8021;
    private static final String NAME = "api.tenant.test";

    private static SandboxNet net;
    private final AtomicBoolean nxdomain = new AtomicBoolean();

    @BeforeAll
    static void createSandbox() throws Exception {
        net = SandboxNet.create();
        net.peerListens(PORT);
    }

    @AfterAll
    static void removeSandbox() {
        if (net != null) {
            net.close();
        }
    }

    @BeforeEach
    void resetRules() {
        net.resetRules();
    }

    @Test
    void aResyncWhileTheHostnameDoesNotResolvePutsBackRulesRemovedFromOutside() throws Exception {
        DefaultEnforcer enforcer = enforcer();
        EnforcementResult first = enforcer.enforce(request(Map.of()));
        assertThat(first.status()).as("%s", first).isEqualTo("applied");
        assertThat(net.containerTcp(net.peerV4(), PORT)).isEqualTo("OK");
        assertThat(net.containerTcp(net.otherHostV4(), PORT)).isEqualTo("REFUSED");

        nxdomain.set(true);
        // what a workload holding CAP_NET_ADMIN, or another agent on the node, can do
        Sh.ok("ip", "netns", "exec", net.containerNs(), "nft", "flush", "ruleset");
        assertThat(net.containerTcp(net.otherHostV4(), PORT)).as("the rules are gone").isEqualTo("OK");

        EnforcementResult resync = enforcer.reconcile(request(first.resolved()));

        assertThat(resync.status()).as("%s", resync).isEqualTo("applied");
        assertThat(resync.drift()).as("reported as drift: %s", resync).isNotNull();
        assertThat(resync.warnings()).singleElement().asString().startsWith("allowedEndpoints: " + NAME
                + " did not resolve at this resync");
        assertThat(net.containerTcp(net.otherHostV4(), PORT)).as("closed again").isEqualTo("REFUSED");
        assertThat(net.containerTcp(net.peerV4(), PORT)).as("the name's last address still allowed").isEqualTo("OK");
    }

    private DefaultEnforcer enforcer() throws Exception {
        InetAddress peer = InetAddress.getByName(net.peerV4()); // a literal: no lookup
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.parse(backend))
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        return new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(), (hostname, timeout) -> {
            if (nxdomain.get()) {
                throw new EnforcementException(ErrorCode.RESOLUTION_FAILED, hostname + ": NXDOMAIN");
            }
            return List.of(peer);
        }, new ProcNamespacePinner(new ContainerPidLookup(runner, Clock.systemUTC()), config.procRoot(),
                config.cgroupCheck()));
    }

    private EnforcementRequest request(Map<String, List<String>> last) {
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + NAME + ":" + PORT
                + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        return new EnforcementRequest(null, null, net.containerPid(), null, SandboxEnforcement.policy(policy),
                Clock.systemUTC().instant().plusSeconds(20), null, last);
    }
}
