package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.netfence.hostguard.HostGuardMode;
import dev.netfence.hostguard.HostGuards;
import dev.netfence.hostguard.HostSides;
import dev.netfence.hostguard.HostTable;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * How {@code netfence run} starts its host guards, per mode, against a fake host table: under off
 * an earlier run's chains are removed at start and a table that cannot be read is a readiness
 * reason that the sweeps clear; a dry run reads nothing; a table that cannot be read fails the
 * start under required and not under auto.
 */
class HostGuardStartTest {
    private static final String LEFT = """
            table netdev netfence {
            \tchain veth0 {
            \t\tcomment "netfence container=c1 ifindex=11"
            \t\ttype filter hook ingress device "veth0" priority -500; policy drop;
            \t}
            }
            """;
    private final Table table = new Table();

    @Test
    void offRemovesTheChainsAnEarlierRunLeftAtStart() {
        table.listing = LEFT;
        try (HostGuardStart start = start(HostGuardMode.OFF, false)) {
            assertThat(table.scripts).containsExactly("flush chain netdev netfence veth0\ndelete chain netdev netfence veth0\n");
            assertThat(start.notReadyReason()).isEmpty();
        }
    }

    @Test
    void offWithATableThatCannotBeReadStartsNotReadyAndASweepMakesItReady() {
        table.listing = LEFT;
        table.failures.set(2); // the start lists again at once after a failure
        try (HostGuardStart start = start(HostGuardMode.OFF, false)) {
            assertThat(start.notReadyReason()).hasValueSatisfying(r -> assertThat(r)
                    .contains("--host-guard off", "table netdev netfence", "cannot list"));
            await().atMost(Duration.ofSeconds(10)).until(() -> start.notReadyReason().isEmpty());
            assertThat(table.scripts).hasSize(1);
        }
    }

    @Test
    void offSweepsNothingWhileThisInstanceStandsByAndRemovesAgainOnceItJoins() {
        // review 210: in a rolling update from off to auto, the old instance's sweeps removed the chains the new one wrote
        try (HostGuardStart start = start(HostGuardMode.OFF, false)) {
            start.standingBy(true);
            table.listing = LEFT; // the instance it stands by for, under auto, guards a container
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> table.scripts.isEmpty());

            start.standingBy(false);

            await().atMost(Duration.ofSeconds(10)).until(() -> table.scripts.size() == 1);
        }
    }

    @Test
    void aDryRunReadsNothing() throws InterruptedException {
        table.listing = LEFT;
        try (HostGuardStart start = start(HostGuardMode.OFF, true)) {
            Thread.sleep(200);
            assertThat(table.listings).hasValue(0);
            assertThat(start.notReadyReason()).isEmpty();
        }
    }

    @Test
    void aTableThatCannotBeReadFailsTheStartUnderRequiredOnlyAndIsNoReadinessReasonUnderAuto() {
        table.failures.set(1);
        assertThatThrownBy(() -> start(HostGuardMode.REQUIRED, false)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("--host-guard required");
        table.failures.set(1);
        try (HostGuardStart start = start(HostGuardMode.AUTO, false)) {
            assertThat(start.notReadyReason()).isEmpty();
        }
    }

    private HostGuardStart start(HostGuardMode mode, boolean dryRun) {
        HostGuards guards = new HostGuards(mode, new NoSides(), table);
        return HostGuardStart.start(guards, dryRun, new SimpleMeterRegistry(), Duration.ofMillis(50));
    }

    /** A host table that lists what a test sets, fails its first listings as asked, and records scripts. */
    private static final class Table implements HostTable {
        volatile String listing = "";
        final AtomicInteger failures = new AtomicInteger();
        final AtomicInteger listings = new AtomicInteger();
        final List<String> scripts = new CopyOnWriteArrayList<>();

        @Override
        public void run(String script) {
            scripts.add(script);
            listing = "";
        }

        @Override
        public String list() throws IOException {
            listings.incrementAndGet();
            if (failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new IOException("nft: cannot list");
            }
            return listing;
        }

        @Override
        public String listChain(String chain) {
            return "";
        }
    }

    private static final class NoSides implements HostSides {
        @Override
        public Found of(Path nsFile) {
            return new Found(List.of(), List.of());
        }

        @Override
        public Map<String, Integer> hostLinks() {
            return Map.of();
        }
    }
}
