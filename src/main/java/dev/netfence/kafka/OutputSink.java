package dev.netfence.kafka;

import java.util.Collection;
import java.util.List;

/**
 * How finished records leave the pipeline and how offsets get committed: at-least-once (outputs
 * sent at once, a record is done when they are acknowledged, offsets committed separately) or
 * exactly-once (outputs held and sent together with the offsets in one transaction). Called
 * only from the poll thread.
 */
interface OutputSink extends AutoCloseable {
    /** The record at {@code offset} finished with these outputs (possibly none). */
    void emit(PartitionOffsets partition, long offset, List<Output> outputs);

    /** Commits what may be committed for these partitions; {@code sync} waits for the broker. */
    void commit(Collection<PartitionOffsets> partitions, boolean sync);

    /** A stop's last commit, after its drain: synchronous, and bounded where it could otherwise outlast the stop. */
    default void commitFinal(Collection<PartitionOffsets> partitions) {
        commit(partitions, true);
    }

    /**
     * The clients are about to be closed (a stop, or their recreation): what fails from now on
     * because of that is no output's refusal and is done again by the next clients.
     */
    default void closing() {
    }

    /** Outputs handed to the producer and not yet acknowledged (the shutdown drain waits for them). */
    default int pending() {
        return 0;
    }

    @Override
    void close();

    /** The clients are unusable (fenced, out of sequence, not authorised): recreate them. */
    final class FatalClientException extends RuntimeException {
        FatalClientException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
