package dev.netfence.kafka;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the events topic is still the one this instance began to read, for {@code /readyz}
 * (review 191 #4, #5): broker probe rounds ask for the topic's description ({@link BrokerProbe}). A topic missing
 * from it (deleted) is reported where asked ({@code --assignment group}; in {@code node-partition}
 * mode the consumer's own metadata reports it, {@link NodePartitionAssigner}), until it is made
 * again. A topic whose id differs from the one first seen was deleted and made again while this
 * instance read it, whatever its partition count: the consumer fetches on from the positions it
 * kept of the old topic, so where the new one already holds that many records the ones below are
 * never read, and nothing here can tell whether that happened. It is reported until a restart, not
 * acted on. A description that cannot be had (the broker away, a timeout) changes nothing: broker
 * reachability is reported on its own. Thread-safe.
 */
final class EventsTopicWatch {
    private static final Logger LOG = LoggerFactory.getLogger(EventsTopicWatch.class);

    /** The topic's id; empty when the broker has no such topic; an exception when it could not say. */
    interface Lookup {
        Optional<Uuid> topicId(String topic) throws Exception;
    }

    private final String topic;
    private final boolean reportMissing;
    private volatile Uuid first;
    private volatile boolean missing;
    private volatile String remade;
    private int rounds; // due()'s caller only
    /** A description every this many rounds. */
    static final int EVERY = 5;

    /** {@code reportMissing}: whether a missing topic is this watch's to report (group mode). */
    EventsTopicWatch(String topic, boolean reportMissing) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.reportMissing = reportMissing;
    }

    /** One round with {@code admin}'s description of the topic (3 s at most). */
    void check(Admin admin) {
        check(t -> {
            try {
                return Optional.of(admin.describeTopics(List.of(t)).topicNameValues().get(t).get(3, TimeUnit.SECONDS)
                        .topicId());
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                    return Optional.empty();
                }
                throw e;
            }
        });
    }

    /** One round with {@code lookup}. */
    void check(Lookup lookup) {
        Optional<Uuid> id;
        try {
            id = lookup.topicId(topic);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (Exception e) {
            return; // not known now: broker reachability speaks for it
        }
        boolean wasMissing = missing;
        missing = id.isEmpty();
        if (missing) {
            if (!wasMissing && reportMissing) {
                LOG.error("{}", missingReason());
            }
            return;
        }
        if (first == null) {
            first = id.get();
        } else if (!first.equals(id.get()) && remade == null) {
            remade = "events topic " + topic + " was deleted and made again while this instance read it (topic id "
                    + first + ", now " + id.get() + "): the positions kept from the old topic may have skipped the new"
                    + " one's first records; replay them (netfence replay) and restart netfence to read the topic as it"
                    + " is now";
            LOG.error("{}", remade);
        }
    }

    /**
     * Whether this round should describe the topic: every {@link #EVERY}th round, and every round
     * while the last description found it missing, so that a fleet's probes do not double the
     * metadata requests brokers serve for a change that is rare (reported within 10 s at the
     * probe's 2 s rounds), and a topic made again is seen at once. For one caller thread.
     */
    boolean due() {
        return rounds++ % EVERY == 0 || missing;
    }

    /** Why the events topic is not followed as it is, or empty. */
    Optional<String> reason() {
        if (remade != null) {
            return Optional.of(remade);
        }
        return reportMissing && missing ? Optional.of(missingReason()) : Optional.empty();
    }

    private String missingReason() {
        return "events topic " + topic + " is missing from the broker (deleted?): no event is read until it is made again";
    }
}
