package dev.netfence.enforce;

import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.ContainerPidLookup;
import dev.netfence.netns.ProcNamespacePinner;
import dev.netfence.netns.SystemEndpointResolver;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;

/**
 * Enforcers the production code offers no way to build, for the benchmark's comparisons (test
 * code only, so no command or option can reach them): {@link #withoutContainment} is the
 * production wiring of {@link DefaultEnforcer#DefaultEnforcer(EnforcerConfig, CommandRunner, Clock,
 * MeterRegistry)} minus issue 12's steps on the apply path.
 */
public final class EnforcerVariants {
    private EnforcerVariants() {}

    /**
     * The production wiring (real /proc pinning with {@code config}'s cgroup check, the system
     * resolver, no host guard) without the connection-tracking flush, the capability read, the
     * lo-only check and the namespace-ownership claim.
     */
    public static DefaultEnforcer withoutContainment(EnforcerConfig config, CommandRunner runner, Clock clock,
            MeterRegistry registry) {
        return new DefaultEnforcer(config, runner, clock, registry, new SystemEndpointResolver(),
                new ProcNamespacePinner(new ContainerPidLookup(runner, clock), config.procRoot(), config.cgroupCheck()),
                HostGuards.create(HostGuardMode.OFF, runner), false);
    }
}
