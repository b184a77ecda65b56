package dev.netfence.kafka;

import dev.netfence.policy.store.PolicyStore;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * Why the pipeline is not ready to be sent events ({@code /readyz}), or empty when it is: the
 * consumer loop runs, its Kafka clients are not failing round after round nor standing by after
 * being fenced ({@link FencedStandby}: first, as they are why no assignment comes), a partition
 * assignment was received, the policy store caught up, the broker is reachable, the events topic is
 * there, with the partitions this instance reads by, and the one it began to read (not deleted,
 * not made again: {@link NodePartitionAssigner}, {@link EventsTopicWatch}), the producer answers
 * ({@link ProducerWatchdog}), no output is held or refused for long, no record has been unacknowledged for
 * longer than the stall timeout, and no assigned partition has had an open transaction for longer than that ({@link OpenTransactions}). The
 * first failing condition is named, in that order (the order an operator fixes them in).
 * Thread-safe: every part is.
 */
final class Readiness {
    private final BooleanSupplier looping;
    private final PartitionBook partitions;
    private final PolicyStore policies;
    private final FencedStandby standby;
    private final BrokerProbe probe;
    private final SendHealth sendHealth;
    private final ProducerWatchdog watchdog;
    private final PartitionMonitor monitor;
    private final OpenTransactions openTransactions;
    private final Duration stallTimeout;
    private final java.util.function.Supplier<Optional<String>> topic;

    Readiness(BooleanSupplier looping, PartitionBook partitions, PolicyStore policies, FencedStandby standby,
            BrokerProbe probe, SendHealth sendHealth, ProducerWatchdog watchdog, PartitionMonitor monitor, OpenTransactions openTransactions,
            Duration stallTimeout, java.util.function.Supplier<Optional<String>> topic) {
        this.looping = Objects.requireNonNull(looping, "looping");
        this.partitions = Objects.requireNonNull(partitions, "partitions");
        this.policies = Objects.requireNonNull(policies, "policies");
        this.standby = Objects.requireNonNull(standby, "standby");
        this.probe = Objects.requireNonNull(probe, "probe");
        this.sendHealth = Objects.requireNonNull(sendHealth, "sendHealth");
        this.watchdog = Objects.requireNonNull(watchdog, "watchdog");
        this.monitor = Objects.requireNonNull(monitor, "monitor");
        this.openTransactions = Objects.requireNonNull(openTransactions, "openTransactions");
        this.stallTimeout = Objects.requireNonNull(stallTimeout, "stallTimeout");
        this.topic = Objects.requireNonNull(topic, "topic");
    }

    Optional<String> notReadyReason() {
        if (!looping.getAsBoolean()) {
            return Optional.of("the consumer loop is not running");
        }
        // first: clients that keep failing (a bad kafka.* setting, a refused ACL) are why no assignment comes
        Optional<String> standingBy = standby.reason();
        if (standingBy.isPresent()) {
            return standingBy;
        }
        if (!partitions.assignedOnce()) {
            return Optional.of("no partition assignment received yet");
        }
        if (!policies.isCaughtUp()) {
            return Optional.of("the policy store has not caught up" + policies.notReadyReason().map(r -> ": " + r)
                    .orElse(""));
        }
        Optional<String> store = policies.notReadyReason();
        if (store.isPresent()) {
            return store;
        }
        if (!probe.reachable()) {
            return Optional.of("the Kafka broker is not reachable");
        }
        Optional<String> missing = topic.get();
        if (missing.isPresent()) {
            return missing;
        }
        return watchdog.notReadyReason().or(sendHealth::notReadyReason).or(() -> monitor.stalled(stallTimeout))
                .or(() -> openTransactions.stalled(stallTimeout));
    }
}
