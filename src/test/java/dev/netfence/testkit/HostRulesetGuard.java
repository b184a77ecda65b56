package dev.netfence.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.netns.CommandResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Asserts that a test class leaves the host's own firewall alone: snapshots
 * {@code iptables-save} and {@code ip6tables-save} of both backends (nft and legacy, all
 * tables) before the class and compares them, normalized, after it. Register after
 * {@link KernelTests}.
 */
public final class HostRulesetGuard implements BeforeAllCallback, AfterAllCallback {
    private static final List<String> SAVES =
            List.of("iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save", "ip6tables-legacy-save");
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(HostRulesetGuard.class);

    /** The host's rulesets now, by save command. */
    public static Map<String, String> snapshot() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String save : SAVES) {
            CommandResult r = Sh.run(save);
            out.put(save, "exit " + r.exitCode() + "\n" + Rulesets.normalize(r.stdout()));
        }
        return out;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NS).put("before", snapshot());
    }

    @Override
    @SuppressWarnings("unchecked")
    public void afterAll(ExtensionContext context) {
        Map<String, String> before = (Map<String, String>) context.getStore(NS).get("before");
        if (before != null) {
            assertThat(snapshot()).as("host rulesets after the tests").isEqualTo(before);
        }
    }
}
