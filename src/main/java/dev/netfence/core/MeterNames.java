package dev.netfence.core;

/**
 * The names of netfence's own meters, in one place so every package that records a meter (the
 * enforcer, the pipeline, the HTTP server) and the docs use the same strings. Micrometer names
 * with dots; Prometheus shows them with underscores and a unit suffix (e.g.
 * {@code netfence.outcomes} becomes {@code netfence_outcomes_total}). The full list with tags is
 * in docs/contracts.md ("Metrics").
 */
public final class MeterNames {

    /**
     * Counter, tag {@code type}: records read from the events topic, each once; the tag is the
     * event type, or {@code malformed}, {@code invalid}, {@code unknown}, or {@code unparsed} (a
     * record skipped by its key for another node, its value not read).
     */
    public static final String EVENTS_CONSUMED = "netfence.events.consumed";
    /** Counter, tag {@code reason} ({@code other-node}, {@code unknown-type}, {@code keyless-other-owner}): records read and skipped. */
    public static final String EVENTS_SKIPPED = "netfence.events.skipped";
    /**
     * Counter, tag {@code side}: in {@code --assignment group}, records whose key is not their
     * nodeId: {@code named} (the value names this node: handled here), {@code keyed} (the key
     * names this node, the value another: left to that node).
     */
    public static final String EVENTS_MISKEYED = "netfence.events.miskeyed";
    /** Counter, tags {@code status}, {@code code}: outcomes published. */
    public static final String OUTCOMES = "netfence.outcomes";
    /** Counter, tag {@code code}: enforcement retries. */
    public static final String RETRIES = "netfence.retries";
    /** Counter, tag {@code code}: records written to the dead-letter topic. */
    public static final String DLQ_RECORDS = "netfence.dlq.records";
    /**
     * Counter, tag {@code topic}: outputs (outcomes, dead letters) netfence sends again after a failed
     * attempt: in exactly-once mode the outputs of an aborted transaction that go into the next one, in
     * at-least-once mode an output re-sent in a replacement form (a dead letter without its value).
     * The producer's own in-order retries of retriable errors are the client metric
     * {@code kafka.producer.record.retry.total}.
     */
    public static final String SEND_RETRIES = "netfence.send.retries";
    /**
     * Counter, tags {@code topic}, {@code kind} ({@code retriable}: still failing after the producer's
     * {@code delivery.timeout.ms}; {@code terminal}: refused for good, e.g. too large or not authorised),
     * {@code error} (exception simple name): sends that failed for good.
     */
    public static final String SEND_ERRORS = "netfence.send.errors";
    /** Counter, tag {@code error} (exception simple name): exactly-once transactions aborted. */
    public static final String TRANSACTIONS_ABORTED = "netfence.transactions.aborted";
    /** Counter (tag {@code error}): an at-least-once offset commit that failed (it is tried again). */
    public static final String COMMIT_FAILURES = "netfence.commit.failures";
    /**
     * Counter, tag {@code risk} ({@code CAP_NET_ADMIN}, {@code CAP_NET_RAW}): applies into a container
     * holding a capability that lets it get around its rules, counted once per apply and risk.
     */
    public static final String RISKS = "netfence.risks";
    /** Timer: time to apply and verify the rules of one event. */
    public static final String APPLY_DURATION = "netfence.apply.duration";
    /** Timer: from the event's {@code occurredAt} to its outcome being acknowledged. */
    public static final String EVENT_LATENCY = "netfence.event.latency";
    /** Gauge: host interfaces guarded by netfence's host table ({@code --host-guard}). */
    public static final String HOST_GUARDS = "netfence.host.guards";
    /**
     * Gauge: trips into container namespaces given up at their deadline and still running there
     * (each on a thread of its own; a workload committing to its ruleset without pause can hold one).
     */
    public static final String TRIPS_ABANDONED = "netfence.nft.trips.abandoned";
    /** Gauge: records read and not yet committed (what --max-in-flight bounds), not only those being enforced. */
    public static final String INFLIGHT = "netfence.inflight";
    /** Gauge: partitions paused by back-pressure. */
    public static final String PARTITIONS_PAUSED = "netfence.partitions.paused";
    /**
     * Gauge, tags {@code topic}, {@code partition}: records of an assigned events partition not yet
     * committed by this instance (log end as of the last fetch minus the first uncommitted offset).
     * Unlike the client's fetch lag it grows while records are read but never acknowledged.
     */
    public static final String PARTITION_COMMITTED_LAG = "netfence.partition.committed.lag";
    /**
     * Gauge, tags {@code topic}, {@code partition}: records of an assigned events partition written
     * past its last stable offset (end offset read uncommitted minus read committed): an open
     * transaction's and those behind it, which netfence ({@code read_committed}) does not read yet.
     */
    public static final String PARTITION_UNSTABLE_RECORDS = "netfence.partition.unstable.records";
    /**
     * Counter, tag {@code by} ({@code group.instance.id}, {@code transactional.id}): times another
     * instance of this node fenced this one out.
     */
    public static final String FENCED = "netfence.fenced";
    /** Gauge: 1 while this instance stands by after being fenced out, else 0. */
    public static final String FENCED_STANDBY = "netfence.fenced.standby";
    /** Gauge: live-set journal entries not yet acknowledged by the enforcements topic. */
    public static final String JOURNAL_UNWRITTEN = "netfence.live.journal.unwritten";
    /** Counter (tag {@code reason}): a reconciler outcome that was not published and is not sent again. */
    public static final String OUTCOMES_UNPUBLISHED = "netfence.outcomes.unpublished";
    /** Counter: the pipeline's Kafka clients recreated after a failure other than a fence. */
    public static final String CLIENTS_RECREATED = "netfence.kafka.clients.recreated";
    /** Time gauge: how long the oldest record read but not yet committed has waited (0 when none). */
    public static final String OLDEST_UNACKNOWLEDGED_AGE = "netfence.oldest.unacknowledged.age";

    private MeterNames() {
    }

    /** Gauge: 1 while this instance serves the OCI hook's socket, else 0 (when {@code --hook-socket} is set). */
    public static final String HOOK_SERVING = "netfence.hook.serving";
}
