package dev.netfence.cli;

import dev.netfence.hostguard.HostGuards;
import dev.netfence.iptables.RestoreRenderer;
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
 * {@code netfence plan --policy FILE}: prints the iptables-restore input a policy renders to,
 * under {@code # ipv4} and {@code # ipv6} headers, as it would be applied to a namespace that
 * has no hook yet. Hostname endpoints are resolved only with {@code --resolve}; otherwise they
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

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<InetAddress> servers = DnsServersOption.parse(spec.commandLine(), dnsServers);
        NetworkPolicy policy;
        try {
            policy = PolicyFile.load(policyFile);
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
                    resolved.computeIfAbsent(endpoint.host(), h -> resolver.resolve(h, Duration.ofSeconds(5)));
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
        plan.warnings().forEach(w -> out.println("# warning: " + w));
        RestoreRenderer renderer = new RestoreRenderer();
        for (Family family : plan.families()) {
            out.println("# " + family.wire());
            out.print(renderer.render(plan.forFamily(family), true, true));
        }
        out.println("# host guard (netfence run --host-guard auto|required): table netdev netfence in the host");
        out.println("# namespace, one such chain per host-side veth of the container (HOST-VETH stands for it)");
        out.print(HostGuards.show(plan));
        return Main.OK;
    }
}
