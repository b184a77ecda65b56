package dev.netfence.cli;

import dev.netfence.hostguard.HostGuards;
import dev.netfence.iptables.RestoreRenderer;
import dev.netfence.netns.BackendChoice;
import dev.netfence.nft.NativeCalls;
import dev.netfence.nft.NftRenderer;
import dev.netfence.netns.SystemEndpointResolver;
import dev.netfence.policy.Endpoint;
import dev.netfence.policy.Family;
import dev.netfence.policy.IpAddresses;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.rules.PlannedRules;
import dev.netfence.rules.RulePlanner;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code netfence plan --policy FILE}: prints the text a policy renders to for {@code --backend}:
 * the nft transaction that replaces {@code table inet netfence} ({@code nft}; {@code auto}, the
 * default, renders nft where {@code run} could use nftables, i.e. libnftables loads or an
 * {@code nft} program is on the PATH, else iptables), or the iptables-restore input under
 * {@code # ipv4} and {@code # ipv6} headers, as it would be applied to a namespace that has no
 * hook yet ({@code iptables}, {@code iptables-nft}, {@code iptables-legacy}); then the host
 * guard's chain, rendered by the guard's own renderer. Hostname endpoints are resolved only with {@code --resolve}; otherwise they
 * are listed as comments and left out. DNS rules go to the policy's {@code dnsServers} and the
 * node's, given with {@code --dns-servers} as to {@code netfence run}; the plan's warnings (no
 * trusted resolver, a hostname address inside a blocked subnet) are printed as comments.
 * Touches nothing.
 */
@Command(name = "plan", mixinStandardHelpOptions = true, description = "Prints the rules a policy renders to.")
public final class PlanCommand implements Callable<Integer> {
    @Option(names = "--policy", paramLabel = "FILE", required = true, description = "policy v1 JSON file")
    Path policyFile;

    @Option(names = "--resolve", description = "resolve hostname endpoints now (A and AAAA)")
    boolean resolve;

    @Option(names = "--dns-servers", paramLabel = "IP[,IP...]",
            description = "the node's trusted resolvers, as netfence run --dns-servers (default: none)")
    String dnsServers;

    @Option(names = "--backend", paramLabel = "auto|nft|iptables", converter = ApplyCommand.BackendChoiceConverter.class,
            defaultValue = "auto", description = "whose text to print: auto (nft where nftables is usable here, else "
                    + "iptables: where libnftables loads or the nft program is found; run also tries a transaction"
                    + " first), nft, iptables (also iptables-nft, iptables-legacy); default: auto")
    BackendChoice backend;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<InetAddress> servers = DnsServersOption.parse(spec.commandLine(), dnsServers);
        NetworkPolicy policy;
        List<String> notes;
        try {
            PolicyFile.Loaded loaded = PolicyFile.read(policyFile);
            policy = loaded.policy();
            notes = loaded.notes();
        } catch (PolicyFile.InvalidInput e) {
            e.reasons().forEach(spec.commandLine().getErr()::println);
            return Main.INVALID_INPUT;
        }
        Map<String, List<InetAddress>> resolved = new LinkedHashMap<>();
        List<Endpoint> kept = new ArrayList<>();
        try (SystemEndpointResolver resolver = new SystemEndpointResolver()) {
            for (Endpoint endpoint : policy.allowedEndpoints()) {
                if (!endpoint.isHostname()) {
                    kept.add(endpoint);
                } else if (resolve) {
                    try {
                        resolved.computeIfAbsent(endpoint.host(), h -> resolver.resolve(h, Duration.ofSeconds(5)));
                    } catch (dev.netfence.core.EnforcementException e) {
                        spec.commandLine().getErr().println("netfence plan: cannot resolve " + endpoint.host() + ": "
                                + e.getMessage());
                        return Main.RUNTIME_FAILURE;
                    }
                    out.println("# resolved " + endpoint + " -> " + resolved.get(endpoint.host()).stream()
                            .map(IpAddresses::format).toList());
                    kept.add(endpoint);
                } else {
                    out.println("# unresolved hostname endpoint, not rendered (use --resolve): " + endpoint);
                }
            }
        }
        NetworkPolicy rendered = new NetworkPolicy(policy.mode(), kept, policy.blockedSubnets(), policy.dns(),
                policy.outbound(), policy.inbound(), policy.dnsServers());
        PlannedRules plan = new RulePlanner().plan(rendered, resolved, servers);
        notes.forEach(n -> out.println("# note: " + n));
        plan.warnings().forEach(w -> out.println("# warning: " + w));
        if (backend == BackendChoice.NFT || (backend == BackendChoice.AUTO && nftablesUsable())) {
            out.println("# backend nft: one transaction replacing table inet netfence in the container's namespace");
            out.print(new NftRenderer().render(plan));
        } else {
            out.println("# backend iptables: iptables-restore input per family (NETFENCE-* chains, OUTPUT/INPUT/FORWARD hooks)");
            RestoreRenderer renderer = new RestoreRenderer();
            for (Family family : plan.families()) {
                out.println("# " + family.wire());
                out.print(renderer.render(plan.forFamily(family), true));
            }
        }
        out.println("# host guard (netfence run --host-guard auto|required): table netdev netfence in the host");
        out.println("# namespace, one such chain per host-side veth of the container (HOST-VETH stands for it)");
        out.print(HostGuards.show(plan));
        return Main.OK;
    }

    /** Whether {@code run --backend auto} could use nftables here: libnftables loads, or {@code nft} is on the PATH. */
    private static boolean nftablesUsable() {
        try {
            NativeCalls.load();
            return true;
        } catch (LinkageError e) {
            return dev.netfence.hostguard.NftProcessTable.onPath(System.getenv("PATH"));
        }
    }
}
