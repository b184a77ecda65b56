package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.CommandTimeoutException;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.NamespacePinner;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.netns.SystemEndpointResolver;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Rulesets;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A container whose process exits while its rules are being applied. The "container" is a real
 * {@code sleep} in a network namespace of its own; a decorator around the real pinner or the
 * real command runner kills it (by pid, and waits until it is gone) right before one chosen
 * step: pinning, the IPv4 restore, the IPv6 restore, or the verifying read-back. Whatever the moment, the outcome is
 * skipped or failed, never applied, and no rule lands anywhere else: the host's rulesets and a
 * neighbouring namespace (with a live process of its own) are compared, both backends and both
 * families, before and after. Run for a namespace that dies with its process ({@code unshare
 * --net}) and for a named one that outlives it ({@code ip netns add}).
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class ContainerExitKernelTest {
    private static final List<String> SAVES =
            List.of("iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save", "ip6tables-legacy-save");

    /** The step right before which the container's process is killed. */
    enum KillPoint {
        /** Pinning runs no command: the pinner decorator kills instead. */
        BEFORE_PINNING(() -> argv -> false),
        BEFORE_IPV4_RESTORE(() -> argv -> argv.stream().anyMatch(a -> a.equals("iptables-nft-restore"))),
        BEFORE_IPV6_RESTORE(() -> argv -> argv.stream().anyMatch(a -> a.equals("ip6tables-nft-restore"))),
        BEFORE_VERIFYING(() -> new Predicate<>() {
            private int restores;

            @Override
            public boolean test(List<String> argv) {
                if (argv.stream().anyMatch(a -> a.endsWith("-restore"))) {
                    restores++;
                    return false;
                }
                return restores == 2 && argv.stream().anyMatch(a -> a.endsWith("-save"));
            }
        });

        /** A fresh matcher per use: some count the commands they have seen. */
        final Supplier<Predicate<List<String>>> step;

        KillPoint(Supplier<Predicate<List<String>>> step) {
            this.step = step;
        }
    }

    private final List<Runnable> cleanups = new ArrayList<>();
    private String neighbourNs;

    @BeforeEach
    void createNeighbour() {
        neighbourNs = "nft-" + random() + "-n";
        Sh.ok("ip", "netns", "add", neighbourNs);
        cleanups.add(0, () -> Sh.run("ip", "netns", "del", neighbourNs));
        Process neighbour = start("ip", "netns", "exec", neighbourNs, "sleep", "infinity");
        cleanups.add(0, () -> kill(neighbour));
    }

    @AfterEach
    void cleanUp() {
        for (Runnable r : cleanups) {
            try {
                r.run();
            } catch (RuntimeException e) {
                // keep going
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KillPoint.class)
    void aContainerExitingMidApplyInAPrivateNamespaceIsNeverReportedApplied(KillPoint point) throws Exception {
        // with an interface besides lo, as a container's namespace has (a lo-only one is refused before any command)
        Process container = start("unshare", "--net", "sh", "-c",
                "ip link add v0 type veth peer name v1 && exec sleep infinity");
        cleanups.add(0, () -> kill(container));

        assertNeverAppliedAndNothingElseChanged(container, point);
    }

    @ParameterizedTest
    @EnumSource(KillPoint.class)
    void aContainerExitingMidApplyInANamedNamespaceIsNeverReportedApplied(KillPoint point) throws Exception {
        String ns = "nft-" + random() + "-c";
        Sh.ok("ip", "netns", "add", ns);
        cleanups.add(0, () -> Sh.run("ip", "netns", "del", ns));
        Sh.ok("ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        Process container = start("ip", "netns", "exec", ns, "sleep", "infinity");
        cleanups.add(0, () -> kill(container));

        assertNeverAppliedAndNothingElseChanged(container, point);
    }

    private void assertNeverAppliedAndNothingElseChanged(Process container, KillPoint point) throws Exception {
        awaitOwnNamespace(container);
        Map<String, String> host = HostRulesetGuard.snapshot();
        Map<String, String> neighbour = rulesetsOf(neighbourNs);
        KillingRunner runner = new KillingRunner(point.step.get(), container);
        NamespacePinner real = new ProcNamespacePinner(new ContainerPidLookup(runner, Clock.systemUTC()), Path.of("/proc"),
                true);
        NamespacePinner pinner = point != KillPoint.BEFORE_PINNING ? real : (pid, containerId, runtime, deadline) -> {
            runner.killNow();
            return real.pin(pid, containerId, runtime, deadline);
        };

        EnforcementResult result = new DefaultEnforcer(config(), runner, Clock.systemUTC(), new SimpleMeterRegistry(),
                new SystemEndpointResolver(), pinner)
                .enforce(new EnforcementRequest(null, null, (int) container.pid(), policy(),
                        Clock.systemUTC().instant().plusSeconds(20)));

        assertThat(runner.killed).as("the container was killed before %s", point).isTrue();
        assertThat(result.status()).as("%s", result).isIn("skipped", "failed");
        assertThat(result.error().code()).isEqualTo("CONTAINER_NOT_FOUND");
        assertThat(result.quarantined()).isFalse();
        assertThat(HostRulesetGuard.snapshot()).isEqualTo(host);
        assertThat(rulesetsOf(neighbourNs)).isEqualTo(neighbour);
    }

    private static Map<String, String> rulesetsOf(String ns) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String save : SAVES) {
            CommandResult r = Sh.run("ip", "netns", "exec", ns, save);
            out.put(save, "exit " + r.exitCode() + "\n" + Rulesets.normalize(r.stdout()));
        }
        return out;
    }

    private static NetworkPolicy policy() {
        String json = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.9:443\","
                + "\"[2001:db8::9]:443\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        return new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static EnforcerConfig config() {
        return EnforcerConfig.custom().backend(BackendChoice.IPTABLES_NFT)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
    }

    /** Waits until the child has entered its own namespace (unshare/ip exec into sleep). */
    private static void awaitOwnNamespace(Process p) throws Exception {
        String own = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/net")).toString();
        for (int i = 0; i < 500; i++) {
            try {
                String cmd = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + p.pid() + "/cmdline"));
                String ns = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/" + p.pid() + "/ns/net")).toString();
                if (cmd.startsWith("sleep") && !ns.equals(own)) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(10);
        }
        throw new IllegalStateException("process " + p.pid() + " did not enter its own namespace");
    }

    private static Process start(String... argv) {
        try {
            return new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + List.of(argv), e);
        }
    }

    private static void kill(Process p) {
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String random() {
        byte[] b = new byte[4];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** The real runner; kills the container (and reaps it) right before the first command {@code step} matches. */
    private static final class KillingRunner implements CommandRunner {
        private final ProcessCommandRunner real = new ProcessCommandRunner();
        private final Predicate<List<String>> step;
        private final Process container;
        private final AtomicBoolean done = new AtomicBoolean();
        volatile boolean killed;

        KillingRunner(Predicate<List<String>> step, Process container) {
            this.step = step;
            this.container = container;
        }

        @Override
        public CommandResult run(List<String> argv, byte[] stdin, Duration timeout)
                throws IOException, CommandTimeoutException, InterruptedException {
            if (!done.get() && step.test(argv)) {
                killNow();
            }
            return real.run(argv, stdin, timeout);
        }

        void killNow() {
            if (done.compareAndSet(false, true)) {
                container.destroyForcibly();
                try {
                    killed = container.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
