package dev.netfence.enforce;

import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.Streams;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;

/**
 * What the podman tests of the enforcer share: an enforcer of a backend with the cgroup check on
 * and short back-offs, a request for a real container (its id, pid and the runtime's sandbox
 * path), and a policy that allows only some ports of a peer container.
 */
final class PodmanEnforcement {
    private PodmanEnforcement() {}

    static DefaultEnforcer enforcer(BackendChoice backend) {
        return new DefaultEnforcer(config(backend), new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
    }

    static EnforcerConfig config(BackendChoice backend) {
        return EnforcerConfig.custom().backend(backend).cgroupCheck(true)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
    }

    static EnforcementRequest request(PodmanContainer c, NetworkPolicy policy) {
        return new EnforcementRequest(c.id(), "podman", c.pid(), c.sandboxKey(), policy,
                Clock.systemUTC().instant().plusSeconds(30));
    }

    static NetworkPolicy allowing(PodmanContainer peer, String... ports) {
        return Streams.allowingOnly(peer.ipv4(), ports);
    }
}
