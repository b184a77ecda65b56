package dev.netfence.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import dev.netfence.rules.RuleSet;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Renderer, parser and verifier against the real kernel: restores rendered rules into a network
 * namespace this test creates (never the host's), reads them back with the matching
 * {@code -save}, and verifies. Gated like every kernel test ({@link KernelTests}: skipped without
 * root and the tools, failed instead under NETFENCE_REQUIRE_KERNEL_TESTS=1), and the host's
 * ruleset is checked unchanged ({@link HostRulesetGuard}). The full traffic-level suite lives
 * with the enforcer.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class KernelRoundTripTest {
    private String namespace;

    @BeforeEach
    void createNamespace() throws Exception {
        namespace = "nf-h1-" + Integer.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextInt(1 << 24, Integer.MAX_VALUE));
        Result r = run(List.of("ip", "netns", "add", namespace), "");
        assertThat(r.exit).as(r.stderr).isZero();
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (namespace != null) {
            run(List.of("ip", "netns", "del", namespace), "");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"nft, IPV4", "nft, IPV6", "legacy, IPV4", "legacy, IPV6"})
    void renderedRulesReadBackExactlyAndReapplyingChangesNothing(String backend, Family family) throws Exception {
        RuleSet rules = bridgePlan().forFamily(family);
        apply(backend, family, new RestoreRenderer().render(rules, FilterState.empty()));
        String first = save(backend, family);
        FilterState state = new SaveParser().parse(first);
        assertThat(new RuleVerifier().mismatch(rules, state)).isEmpty();

        apply(backend, family, new RestoreRenderer().render(rules, state));
        assertThat(withoutComments(save(backend, family))).isEqualTo(withoutComments(first));

        RuleSet quarantine = new RulePlanner().quarantine().forFamily(family);
        apply(backend, family, new RestoreRenderer().render(quarantine, new SaveParser().parse(first)));
        FilterState after = new SaveParser().parse(save(backend, family));
        assertThat(new RuleVerifier().mismatch(quarantine, after)).isEmpty();
        assertThat(new RuleVerifier().mismatch(rules, after)).isPresent();
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"nft, IPV4", "legacy, IPV6"})
    void aRejectedRestoreChangesNothingAndAPushedDownHookIsRepaired(String backend, Family family) throws Exception {
        RuleSet rules = bridgePlan().forFamily(family);
        RestoreRenderer renderer = new RestoreRenderer();
        apply(backend, family, renderer.render(rules, true));
        String before = save(backend, family);

        String broken = renderer.render(new RulePlanner().quarantine().forFamily(family), false)
                .replace("COMMIT\n", "-A NETFENCE-OUT -j NO-SUCH-CHAIN\nCOMMIT\n");
        assertThat(run(restore(backend, family), broken).exit).isNotZero();
        assertThat(withoutComments(save(backend, family))).isEqualTo(withoutComments(before));

        apply(backend, family, "*filter\n-I OUTPUT 1 -j ACCEPT\nCOMMIT\n");
        FilterState pushed = new SaveParser().parse(save(backend, family));
        assertThat(new RuleVerifier().mismatch(rules, pushed)).hasValueSatisfying(m -> assertThat(m).contains("not the first rule"));
        apply(backend, family, renderer.render(rules, pushed));
        assertThat(new RuleVerifier().mismatch(rules, new SaveParser().parse(save(backend, family)))).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"nft", "legacy"})
    void everyGeneratedPolicyTheValidatorAcceptsIsAcceptedByIptablesAndVerifies(String backend) throws Exception {
        PolicyParser parser = new PolicyParser();
        RenderedTokensProperties generators = new RenderedTokensProperties();
        int applied = 0;
        for (var doc : (Iterable<com.fasterxml.jackson.databind.node.ObjectNode>) generators.policies().sampleStream().limit(400)::iterator) {
            NetworkPolicy policy;
            try {
                policy = parser.parse(doc);
            } catch (dev.netfence.policy.PolicyValidationException rejected) {
                continue;
            }
            Map<String, List<InetAddress>> resolved = new java.util.HashMap<>();
            policy.allowedEndpoints().stream().filter(dev.netfence.policy.Endpoint::isHostname).forEach(e -> resolved.put(e.host(),
                    List.of(InetAddress.getLoopbackAddress(), java.net.Inet6Address.getLoopbackAddress())));
            PlannedRules plan = new RulePlanner().plan(policy, resolved, List.of());
            for (Family family : plan.families()) {
                RuleSet rules = plan.forFamily(family);
                FilterState before = new SaveParser().parse(save(backend, family));
                apply(backend, family, new RestoreRenderer().render(rules, before));
                assertThat(new RuleVerifier().mismatch(rules, new SaveParser().parse(save(backend, family))))
                        .as("policy %s", doc).isEmpty();
            }
            if (++applied == 25) {
                break;
            }
        }
        assertThat(applied).as("accepted policies tried").isEqualTo(25);
    }

    private static PlannedRules bridgePlan() throws Exception {
        NetworkPolicy policy = new PolicyParser().parse(Files.readAllBytes(Path.of("schemas/examples/policy-bridge.json")));
        return new RulePlanner().plan(policy,
                Map.of("pypi.internal", List.of(InetAddress.getByName("198.18.0.12"), InetAddress.getByName("2001:db8::12"))),
                List.of(InetAddress.getByName("198.18.0.53"), InetAddress.getByName("2001:db8::53")));
    }

    private void apply(String backend, Family family, String input) throws Exception {
        Result r = run(restore(backend, family), input);
        assertThat(r.exit).as("restore failed: %s%n%s", r.stderr, input).isZero();
    }

    private List<String> restore(String backend, Family family) {
        String bin = (family == Family.IPV4 ? "iptables-" : "ip6tables-") + backend + "-restore";
        return List.of("ip", "netns", "exec", namespace, bin, "--noflush");
    }

    private String save(String backend, Family family) throws Exception {
        String bin = (family == Family.IPV4 ? "iptables-" : "ip6tables-") + backend + "-save";
        Result r = run(List.of("ip", "netns", "exec", namespace, bin, "-t", "filter"), "");
        assertThat(r.exit).as(r.stderr).isZero();
        return r.stdout;
    }

    private static String withoutComments(String save) {
        return save.lines().filter(l -> !l.startsWith("#")).collect(Collectors.joining("\n"));
    }

    private record Result(int exit, String stdout, String stderr) {}

    private static Result run(List<String> argv, String stdin) throws Exception {
        Process p = new ProcessBuilder(argv).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("command did not finish: " + argv);
        }
        return new Result(p.exitValue(), out.get(), err.get());
    }

    private static String read(java.io.InputStream s) {
        try {
            return new String(s.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
