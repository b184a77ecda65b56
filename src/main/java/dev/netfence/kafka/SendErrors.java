package dev.netfence.kafka;

import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.errors.UnsupportedForMessageFormatException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Sorts what went wrong with a send (a producer callback's exception, or what a transaction
 * method threw) into the four things netfence does about it, in one place so both sinks agree.
 * {@link Kind#RETRIABLE} errors are the idempotent producer's to retry, in order, until
 * {@code delivery.timeout.ms}: netfence never re-sends them itself (a re-send could put a
 * container's outcome N after N+1); when one still reaches a callback the producer has given up.
 * {@link Kind#TOO_LARGE} and {@link Kind#TERMINAL} refuse this one record for good: re-sending it
 * unchanged can only fail again, so it is replaced (a dead letter without its value, an outcome by
 * its event's dead letter) or held. {@link Kind#FATAL} means the producer itself is unusable
 * (fenced, out of sequence, not authorised for its transactional id): the clients are recreated.
 * The cause chain is searched, because transaction methods wrap the error of the batch behind them.
 * A record refused for its timestamp ({@link #clockRefused}) counts as {@link Kind#RETRIABLE}: the
 * producer stamps records with this node's clock, so the refusal is the node's (a clock more than
 * the broker's {@code log.message.timestamp.after.max.ms}, one hour by default, ahead), not the
 * record's, and replacing an outcome by its event's dead letter would leave the event without an
 * outcome once the clock is right; its partition commits no further until the broker takes it.
 * A record the producer dropped because it was closed with the record unacknowledged
 * ({@link #producerClosed}: netfence tearing its clients down) counts as {@link Kind#FATAL}: the
 * broker refused nothing, and the record, never committed, is done again by the next clients.
 */
final class SendErrors {
    enum Kind {
        /** Transient (network, leader change, timeout): the producer retried it until its delivery timeout. */
        RETRIABLE,
        /** The record is larger than the topic or the producer accepts. */
        TOO_LARGE,
        /** The record is refused for good for another reason (topic not authorised, invalid record, bad topic). */
        TERMINAL,
        /** The producer cannot be used any more. */
        FATAL
    }

    private SendErrors() {}

    static Kind classify(Throwable error) {
        if (clockRefused(error)) {
            return Kind.RETRIABLE;
        }
        if (producerClosed(error)) {
            return Kind.FATAL;
        }
        Kind found = null;
        for (Throwable t = error; t != null; t = t.getCause()) {
            Kind k = direct(t);
            if (k == Kind.FATAL) {
                return k;
            }
            if (found == null || found == Kind.RETRIABLE && k != null) {
                found = k;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return found != null ? found : Kind.TERMINAL;
    }

    /** The broker's words for a record whose timestamp it refuses, in a batch of several refused records. */
    private static final java.util.regex.Pattern TIMESTAMP_OUT_OF_RANGE =
            java.util.regex.Pattern.compile("^Timestamp -?\\d+ of message with offset \\d+ is out of range");

    /**
     * Whether the broker refused the record for its timestamp: {@link InvalidTimestampException}
     * where the batch held one refused record; where it held several the producer hands each an
     * {@link InvalidRecordException} with only the broker's message to say why ({@code Timestamp T of
     * message with offset O is out of range...}, or the partition's {@code One or more records have
     * been rejected due to invalid timestamp}), which is matched here.
     */
    static boolean clockRefused(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InvalidTimestampException) {
                return true;
            }
            String m = t.getMessage();
            if (t instanceof InvalidRecordException && m != null && (TIMESTAMP_OUT_OF_RANGE.matcher(m).find()
                    || m.startsWith("One or more records have been rejected due to invalid timestamp"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code error} is the producer's own report of being closed with records or
     * transaction requests outstanding ({@code close} with a timeout that ran out): kafka-clients'
     * {@code KafkaException} "Producer is closed forcefully." for each unacknowledged batch, "The
     * producer closed forcefully" for a transaction's requests (4.1's words, matched exactly: a
     * plain {@code KafkaException} carries nothing else to tell them by).
     */
    static boolean producerClosed(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage();
            if (t.getClass() == org.apache.kafka.common.KafkaException.class && m != null
                    && (m.equals("Producer is closed forcefully.") || m.equals("The producer closed forcefully"))) {
                return true;
            }
        }
        return false;
    }

    /** What an operator should look at for {@code error}: the clock when {@link #clockRefused}, else nothing (empty). */
    static String hint(Throwable error) {
        return clockRefused(error) ? "; the broker refuses the record's timestamp, which is this node's clock: is it more"
                + " than the topic's message.timestamp.after.max.ms (1 h by default) ahead of the broker's, or more than"
                + " message.timestamp.before.max.ms behind?" : "";
    }

    /** Whether this failure is the record's own (replace or hold it), not the producer's or the network's. */
    static boolean refusesRecord(Throwable error) {
        Kind k = classify(error);
        return k == Kind.TOO_LARGE || k == Kind.TERMINAL;
    }

    /** The exception that names the problem: the first in the cause chain that {@link #classify} recognises. */
    static Throwable rootOf(Throwable error) {
        for (Throwable t = error; t != null && t.getCause() != t; t = t.getCause()) {
            Kind k = direct(t);
            if (k != null && k != Kind.RETRIABLE || t.getCause() == null) {
                return t;
            }
        }
        return error;
    }

    private static Kind direct(Throwable t) {
        if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException
                || t instanceof OutOfOrderSequenceException || t instanceof FencedInstanceIdException
                || t instanceof TransactionalIdAuthorizationException || t instanceof ClusterAuthorizationException
                || t instanceof AuthenticationException || t instanceof UnsupportedVersionException
                || t instanceof IllegalStateException) {
            return Kind.FATAL;
        }
        if (t instanceof RecordTooLargeException || t instanceof RecordBatchTooLargeException) {
            return Kind.TOO_LARGE;
        }
        if (t instanceof TopicAuthorizationException || t instanceof InvalidRecordException
                || t instanceof InvalidTopicException || t instanceof SerializationException
                || t instanceof UnsupportedForMessageFormatException) {
            return Kind.TERMINAL;
        }
        if (t instanceof RetriableException || t instanceof TransactionAbortedException
                || t instanceof org.apache.kafka.common.errors.TransactionAbortableException) {
            // abortable: the transaction's to abort and try again (KIP-890), not the record's to replace
            return Kind.RETRIABLE;
        }
        return null;
    }
}
