package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.event.ContainerEvent;
import dev.netfence.reconcile.ContainerLifecycle;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Standing by reaches the reconciler first, then the OCI hook's socket; the rest reaches the reconciler only. */
class StandbyAwareLifecycleTest {
    private final List<String> told = new CopyOnWriteArrayList<>();
    private final ContainerLifecycle reconciler = new ContainerLifecycle() {
        @Override
        public EnforcementResult started(ContainerEvent event, Enforcement enforcement) throws InterruptedException {
            told.add("started " + event.containerId());
            return enforcement.run();
        }

        @Override
        public Optional<String> stopped(ContainerEvent event) {
            told.add("stopped " + event.containerId());
            return Optional.of("kept");
        }

        @Override
        public void partitionsAssigned() {
            told.add("assigned");
        }

        @Override
        public void standingBy(boolean on) {
            told.add("reconciler standing by " + on);
        }
    };
    private final StandbyAwareLifecycle lifecycle = new StandbyAwareLifecycle(reconciler,
            on -> told.add("hook standing by " + on));

    @Test
    void standingByPausesTheReconcilerBeforeTheHookGivesItsSocketUp() {
        lifecycle.standingBy(true);
        lifecycle.standingBy(false);

        assertThat(told).containsExactly("reconciler standing by true", "hook standing by true",
                "reconciler standing by false", "hook standing by false");
    }

    @Test
    void eventsAndAssignmentsReachTheReconcilerAsTheyAre() throws Exception {
        ContainerEvent start = new ContainerEvent(1, ContainerEvent.CONTAINER_STARTED, "ev-1",
                java.time.Instant.parse("2026-12-05T08:00:00Z"), "n1", "task-1", "c1", null, 4242);
        EnforcementResult applied = EnforcementResult.applied().build();

        assertThat(lifecycle.started(start, () -> applied)).isSameAs(applied);
        assertThat(lifecycle.stopped(start)).contains("kept");
        lifecycle.partitionsAssigned();

        assertThat(told).containsExactly("started c1", "stopped c1", "assigned");
    }
}
