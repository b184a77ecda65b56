package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * When a container's journal write settles, which is when the event that made it may be committed:
 * once the broker acknowledged it, or once it failed (kept to be written again); one replaced while
 * queued, or failed in flight after a newer write of its key was queued, settles with the newer
 * write; a write queued over a failed one waits for its own acknowledgement; and one the close
 * fails never settles, for no retry will come in this process.
 */
class JournalWritesSettlingTest extends JournalWritesFixture {
    @Test
    void aWriteQueuedOverAFailedOneQueuedForItsRetryIsNotSettledBeforeTheBrokerAcknowledgesIt() {
        writes.write("c1", V1);
        writes.drain();
        producer.errorNext(expired()); // settles the failed write: the pipeline must not stall behind the journal
        assertThat(writes.retryFailed()).isEqualTo(1);

        writes.write("c1", V2); // an event's change, queued over the retry before the sender took it

        assertThat(writes.settled("c1")).as("its event's offset must wait for this write").isNotDone();
        writes.drain();
        assertThat(writes.settled("c1")).isNotDone();
        producer.completeNext();
        assertThat(writes.settled("c1")).isDone();
        assertThat(sentValues()).containsExactly("v1", "v2");
    }

    @Test
    void aWriteTheCloseFailsDoesNotSettleSoTheEventWaitingForItIsNotCommitted() {
        writes.write("c1", V1);
        writes.write("c2", V1);
        writes.drain();
        producer.errorNext(expired()); // failed before the close: settles, and would be written again
        assertThat(writes.settled("c1")).isDone();

        writes.close(Duration.ofSeconds(1));
        producer.errorNext(new org.apache.kafka.common.KafkaException("Producer is closed forcefully."));

        assertThat(writes.settled("c2")).as("no retry will come in this process").isNotDone();
        assertThat(writes.unwritten()).containsExactlyInAnyOrder("c1", "c2");
    }

    @Test
    void aKeysWriteSettlesOnlyWhenTheBrokerAcknowledgesIt() {
        assertThat(writes.settled("c1")).isDone();
        writes.write("c1", V1);
        CompletableFuture<Void> settled = writes.settled("c1");
        assertThat(settled).isNotDone();
        writes.drain();
        assertThat(settled).isNotDone();

        producer.completeNext();
        assertThat(settled).isCompleted();
        assertThat(writes.settled("c1")).isDone();
    }

    @Test
    void aWriteReplacedWhileQueuedSettlesWithTheWriteThatReplacedIt() {
        writes.write("c1", V1);
        CompletableFuture<Void> first = writes.settled("c1");
        writes.write("c1", V2);
        CompletableFuture<Void> second = writes.settled("c1");
        writes.drain();
        assertThat(first).isNotDone();

        producer.completeNext();
        assertThat(sentValues()).containsExactly("v2");
        assertThat(first).isCompleted();
        assertThat(second).isCompleted();
    }

    @Test
    void aWriteInFlightSettlesByItselfWhenANewerOneFollows() {
        writes.write("c1", V1);
        CompletableFuture<Void> first = writes.settled("c1");
        writes.drain();
        writes.write("c1", V2);
        CompletableFuture<Void> second = writes.settled("c1");

        producer.completeNext();
        assertThat(first).isCompleted();
        assertThat(second).isNotDone();
        writes.drain();
        producer.completeNext();
        assertThat(second).isCompleted();
    }

    @Test
    void aWriteInFlightThatFailsAfterANewerOneWasQueuedSettlesWithTheNewerOne() {
        writes.write("c1", V1);
        CompletableFuture<Void> first = writes.settled("c1");
        writes.drain();
        writes.write("c1", V2);
        CompletableFuture<Void> second = writes.settled("c1");

        producer.errorNext(expired());
        assertThat(first).as("its state is not in the journal, nor the newer one yet").isNotDone();
        writes.drain();
        producer.completeNext();
        assertThat(sentValues()).containsExactly("v1", "v2");
        assertThat(second).isCompleted();
        assertThat(first).isCompleted();
    }

    @Test
    void aFailedWriteSettlesAndIsKeptToBeWrittenAgain() {
        writes.write("c1", V1);
        CompletableFuture<Void> settled = writes.settled("c1");
        writes.drain();
        producer.errorNext(expired());

        assertThat(settled).isCompleted();
        assertThat(writes.unwritten()).containsExactly("c1");
        assertThat(writes.retryFailed()).isEqualTo(1);
    }
}
