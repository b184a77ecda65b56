package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.enforce.FakeFirewall.Call;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.RulePlanner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bound on a policy's resolved addresses, through the enforcer and a recording fake iptables:
 * four names at two ports each (eight hostname endpoints), from a tenant's zone answering 64 A and
 * 64 AAAA per name, are exactly 1,024; one address more on one name is two more, and fails closed.
 */
class ResolvedAddressBoundTest {
    private static final String QUARANTINE_MARK =
            RestoreRenderer.comment(new RulePlanner().quarantine().forFamily(Family.IPV4));
    private static final NetworkPolicy POLICY = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
            + "\"allowedEndpoints\":[\"h0.tenant.example:443\",\"h0.tenant.example:80\",\"h1.tenant.example:443\","
            + "\"h1.tenant.example:80\",\"h2.tenant.example:443\",\"h2.tenant.example:80\",\"h3.tenant.example:443\","
            + "\"h3.tenant.example:80\"],\"dns\":false,\"outbound\":false,\"inbound\":false}")
            .getBytes(StandardCharsets.UTF_8));
    private static final String OVER = "the policy's hostname endpoints resolved to 1026 addresses in all (each endpoint"
            + " counting its hostname's), more than the limit of 1024 per policy; nothing was planned";

    @TempDir
    Path proc;

    /** Addresses h0 answers beyond the 64 + 64 every name answers. */
    private final AtomicInteger extra = new AtomicInteger();
    private final EndpointResolver tenantZone = (host, timeout) -> {
        int name = host.charAt(1) - '0';
        List<InetAddress> out = new ArrayList<>();
        try {
            for (int k = 0; k < 64; k++) {
                out.add(InetAddress.getByAddress(new byte[] {(byte) 203, 0, (byte) (113 + name), (byte) k}));
                out.add(InetAddress.getByAddress(new byte[] {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0, (byte) name, (byte) k}));
            }
            for (int k = 0; name == 0 && k < extra.get(); k++) {
                out.add(InetAddress.getByAddress(new byte[] {(byte) 203, 0, 113, (byte) (100 + k)}));
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
        return out;
    };
    private final NamespacePinner pinner = (pid, containerId, runtime, deadline) ->
            new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), new NamespaceId(4, 4026532000L), () -> { });

    @BeforeEach
    void containerProcess() {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS);
    }

    @Test
    void aPolicyWhoseHostnamesResolveTo1024AddressesInAllApplies() {
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(fake).enforce(request());

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(ResolvedAddressBound.count(POLICY, resolvedOf(result))).isEqualTo(1024);
        assertThat(fake.restores()).extracting(Call::stdin)
                .anyMatch(in -> in.contains("-d 203.0.116.63/32 -p tcp -m tcp --dport 80"));
    }

    @Test
    void oneAddressMoreFailsClosedWithResolutionFailedNamingTheTotalAndTheLimitAndNoPlannedRuleIsWritten() {
        extra.set(1);
        FakeFirewall fake = new FakeFirewall();

        EnforcementResult result = enforcer(fake).enforce(request());

        assertThat(result.status()).as("%s", result).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("RESOLUTION_FAILED");
        assertThat(result.error().message()).isEqualTo(OVER);
        assertThat(result.error().retryable()).as("the answers may be fewer at the next try").isTrue();
        assertThat(result.quarantined()).as("failed closed, as for any failure").isTrue();
        assertThat(fake.restores()).as("only the quarantine").isNotEmpty()
                .allMatch(call -> call.stdin().contains(QUARANTINE_MARK));
    }

    @Test
    void aResyncWhoseAnswersGrowPastTheBoundKeepsTheRulesInForceWritingNothingAndFails() {
        FakeFirewall fake = new FakeFirewall();
        DefaultEnforcer enforcer = enforcer(fake);
        assertThat(enforcer.enforce(request()).status()).isEqualTo("applied");
        fake.calls.clear();
        extra.set(1);

        EnforcementResult result = enforcer.reconcile(request(), new NamespaceId(4, 4026532000L));

        assertThat(result.status()).as("%s", result).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("RESOLUTION_FAILED");
        assertThat(result.error().message()).isEqualTo(OVER);
        assertThat(result.quarantined()).isFalse();
        assertThat(fake.calls).as("nothing read, nothing written").isEmpty();
    }

    private static java.util.Map<String, List<InetAddress>> resolvedOf(EnforcementResult result) {
        java.util.Map<String, List<InetAddress>> resolved = new java.util.LinkedHashMap<>();
        result.resolved().forEach((host, literals) -> resolved.put(host, literals.stream().map(literal -> {
            try {
                return InetAddress.getByName(literal);
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }).toList()));
        return resolved;
    }

    private DefaultEnforcer enforcer(FakeFirewall fake) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.IPTABLES_NFT)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc).build();
        return new DefaultEnforcer(config, fake, Clock.systemUTC(), new SimpleMeterRegistry(), tenantZone, pinner);
    }

    private static EnforcementRequest request() {
        return new EnforcementRequest("c0ffee", null, 4242, POLICY, Instant.now().plusSeconds(30));
    }
}
