package dev.netfence.enforce;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.SandboxNet;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One apply into a {@link SandboxNet}'s "container" the way the kernel tests of holes a workload
 * could open need it: a real enforcer on the given {@code --backend}, the node trusting the given
 * resolvers, hostnames resolving as a test says (no DNS lookup), short backoffs, a 20 s deadline.
 */
final class SandboxEnforcement {
    private SandboxEnforcement() {}

    static NetworkPolicy policy(String json) {
        return new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
    }

    static EnforcementResult enforce(SandboxNet net, String backend, NetworkPolicy policy, List<InetAddress> dnsServers,
            Map<String, List<InetAddress>> dns) {
        return enforce(net.containerPid(), backend, policy, dnsServers, dns);
    }

    /** As above, into the namespace of process {@code pid}. */
    static EnforcementResult enforce(int pid, String backend, NetworkPolicy policy, List<InetAddress> dnsServers,
            Map<String, List<InetAddress>> dns) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.parse(backend)).dnsServers(dnsServers)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                (hostname, timeout) -> dns.get(hostname), new ProcNamespacePinner(
                        new ContainerPidLookup(runner, Clock.systemUTC()), config.procRoot(), config.cgroupCheck()));
        return enforcer.enforce(new EnforcementRequest(null, null, pid, policy,
                Clock.systemUTC().instant().plusSeconds(20)));
    }
    /**
     * One apply of {@code policyJson} into a real podman container, as the podman tests of holes need
     * it: the default backend, the cgroup check on, short backoffs, a 30 s deadline.
     */
    static EnforcementResult enforce(dev.netfence.testkit.PodmanContainer sandbox, String policyJson) {
        EnforcerConfig config = EnforcerConfig.custom().cgroupCheck(true)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(),
                new SimpleMeterRegistry());
        return enforcer.enforce(new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(), sandbox.sandboxKey(),
                policy(policyJson), Clock.systemUTC().instant().plusSeconds(30)));
    }
}
