package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.netns.NamespaceId;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Review 203 #1: an instance fenced by another instance of its node (a rolling update with surge)
 * whose outcome is acknowledged while it stands by writes no live-set entry (its entry may be stale:
 * the other instance may have recorded the container anew, and a stale entry written after it would
 * make the next restart release a running container); and an entry it takes from the journal when
 * it joins again has its mark said again here, not cleared by an acknowledgement of its own.
 */
class ReconcilerStandbyOutcomeMarksTest extends ReconcilerFixture {

    private final List<CompletableFuture<Void>> acks = new CopyOnWriteArrayList<>();

    @Override
    LiveSetJournal journal() {
        return keepingJournal();
    }

    /** Each send settled by a test, through {@link #acks}. */
    @Override
    OutcomePublisher publisher() {
        return settling(outcome -> {
            CompletableFuture<Void> acked = new CompletableFuture<>();
            acks.add(acked);
            return acked;
        });
    }

    @Test
    void anOutcomeAcknowledgedWhileStandingByWritesNoEntry() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> handed.size() == 1);
        LiveContainer before = journaled.get("c1");
        assertThat(before.outcomeUnacknowledged()).isTrue();
        reconciler.standingBy(true); // fenced

        acks.get(0).complete(null);

        await("the entry as it was, mark and all").during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                .until(() -> journaled.get("c1") == before);
    }

    @Test
    void anEntryTakenFromTheJournalHasItsMarkSaidAgainNotClearedByThisInstancesAcknowledgement() throws Exception {
        policies.put("task-1", ALLOW_A);
        start("c1", "task-1");
        readsJournal();
        policies.put("task-1", ALLOW_B);
        await().atMost(Duration.ofSeconds(10)).until(() -> handed.size() == 1);
        reconciler.standingBy(true); // fenced by B
        acks.get(0).complete(null); // A's outcome acknowledged while it stands by: its mark is not written away
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                .until(() -> journaled.get("c1").outcomeUnacknowledged());
        // B records c1 anew (the same id restarted: a new pid and namespace), its own outcome not acknowledged
        LiveContainer ours = reconciler.liveSet().get("c1").orElseThrow();
        Files.delete(nsFile);
        int pid = restartedIn(PID + 1);
        LiveContainer theirs = new LiveContainer("c1", "task-1", "node-1", null, pid,
                new NamespaceId(enforcer.device, enforcer.inode), null, ours.policyDigest(), null, false, ours.backend(),
                ours.resolved(), Instant.now(), Instant.now(), ours.reported(), true);
        journaled.put("c1", theirs);

        reconciler.standingBy(false); // A joins again and takes the partitions over
        reconciler.partitionsAssigned();

        await("B's state said again by A").atMost(Duration.ofSeconds(10)).until(() -> handed.size() == 2);
        assertThat(handed.get(1)).satisfies(o -> {
            assertThat(o.containerId()).isEqualTo("c1");
            assertThat(o.status()).isEqualTo("applied");
            assertThat(o.policyDigest()).isEqualTo(theirs.policyDigest());
        });
        assertThat(journaled.get("c1")).satisfies(c -> {
            assertThat(c.pid()).isEqualTo(pid);
            assertThat(c.outcomeUnacknowledged()).as("until A's outcome of it is acknowledged").isTrue();
        });
    }

    /** From now on a take-over reads what {@link #journaled} holds. */
    private void readsJournal() {
        reconciler.readJournalOnTakeOver(new TakeOver.Journal() {
            @Override
            public void flush() {
            }

            @Override
            public java.util.Collection<String> unwritten() {
                return List.of();
            }

            @Override
            public List<LiveContainer> read() {
                return List.copyOf(journaled.values());
            }
        });
    }
}
