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
        enforcer = enforcer(resolver, Duration.ofSeconds(5));
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
        assertThat(resync.warnings()).as("the same text whatever the failure said, so it is published once")
                .containsExactly("allowedEndpoints: api.tenant.example did not resolve at this resync; the 1 address(es)"
                        + " its rules were last verified with are kept until it resolves again");
        assertThat(resync.attempts()).as("the first attempt retried the lookup, as before").isEqualTo(2);
    }

    @Test
    void aResolverThatFailsOnceIsRetriedAndKeepsNothing() {
        java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger(1);
        EnforcementException blip = new EnforcementException(ErrorCode.RESOLUTION_FAILED, "SERVFAIL");
        answer.set(List.of(address("198.51.100.12")));
        DefaultEnforcer flaky = enforcer((host, timeout) -> {
            if (failures.getAndDecrement() > 0) {
                throw blip;
            }
            return List.of(address("198.51.100.12"));
        }, Duration.ofSeconds(5));

        EnforcementResult resync = flaky.reconcile(request(LAST));

        assertThat(resync.status()).as("%s", resync).isEqualTo("applied");
        assertThat(resync.attempts()).isEqualTo(2);
        assertThat(resync.warnings()).as("nothing kept: nothing to publish").isEmpty();
    }

    @Test
    void lookupsThatHangLeaveHalfTheTimeLeftToTheReadBackAndKeepTheAnswers() {
        List<Duration> given = new java.util.concurrent.CopyOnWriteArrayList<>();
        DefaultEnforcer hanging = enforcer((host, timeout) -> {
            given.add(timeout);
            try {
                Thread.sleep(timeout.toMillis()); // a zone that never answers
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new EnforcementException(ErrorCode.RESOLUTION_FAILED, "resolving " + host + " took longer than "
                    + timeout.toMillis() + " ms");
        }, Duration.ofSeconds(10));
        fake.builtins(List.of(), List.of(), List.of());

        EnforcementResult resync = hanging.reconcile(new EnforcementRequest("c0ffee", null, 4242, null, POLICY,
                Instant.now().plusSeconds(3), null, LAST));

        assertThat(resync.status()).as("%s", resync).isEqualTo("applied");
        assertThat(resync.drift()).as("read back and repaired in the time kept for it").isNotNull();
        assertThat(given).as("each lookup had at most half the time left, not the resolve timeout").isNotEmpty()
                .allSatisfy(t -> assertThat(t).isLessThanOrEqualTo(Duration.ofMillis(1500)));
    }

    @Test
    void keptAnswersOverTheBoundForThisPolicysPortsAreNotPlanned() {
        NetworkPolicy twoPorts = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"api.tenant.example:443\",\"api.tenant.example:8443\"],"
                + "\"dns\":false,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            many.add("198.18." + (i / 256) + "." + (i % 256));
        }
        answer.set(new EnforcementException(ErrorCode.RESOLUTION_FAILED, "api.tenant.example: NXDOMAIN"));

        EnforcementResult resync = enforcer.reconcile(new EnforcementRequest("c0ffee", null, 4242, null, twoPorts,
                Instant.now().plusSeconds(30), null, Map.of("api.tenant.example", many)));

        assertThat(resync.status()).as("600 addresses at two ports: 1,200 rules' worth").isEqualTo("failed");
        assertThat(resync.error().code()).isEqualTo("RESOLUTION_FAILED");
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
        assertThat(resync.warnings()).containsExactly("allowedEndpoints: the policy's hostname endpoints resolved to"
                + " more than 1024 addresses in all at this resync; the addresses the rules were last verified with are"
                + " kept for every hostname until the answers fit again");
    }

    @Test
    void aKeptAnswerThatIsNotAnAddressLiteralKeepsNothing() {
        answer.set(new EnforcementException(ErrorCode.RESOLUTION_FAILED, "api.tenant.example: NXDOMAIN"));

        EnforcementResult resync = enforcer.reconcile(request(Map.of("api.tenant.example", List.of("evil.example"))));

        assertThat(resync.status()).isEqualTo("failed");
        assertThat(resync.error().code()).isEqualTo("RESOLUTION_FAILED");
    }

    /** An enforcer on the fake with {@code resolver}, each lookup given at most {@code resolveTimeout}. */
    private DefaultEnforcer enforcer(EndpointResolver resolver, Duration resolveTimeout) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.AUTO).resolveTimeout(resolveTimeout)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).procRoot(proc).build();
        return new DefaultEnforcer(config, fake, Clock.systemUTC(), new SimpleMeterRegistry(), resolver, pinner);
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
