package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.hostguard.HostTable;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A container whose quarantine cannot be written inside its namespace (a workload holding
 * CAP_NET_ADMIN that keeps its ruleset changing fails every read-back) still gets the quarantine
 * on its host side: the host guard is the one part of its containment the workload cannot touch.
 */
class QuarantineHostSideTest {
    private static final NetworkPolicy POLICY = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
            + "\"allowedEndpoints\":[\"198.51.100.7:443\"],\"dns\":false,\"outbound\":false,\"inbound\":false}")
            .getBytes(StandardCharsets.UTF_8));
    private static final String PIN = "/proc/1000/fd/9";

    @TempDir
    Path proc;

    /** The namespace both containers' processes are in (their {@code ns/net} links point at the test's own). */
    private NamespaceId shared;
    private final NamespacePinner pinner = (pid, containerId, runtime, deadline) ->
            new PinnedNamespace(pid, Path.of(PIN), shared, () -> { });
    private final EndpointResolver resolver = (host, timeout) -> List.of();
    private final RecordingTable table = new RecordingTable();

    @BeforeEach
    void twoProcessesInOneNamespace() throws java.io.IOException {
        shared = NamespaceId.of(Path.of("/proc/self/ns/net"));
        for (int pid : new int[] {4242, 4343}) {
            FakeProc.container(proc, pid, FakeProc.PODMAN_DEFAULT_CAPS);
            java.nio.file.Files.createDirectories(proc.resolve(pid + "/ns"));
            java.nio.file.Files.createSymbolicLink(proc.resolve(pid + "/ns/net"), Path.of("/proc/self/ns/net"));
        }
    }

    /** An enforcer with a host guard on {@link #table}, whose restores fail while {@code failing[0]}. */
    private DefaultEnforcer enforcer(boolean[] failing) {
        FakeFirewall fake = new FakeFirewall().failing(call -> failing[0] && call.argv().contains("--noflush")
                ? FakeFirewall.result(call, 4, "Another app is currently holding the xtables lock.") : null);
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.IPTABLES_NFT).procRoot(proc)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(2)).maxAttempts(2).build();
        return new DefaultEnforcer(config, fake, Clock.systemUTC(), new SimpleMeterRegistry(), resolver,
                pinner, new HostGuards(HostGuardMode.REQUIRED, new ConcurrentGuardTest.OneVeth(), table));
    }

    private static EnforcementResult enforce(DefaultEnforcer enforcer, String containerId, int pid) {
        return enforcer.enforce(new EnforcementRequest(containerId, null, pid, POLICY, Instant.now().plusSeconds(30)));
    }

    @Test
    void aQuarantineThatFailsInTheNamespaceIsStillWrittenOnTheHostSide() {
        EnforcementResult result = enforce(enforcer(new boolean[] {true}), "c0ffee", 4242);

        assertThat(result.status()).isEqualTo("failed");
        assertThat(result.quarantined()).as("the namespace could not be quarantined").isFalse();
        assertThat(table.scripts).as("host-side writes").isNotEmpty();
        String last = table.scripts.get(table.scripts.size() - 1);
        assertThat(last).as("the last host-side write is the quarantine, not the policy").contains("veth1")
                .doesNotContain("198.51.100.7");
    }

    @Test
    void aPodMembersFailedQuarantineStillQuarantinesTheSharedHostChainAndKeepsTheOtherMemberOut() {
        boolean[] failing = {false};
        DefaultEnforcer enforcer = enforcer(failing);
        EnforcementResult first = enforce(enforcer, "c0ffee", 4242);
        assertThat(first.status()).as("%s", first).isEqualTo("applied");
        failing[0] = true;
        int before = table.scripts.size();

        EnforcementResult second = enforce(enforcer, "beef00", 4343);

        assertThat(second.status()).isEqualTo("failed");
        List<String> written = List.copyOf(table.scripts.subList(before, table.scripts.size()));
        assertThat(written).as("host-side writes for the failed member").isNotEmpty();
        assertThat(written.get(written.size() - 1)).as("the last is the quarantine, as a written quarantine's")
                .contains("veth1").doesNotContain("198.51.100.7");
        failing[0] = false;
        int quarantined = table.scripts.size();
        EnforcementResult resync = enforcer.reconcile(new EnforcementRequest("c0ffee", null, 4242, POLICY,
                Instant.now().plusSeconds(30)), shared);
        assertThat(resync.error()).as("%s", resync).isNotNull();
        assertThat(resync.error().code()).as("the failed member still holds the namespace").isEqualTo("NAMESPACE_QUARANTINED");
        assertThat(table.scripts.subList(quarantined, table.scripts.size())).as("the policy is not written back")
                .noneMatch(script -> script.contains("198.51.100.7"));
    }

    /** A host table that records what is written and lists it back as written. */
    private static final class RecordingTable implements HostTable {
        final List<String> scripts = new CopyOnWriteArrayList<>();

        @Override
        public void run(String script) {
            scripts.add(script);
        }

        @Override
        public String list() {
            return "";
        }

        @Override
        public String listChain(String chain) {
            return "";
        }
    }
}
