package dev.netfence.enforce;

import dev.netfence.core.EnforcementTarget;
import dev.netfence.rules.PlannedRules;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;

/**
 * What one successful attempt did: the plan and the addresses its hostnames resolved to, the
 * backend that wrote it, the risks read and host guards placed, the namespace it reached, the
 * difference a resync found before repairing (null when none), and which of the risks another
 * member of its namespace holds (risk to member; {@link MemberReads#beside}), and warnings of its
 * own beside the plan's (a hostname whose last answers were kept, {@link KeptAnswers}). Plain data
 * handed from the apply, dry-run and quiet-resync paths to {@link EnforcementResults}.
 */
record Applied(PlannedRules plan, Map<String, List<InetAddress>> resolved, FirewallBackend backend,
        List<String> risks, List<String> guards, EnforcementTarget target, String drift, Map<String, String> beside,
        List<String> warnings) {

    Applied {
        beside = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(beside)); // by risk: warnings in one order
        warnings = List.copyOf(warnings);
    }

    /** With no warnings of its own. */
    Applied(PlannedRules plan, Map<String, List<InetAddress>> resolved, FirewallBackend backend, List<String> risks,
            List<String> guards, EnforcementTarget target, String drift, Map<String, String> beside) {
        this(plan, resolved, backend, risks, guards, target, drift, beside, List.of());
    }
}
