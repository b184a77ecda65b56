package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.EndpointResolver;
import dev.netfence.netns.NamespaceId;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.PinnedNamespace;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
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
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resync whose hostname does not resolve still reads the rules back and repairs them, planning
 * with the answers they were last verified with (review 57 #1, {@link KeptAnswers}); an event's
 * apply, or a resync with nothing to keep, fails RESOLUTION_FAILED as before. Against the
 * recording fake iptables; {@code ResolutionFailureResyncKernelTest} shows it on the kernel.
 */
class ResolutionFailureResyncTest {
    private static final NetworkPolicy POLICY = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
            + "\"allowedEndpoints\":[\"198.51.100.7:443\",\"api.tenant.example:443\"],"
            + "\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
    private static final Map<String, List<String>> LAST = Map.of("api.tenant.example", List.of("198.51.100.12"));

    @TempDir
    Path proc;

    private final NamespacePinner pinner = (pid, containerId, runtime, deadline) ->
            new PinnedNamespace(pid, Path.of("/proc/1000/fd/9"), new NamespaceId(4, 4026532000L), () -> { });
    /** What the resolver answers now: addresses, or the failure it throws. */
    private final AtomicReference<Object> answer = new AtomicReference<>(List.of(address("198.51.100.12")));
    private final EndpointResolver resolver = (host, timeout) -> {
        Object now = answer.get();
        if (now instanceof EnforcementException e) {
            throw e;
        }
        @SuppressWarnings("unchecked")
        List<InetAddress> addresses = (List<InetAddress>) now;
        return addresses;
    };
    private final FakeFirewall fake = new FakeFirewall();
    private DefaultEnforcer enforcer;

    @BeforeEach
    void appliedWhileTheNameResolves() {
        FakeProc.container(proc, 4242, FakeProc.PODMAN_DEFAULT_CAPS);
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.AUTO)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc).build();
        enforcer = new DefaultEnforcer(config, fake, Clock.systemUTC(), new SimpleMeterRegistry(), resolver, pinner);
        EnforcementResult first = enforcer.enforce(request(Map.of()));
        assertThat(first.status()).as("%s", first).isEqualTo("applied");
        assertThat(first.resolved()).isEqualTo(LAST);
    }

    @Test
    void aResyncWhoseHostnameNoLongerResolvesRepairsRulesRemovedFromOutsideWithTheAnswersLastVerified() {
        answer.set(new EnforcementException(ErrorCode.RESOLUTION_FAILED, "api.tenant.example: NXDOMAIN"));
        fake.builtins(List.of(), List.of(), List.of()); // the hooks into netfence's chains removed from outside
        int restores = fake.restores().size();

        EnforcementResult resync = enforcer.reconcile(request(LAST));

        assertThat(resync.status()).as("%s", resync).isEqualTo("applied");
        assertThat(resync.drift()).as("the removal is found and reported").isNotNull();
        assertThat(fake.restores().size()).as("and repaired").isGreaterThan(restores);
        assertThat(fake.output("v4")).isNotEmpty();
        assertThat(resync.resolved()).isEqualTo(LAST);
        assertThat(resync.warnings()).containsExactly("allowedEndpoints: api.tenant.example did not resolve at this"
                + " resync (api.tenant.example: NXDOMAIN); the 1 address(es) its rules were last verified with are kept"
                + " until it resolves again");
    }

    @Test
    void aResyncWithNoAnswersToKeepFailsAsBeforeAndAnEventsApplyNeverKeepsAny() {
        answer.set(new EnforcementException(ErrorCode.RESOLUTION_FAILED, "api.tenant.example: NXDOMAIN"));

        EnforcementResult resync = enforcer.reconcile(request(Map.of()));
        EnforcementResult event = enforcer.enforce(request(LAST));

        assertThat(resync.status()).isEqualTo("failed");
        assertThat(resync.error().code()).isEqualTo("RESOLUTION_FAILED");
        assertThat(resync.quarantined()).as("a resync that touched nothing").isFalse();
        assertThat(event.status()).isEqualTo("failed");
        assertThat(event.error().code()).isEqualTo("RESOLUTION_FAILED");
    }

    @Test
    void aResyncWhoseAnswersGrewPastTheBoundKeepsTheAnswersLastVerified() {
        List<InetAddress> many = new ArrayList<>();
        for (int i = 0; i <= ResolvedAddressBound.LIMIT; i++) {
            many.add(address("198.18." + (i / 256) + "." + (i % 256)));
        }
        answer.set(many);
        fake.builtins(List.of(), List.of(), List.of());

        EnforcementResult resync = enforcer.reconcile(request(LAST));

        assertThat(resync.status()).as("%s", resync).isEqualTo("applied");
        assertThat(resync.drift()).isNotNull();
        assertThat(resync.resolved()).isEqualTo(LAST);
        assertThat(resync.warnings()).singleElement().asString().startsWith("allowedEndpoints: the policy's hostname"
                + " endpoints resolved to 1025 addresses").endsWith("the addresses the rules were last verified with are"
                + " kept for every hostname until the answers fit again");
    }

    @Test
    void aKeptAnswerThatIsNotAnAddressLiteralKeepsNothing() {
        answer.set(new EnforcementException(ErrorCode.RESOLUTION_FAILED, "api.tenant.example: NXDOMAIN"));

        EnforcementResult resync = enforcer.reconcile(request(Map.of("api.tenant.example", List.of("evil.example"))));

        assertThat(resync.status()).isEqualTo("failed");
        assertThat(resync.error().code()).isEqualTo("RESOLUTION_FAILED");
    }

    private static EnforcementRequest request(Map<String, List<String>> last) {
        return new EnforcementRequest("c0ffee", null, 4242, null, POLICY, Instant.now().plusSeconds(30), null, last);
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
