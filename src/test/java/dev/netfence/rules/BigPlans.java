package dev.netfence.rules;

import dev.netfence.policy.Cidr;
import dev.netfence.policy.Family;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.policy.PolicyDigest;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Large plans for the caches' size bounds: a tenant's one hostname resolved to new addresses in
 * each round (a real plan, two rules per address), or a plan of any number of rules made without
 * the planner (cheap, for counting what a cache holds).
 */
public final class BigPlans {
    /** One hostname endpoint, TCP, inbound off: each address an accept out and a resume in. */
    public static final NetworkPolicy POLICY = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\","
            + "\"allowedEndpoints\":[\"big.tenant.example:443\"],\"dns\":false,\"outbound\":false,\"inbound\":false}")
            .getBytes(StandardCharsets.UTF_8));

    private BigPlans() {
    }

    /** The addresses of round {@code round}: {@code count} IPv4 addresses in 203.{round}.0.0/16. */
    public static List<InetAddress> addresses(int round, int count) {
        List<InetAddress> out = new ArrayList<>();
        try {
            for (int k = 0; k < count; k++) {
                out.add(InetAddress.getByAddress(new byte[] {(byte) 203, (byte) round, (byte) (k >> 8), (byte) k}));
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** The real plan of {@link #POLICY} with its hostname resolved to {@code addresses(round, count)}. */
    public static PlannedRules planned(int round, int count) {
        return new RulePlanner().plan(POLICY, Map.of("big.tenant.example", addresses(round, count)), List.of());
    }

    /** A plan of exactly {@code rules} IPv4 output rules, its digest that of {@code round}; not the planner's. */
    public static PlannedRules synthetic(int round, int rules) {
        List<Rule> out = new ArrayList<>();
        for (int k = 0; k < rules; k++) {
            out.add(Rule.allowOut(Cidr.host(new byte[] {(byte) 203, 0, (byte) (k >> 8), (byte) k}), Transport.TCP,
                    1 + k / 256));
        }
        String digest = "sha256:" + PolicyDigest.sha256Hex("synthetic " + round + " " + rules);
        return new PlannedRules(Map.of(Family.IPV4, new RuleSet(Family.IPV4, out, List.of(), List.of(), digest)), digest);
    }
}
