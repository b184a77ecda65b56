package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.enforce.DefaultEnforcer;
import dev.netfence.enforce.EnforcementRequest;
import dev.netfence.enforce.EnforcerConfig;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.PodmanContainer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;

/**
 * The production enforcer (cgroup check on) with real host guards of one mode, for container
 * tests. {@link #close()} releases every guard it installed: a kernel binds a netdev chain left
 * behind to the next interface of the same name, i.e. to the next test's container.
 */
final class GuardedEnforcer implements AutoCloseable {
    private final DefaultEnforcer enforcer;
    private final HostGuards guards;
    private final java.util.Set<String> owners = new java.util.LinkedHashSet<>();

    private GuardedEnforcer(HostGuards guards, EnforcerConfig config) {
        this.guards = guards;
        ProcessCommandRunner runner = new ProcessCommandRunner();
        this.enforcer = new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(), guards);
    }

    static GuardedEnforcer create(HostGuardMode mode) {
        return create(mode, EnforcerConfig.custom().build());
    }

    /** With {@code config} (e.g. {@code --on-failure leave}, which reads the capabilities before the claim). */
    static GuardedEnforcer create(HostGuardMode mode, EnforcerConfig config) {
        return new GuardedEnforcer(HostGuards.create(mode, new ProcessCommandRunner()), config);
    }

    HostGuards guards() {
        return guards;
    }

    /** Applies {@code policyJson} to the container and asserts it was applied. */
    EnforcementResult apply(PodmanContainer container, String policyJson) {
        EnforcementResult result = attempt(container, policyJson);
        assertThat(result.status()).as("%s", result).isEqualTo(EnforcementResult.APPLIED);
        return result;
    }

    /** As {@link #apply}, whatever the result. */
    EnforcementResult attempt(PodmanContainer container, String policyJson) {
        owners.add(container.id());
        return enforcer.enforce(new EnforcementRequest(container.id(), "podman", container.pid(),
                new PolicyParser().parse(policyJson.getBytes(StandardCharsets.UTF_8)),
                Clock.systemUTC().instant().plus(Duration.ofSeconds(60))));
    }

    /** Reads back and repairs as a resync does ({@code reconcile}) and asserts the result is applied. */
    EnforcementResult reconcile(PodmanContainer container, String policyJson) {
        EnforcementResult result = resync(container, policyJson, Duration.ofSeconds(60));
        assertThat(result.status()).as("%s", result).isEqualTo(EnforcementResult.APPLIED);
        return result;
    }

    /** Reads back and repairs as a resync does, within {@code budget}, whatever the result. */
    EnforcementResult resync(PodmanContainer container, String policyJson, Duration budget) {
        owners.add(container.id());
        return enforcer.reconcile(new EnforcementRequest(container.id(), "podman", container.pid(),
                new PolicyParser().parse(policyJson.getBytes(StandardCharsets.UTF_8)),
                Clock.systemUTC().instant().plus(budget)));
    }

    /**
     * As {@code netfence run}'s resync of a container whose pid it found in the namespace its
     * last result names: answered without a pin when nothing the full attempt depends on changed.
     */
    EnforcementResult resyncIn(PodmanContainer container, String policyJson, EnforcementResult last) {
        owners.add(container.id());
        return enforcer.reconcile(new EnforcementRequest(container.id(), "podman", container.pid(),
                new PolicyParser().parse(policyJson.getBytes(StandardCharsets.UTF_8)),
                Clock.systemUTC().instant().plus(Duration.ofSeconds(60))),
                new dev.netfence.netns.NamespaceId(last.target().netnsDevice(), last.target().netnsInode()));
    }

    /** As the OCI hook's call for {@code joiner}, which joined the namespace {@code member}'s {@code last} result names. */
    void joined(PodmanContainer joiner, EnforcementResult last) {
        enforcer.joined(joiner.id(), joiner.pid(),
                new dev.netfence.netns.NamespaceId(last.target().netnsDevice(), last.target().netnsInode()));
    }

    /** Fails the container closed, as a missing policy does, and asserts it was quarantined. */
    EnforcementResult quarantine(PodmanContainer container) {
        EnforcementResult result = failClosed(container);
        assertThat(result.quarantined()).as("%s", result).isTrue();
        return result;
    }

    /** Fails the container closed, as a missing policy does, whether or not its quarantine could be written. */
    EnforcementResult failClosed(PodmanContainer container) {
        owners.add(container.id());
        return enforcer.failClosed(container.id(), "podman", container.pid(), ErrorCode.POLICY_NOT_FOUND,
                "test: quarantine");
    }

    @Override
    public void close() {
        owners.forEach(guards::release);
    }
}
