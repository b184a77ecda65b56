package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Docker's embedded resolver, as the daemon sets it up, in a real podman container with the
 * cgroup check on: the test plays the daemon (a socket on 127.0.0.11 opened from outside the
 * container in its network namespace, and the NAT rule there that sends 127.0.0.11:53 on to it)
 * and the workload is the container's own busybox {@code nslookup}. With {@code dns} off, or
 * with only another resolver trusted, the daemon's socket never sees a query (before the
 * twenty-seventh session it did: the loopback accept let it through); trusted, it does.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class LoopbackResolverPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final String RESOLVER = "127.0.0.11";
    private static final int DAEMON_PORT = 8053;

    @Test
    void theContainersLookupsReachTheDaemonsLoopbackResolverOnlyWhenItIsTrusted() throws Exception {
        PodmanContainer sandbox = PODMAN.sandbox();
        String pid = Integer.toString(sandbox.pid());
        // the daemon's side: its socket is bound to 127.0.0.11 (the agent binds to the addresses it
        // finds, so the address goes on lo, where 127.0.0.0/8 is local anyway) and its NAT rule
        Sh.ok("nsenter", "-t", pid, "-n", "ip", "addr", "add", RESOLVER + "/32", "dev", "lo");
        Sh.ok("nsenter", "-t", pid, "-n", "iptables-nft", "-t", "nat", "-A", "OUTPUT", "-d", RESOLVER + "/32", "-p", "udp",
                "--dport", "53", "-j", "DNAT", "--to-destination", RESOLVER + ":" + DAEMON_PORT);
        Agent daemon = sandbox.agent();
        assertThat(daemon.send("listen udp " + DAEMON_PORT)).isEqualTo("OK");
        lookUp(sandbox);
        int before = seen(daemon);
        assertThat(before).as("without rules the container's lookup reaches the daemon's socket").isPositive();

        EnforcementResult off = apply(sandbox, false, List.of(InetAddress.getByName(RESOLVER)));
        assertThat(off.status()).as("%s", off).isEqualTo("applied");
        lookUp(sandbox);
        assertThat(seen(daemon)).as("dns off").isEqualTo(before);

        EnforcementResult other = apply(sandbox, true, List.of(InetAddress.getByName(sandbox.gateway())));
        assertThat(other.status()).as("%s", other).isEqualTo("applied");
        lookUp(sandbox);
        assertThat(seen(daemon)).as("another resolver trusted").isEqualTo(before);

        EnforcementResult trusted = apply(sandbox, true, List.of(InetAddress.getByName(RESOLVER)));
        assertThat(trusted.status()).as("%s", trusted).isEqualTo("applied");
        lookUp(sandbox);
        assertThat(seen(daemon)).as("trusted").isGreaterThan(before);
    }

    /** The workload: one name lookup through 127.0.0.11, given up after two seconds (its answer does not matter). */
    private static void lookUp(PodmanContainer sandbox) {
        sandbox.exec("timeout", "2", "nslookup", "api.example.test", RESOLVER);
    }

    /** How many datagrams the daemon's socket has received. */
    private static int seen(Agent daemon) throws Exception {
        String seen = daemon.send("seen " + DAEMON_PORT);
        return seen.equals("NONE") ? 0 : seen.split(" ").length;
    }

    /** A policy allowing one unrelated endpoint, outbound and inbound off, with dns as given. */
    private static EnforcementResult apply(PodmanContainer sandbox, boolean dns, List<InetAddress> nodeResolvers) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.AUTO).cgroupCheck(true)
                .dnsServers(nodeResolvers).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        ProcessCommandRunner runner = new ProcessCommandRunner();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                (hostname, timeout) -> List.of(), new ProcNamespacePinner(new ContainerPidLookup(runner, Clock.systemUTC()),
                        config.procRoot(), config.cgroupCheck()));
        var policy = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                + "[\"198.51.100.7:443\"],\"dns\":" + dns + ",\"outbound\":false,\"inbound\":false}")
                .getBytes(StandardCharsets.UTF_8));
        return enforcer.enforce(new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(), policy,
                Clock.systemUTC().instant().plusSeconds(30)));
    }
}
