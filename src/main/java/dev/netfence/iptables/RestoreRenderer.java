package dev.netfence.iptables;

import dev.netfence.rules.RuleSet;
import java.util.List;

/** Renders a rule set as iptables-restore input (stub). */
public final class RestoreRenderer {
    public static final String OUT_CHAIN = "NETFENCE-OUT";
    public static final String IN_CHAIN = "NETFENCE-IN";

    public String render(RuleSet rules, boolean addOutputHook, boolean addInputHook) {
        throw new UnsupportedOperationException("not yet");
    }

    public List<String> outLines(RuleSet rules) {
        throw new UnsupportedOperationException("not yet");
    }

    public List<String> inLines(RuleSet rules) {
        throw new UnsupportedOperationException("not yet");
    }
}
