package dev.netfence.kafka;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which partitions {@code --assignment node-partition} reads, kept right while the events topic
 * grows. The target is the partition the default partitioner maps the node's key to for the
 * current partition count ({@link NodeRouting#partitionFor}); the count is re-read from the
 * consumer's metadata (refreshed every {@code metadata.max.age.ms}) at every {@link #check}. When
 * it changes, the new target is added and the old one is kept as <em>retiring</em>: it may still
 * hold unread events of this node, and producers with stale metadata keep writing there for up
 * to their own {@code metadata.max.age.ms} (5 minutes by default). A retiring partition is dropped
 * once it has been read to its end, everything read is committed, and {@link #RETIRE_GRACE} has
 * passed since it started retiring. At start (the clients' and so also after they are made again), every other partition where
 * the node's group has a committed offset (read under an earlier partition count, drained or not)
 * retires the same way, its grace counted from the start, so a restart soon after growth loses
 * nothing either: the cost is reading such a partition, skipping other nodes' events there, for
 * the grace after every start. A topic's partitions are never removed, so a count that fell means
 * the topic was deleted and made again (an operator dropping a poison backlog; netfence's own
 * consumer no longer makes it again, the schedulers' producers may), or a broker's metadata that
 * lags: that is not acted on (one stale answer would drop the work in hand and read a partition's
 * whole history again, review 191 #3), only reported ({@link #notFollowed}, {@code /readyz}) until
 * a restart assigns the partitions anew; before, it was not even reported (helper 189 #1: every
 * later event of the node went to a partition it never read, no outcome, {@code /readyz} 200).
 * While the topic is missing from the metadata, {@link #notFollowed} says that. Poll thread only,
 * but {@link #notFollowed}.
 */
final class NodePartitionAssigner {
    private static final Logger LOG = LoggerFactory.getLogger(NodePartitionAssigner.class);
    /** Twice the producers' default metadata.max.age.ms. */
    static final Duration RETIRE_GRACE = Duration.ofMinutes(10);

    private final String topic;
    private final NodeRouting routing;
    private final Clock clock;
    private final Duration grace;
    private final Map<TopicPartition, Long> retiringSince = new HashMap<>();
    private int partitions;
    /** What the last {@link #check} found that this instance does not follow, or null. */
    private volatile String notFollowed;
    /** The events topic was missing from the metadata at the last {@link #check}. */
    private volatile boolean missing;

    NodePartitionAssigner(String topic, NodeRouting routing, Clock clock, Duration grace) {
        this.topic = topic;
        this.routing = routing;
        this.clock = clock;
        this.grace = grace;
    }

    /** The first assignment for a topic of {@code count} partitions, with left-behind partitions retiring. */
    Set<TopicPartition> initial(Consumer<?, ?> consumer, int count) {
        partitions = count;
        Set<TopicPartition> target = target();
        if (routing.everyNode()) {
            return target;
        }
        Set<TopicPartition> all = IntStream.range(0, count).mapToObj(i -> new TopicPartition(topic, i))
                .collect(Collectors.toSet());
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(all, Duration.ofSeconds(10));
        Map<TopicPartition, Long> end = consumer.endOffsets(all, Duration.ofSeconds(10));
        for (TopicPartition tp : all) {
            OffsetAndMetadata c = committed.get(tp);
            if (target.contains(tp) || c == null) {
                continue;
            }
            // this node read it under an earlier partition count: also when drained it is read for the
            // grace from now, since the count may have changed just before this start (or before the
            // clients were made again) and producers with stale metadata still write there
            retiringSince.put(tp, clock.millis());
            if (c.offset() < end.getOrDefault(tp, 0L)) {
                LOG.info("{} holds {} records after this node's last commit there (an earlier partition count); "
                        + "reading them too", tp, end.get(tp) - c.offset());
            } else {
                LOG.info("{} was read by this node under an earlier partition count; reading it for {} more, for "
                        + "producers that still map this node there", tp, grace);
            }
        }
        return assignment();
    }

    /**
     * The new assignment when it changed since the last call (the topic grew, or a retiring
     * partition is done), else empty. {@code done} tells whether a retiring partition has been
     * read to its end and fully committed.
     */
    Optional<Set<TopicPartition>> check(Consumer<?, ?> consumer, java.util.function.Predicate<TopicPartition> done) {
        boolean changed = false;
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
        int count = infos == null ? 0 : infos.size();
        String last = notFollowed;
        missing = count == 0;
        notFollowed = count == 0 ? "events topic " + topic + " is missing from the broker's metadata (deleted?): no event"
                + " of this node is read"
                : count < partitions ? "events topic " + topic + " has " + count + " partition(s), fewer than the "
                + partitions + " this instance reads by (deleted and made again?): this node's events may go to a"
                + " partition it does not read; restart netfence to read the topic as it is now" : null;
        if (notFollowed != null && !notFollowed.equals(last)) {
            LOG.error("{}", notFollowed);
        }
        if (count > partitions) {
            Set<TopicPartition> before = target();
            partitions = infos.size();
            Set<TopicPartition> after = target();
            for (TopicPartition tp : before) {
                if (!after.contains(tp)) {
                    retiringSince.put(tp, clock.millis());
                }
            }
            LOG.warn("events topic {} grew to {} partitions: reading {} now, and {} until drained",
                    topic, partitions, after, retiringSince.keySet());
            changed = true;
        }
        long now = clock.millis();
        Set<TopicPartition> expired = new HashSet<>();
        retiringSince.forEach((tp, since) -> {
            if (now - since >= grace.toMillis() && done.test(tp)) {
                expired.add(tp);
            }
        });
        if (!expired.isEmpty()) {
            expired.forEach(retiringSince::remove);
            LOG.info("stopped reading {}: drained, and {} passed since the partition count changed", expired, grace);
            changed = true;
        }
        return changed ? Optional.of(assignment()) : Optional.empty();
    }

    /**
     * Re-assigns when the topic grew or a retiring partition is drained: the partitions leaving
     * are handed over (their work finished and committed), the new ones added.
     */
    void follow(Consumer<?, ?> c, PartitionBook book, PartitionHandover handover) {
        Optional<Set<TopicPartition>> next = check(c, tp -> {
            PartitionOffsets po = book.get(tp);
            Long end = c.endOffsets(Set.of(tp), Duration.ofSeconds(5)).get(tp);
            return po != null && po.uncommitted() == 0 && end != null && c.position(tp) >= end;
        });
        if (next.isEmpty()) {
            return;
        }
        List<TopicPartition> leaving = book.assignment().stream().filter(tp -> !next.get().contains(tp)).toList();
        if (!leaving.isEmpty()) {
            handover.revoked(leaving);
        }
        c.assign(next.get());
        handover.assigned(next.get().stream().filter(tp -> !book.holds(tp)).toList());
    }

    /**
     * What the last look at the events topic found that this instance does not follow: the topic
     * missing from the metadata, or fewer partitions than it reads by; empty when neither. Any thread.
     */
    Optional<String> notFollowed() {
        return Optional.ofNullable(notFollowed);
    }

    /** Whether the events topic was missing from the metadata at the last look. Any thread. */
    boolean missing() {
        return missing;
    }

    /** Partitions kept only until drained. */
    Set<TopicPartition> retiring() {
        return Set.copyOf(retiringSince.keySet());
    }

    private Set<TopicPartition> target() {
        return new HashSet<>(routing.partitionsToRead(topic, partitions));
    }

    private Set<TopicPartition> assignment() {
        Set<TopicPartition> s = new TreeSet<>((a, b) -> Integer.compare(a.partition(), b.partition()));
        s.addAll(target());
        s.addAll(retiringSince.keySet());
        return s;
    }
}
