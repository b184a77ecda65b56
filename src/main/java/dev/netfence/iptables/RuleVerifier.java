package dev.netfence.iptables;

import dev.netfence.rules.RuleSet;
import java.util.Optional;

/** Compares a read-back with what was applied (stub). */
public final class RuleVerifier {
    public Optional<String> mismatch(RuleSet expected, FilterState actual) {
        throw new UnsupportedOperationException("not yet");
    }
}
