package dev.netfence.enforce;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.EnforcementResult;
import java.net.InetAddress;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An event under {@code --dry-run}: the policy's hostnames are resolved and its rules planned,
 * with the same retries and deadline as a real apply, and the outcome says what would have been
 * applied; no namespace is pinned or entered and nothing is written or quarantined. The rendered
 * rules are logged at DEBUG only (about 40 lines per event).
 */
final class DryRuns {
    /** DefaultEnforcer's category, as before this class was split from it (operators' log settings name it). */
    private static final Logger LOG = LoggerFactory.getLogger(DefaultEnforcer.class);

    private final Clock clock;
    private final ApplyPipeline pipeline;
    private final RetriedAttempts retried;
    private final EnforcementResults results;

    DryRuns(Clock clock, ApplyPipeline pipeline, RetriedAttempts retried, EnforcementResults results) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
        this.retried = Objects.requireNonNull(retried, "retried");
        this.results = Objects.requireNonNull(results, "results");
    }

    EnforcementResult run(EnforcementRequest request) {
        Deadline deadline = new Deadline(clock, request.deadline());
        AtomicInteger attempts = new AtomicInteger();
        try {
            Applied planned = retried.run(deadline, attempts, () -> {
                Map<String, List<InetAddress>> resolved = pipeline.resolveHostnames(request.policy(), deadline);
                return new Applied(pipeline.plan(request.policy(), resolved), resolved, null, List.of(), List.of(), null, null,
                        Map.of());
            });
            // per event and ~40 lines long: at INFO it serialised every worker on the console appender
            if (LOG.isDebugEnabled()) {
                LOG.debug("dry run for container {}: would apply {}", request.containerId(), pipeline.render(planned.plan()));
            }
            return results.success(request, planned, attempts.get());
        } catch (EnforcementException e) {
            return results.failed(request.policy(), e, attempts.get(), null, List.of());
        }
    }
}
