package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reconciliation reports what it repaired whichever of its attempts found it (review 57 #2): a
 * workload that removes its rules and then makes the step after the repair fail retryably must
 * still show in the outcome's {@code drift}. Against the recording fake iptables.
 */
class ReconcileRepairsTest {
    private static final NetworkPolicy POLICY = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
            + "\"allowedEndpoints\":[\"198.51.100.7:443\",\"[2001:db8::7]:443\"],"
            + "\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path proc;

    private final NamespacePinner pinner = (pid, containerId, runtime, deadline) ->
            new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), new NamespaceId(4, 4026532000L), () -> { });
    private final EndpointResolver resolver = (host, timeout) -> List.of(InetAddress.getLoopbackAddress());

    @BeforeEach
    void containerProcesses() {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS);
    }

    @Test
    void rulesRemovedFromOutsideAreReportedAsDriftWhenNothingElseGoesWrong() {
        FakeFirewall fake = new FakeFirewall();
        DefaultEnforcer enforcer = applied(fake);

        fake.builtins(List.of(), List.of(), List.of()); // the hooks into netfence's chains are gone
        EnforcementResult result = enforcer.reconcile(request());

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(result.drift()).as("%s", result).contains("ipv4: ").contains("ipv6: ");
        assertThat(fake.output("v4")).as("repaired").isNotEmpty();
    }

    @Test
    void aRepairIsStillReportedWhenTheAttemptThatMadeItFailedAfterwardsAndTheRetryFoundTheRulesEqual() {
        AtomicBoolean repairing = new AtomicBoolean();
        AtomicBoolean failedOnce = new AtomicBoolean();
        FakeFirewall fake = new FakeFirewall();
        fake.failing(call -> {
            if (call.argv().stream().anyMatch(a -> a.endsWith("-restore")) && repairing.get()) {
                repairing.set(false); // the repair's write: the read-back after it meets a contended lock, once
                failedOnce.set(true);
                return null;
            }
            if (call.argv().stream().anyMatch(a -> a.endsWith("-save")) && failedOnce.compareAndSet(true, false)) {
                return FakeFirewall.result(call, 4, "Another app is currently holding the xtables lock.");
            }
            return null;
        });
        DefaultEnforcer enforcer = applied(fake);

        fake.builtins(List.of(), List.of(), List.of());
        repairing.set(true);
        EnforcementResult result = enforcer.reconcile(request());

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.attempts()).as("the first attempt failed after its repair").isEqualTo(2);
        assertThat(result.drift()).as("what the first attempt found and repaired: %s", result).isNotNull()
                .contains("ipv4: ");
        assertThat(fake.output("v4")).as("repaired").isNotEmpty();
    }

    private DefaultEnforcer applied(FakeFirewall fake) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.AUTO)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc).build();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, fake, Clock.systemUTC(), new SimpleMeterRegistry(),
                resolver, pinner);
        EnforcementResult first = enforcer.enforce(request());
        assertThat(first.status()).as("%s", first).isEqualTo("applied");
        assertThat(first.drift()).isNull();
        return enforcer;
    }

    private static EnforcementRequest request() {
        return new EnforcementRequest("c0ffee", null, 4242, POLICY, Instant.now().plusSeconds(30));
    }
}
