package dev.netfence.cli;

import dev.netfence.event.ContainerEvent;
import dev.netfence.event.EventDecoder;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.ops.EventReplayer;
import dev.netfence.ops.LatestOutcomes;
import dev.netfence.ops.TopicRange;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code netfence replay}: re-drives the container events published between two times through
 * the running pipeline (see {@link EventReplayer}): finds the offsets with offsetsForTimes,
 * re-publishes matching events with the header {@code netfence.replay=true}, prints progress and
 * a summary. {@code --dry-run} lists what would be replayed and sends nothing.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Re-drive container events from a time window through the running pipeline.",
        footerHeading = "%nExamples:%n",
        footer = {
                "  netfence replay --from -30m --dry-run              # list the last 30 minutes",
                "  netfence replay --from 2026-11-28T15:00:00Z --to 2026-11-28T15:20:00Z --node worker-7",
                "  netfence replay --from -2h --task task-42",
                "  netfence replay --from -6h --node worker-7 --only-failed --dry-run",
                "",
                "TIME: RFC 3339 (2026-11-28T15:00:00Z), a date (2026-11-28), 'now' or a duration ago (-15m, 2h).",
                "Replayed outcomes carry \"replay\": true. Records that are themselves replays are skipped.",
                "Exit codes: 0 ok, 1 invalid input, 2 usage, 3 Kafka failure or events not re-published."})
public final class ReplayCommand implements Callable<Integer> {

    @Mixin
    OpsOptions ops;

    @Spec
    CommandSpec spec;

    @Option(names = "--from", required = true, paramLabel = "TIME", description = "Replay events published at or after TIME.")
    String from;

    @Option(names = "--to", paramLabel = "TIME", description = "... and before TIME (default: now).")
    String to;

    @Option(names = "--node", paramLabel = "NODE", description = "Only events for this node id.")
    String node;

    @Option(names = "--task", paramLabel = "TASK", description = "Only events for this task id.")
    String task;

    @Option(names = "--only-failed", description = "Only events whose newest outcome failed or that have none"
            + " (outcomes read from an hour before --from on).")
    boolean onlyFailed;

    @Option(names = "--dry-run", description = "List the events that would be replayed; send nothing.")
    boolean dryRun;

    /** How far before --from outcomes are read: an event's outcome is stamped by netfence's clock, not the publisher's. */
    static final java.time.Duration OUTCOME_MARGIN = java.time.Duration.ofHours(1);

    private final Clock clock;

    public ReplayCommand() {
        this(Clock.systemUTC());
    }

    ReplayCommand(Clock clock) {
        this.clock = clock;
    }

    @Override
    public Integer call() {
        return ops.execute(() -> {
            Instant start = TimeArgument.parse(from, clock);
            Instant end = to == null ? clock.instant() : TimeArgument.parse(to, clock);
            if (!start.isBefore(end)) {
                throw new InvalidInputException("--from (" + start + ") must be before --to (" + end + ")");
            }
            PrintWriter out = spec.commandLine().getOut();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(ops.consumerConfig());
                 KafkaProducer<byte[], byte[]> producer = dryRun ? null : new KafkaProducer<>(ops.producerConfig())) {
                TopicRange range = TopicRange.between(consumer, ops.eventsTopic(), start, to == null ? null : end,
                        ops.timeout());
                out.println((dryRun ? "dry run: " : "") + "replaying " + ops.eventsTopic() + " from " + start + " to "
                        + (to == null ? "now" : end) + filterText() + ": " + range.span() + " offsets in "
                        + range.start().size() + " partitions");
                out.flush();
                EventReplayer.Filter filter = new EventReplayer.Filter(node, task, onlyFailed ? unsettled(start, out) : null);
                EventReplayer replayer = new EventReplayer(consumer, producer, new EventDecoder(), ops.timeout());
                EventReplayer.Summary summary = replayer.replay(range, filter, new Printer(out, dryRun));
                out.println(summaryText(summary));
                out.flush();
                if (summary.failed() > 0) {
                    throw new IllegalStateException(summary.failed() + " event(s) could not be re-published");
                }
            }
            return Main.OK;
        });
    }

    /** With --only-failed: the newest outcome of each event, from the outcomes topic, as a filter by event id. */
    private java.util.function.Predicate<ContainerEvent> unsettled(Instant start, PrintWriter out) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(ops.consumerConfig())) {
            out.println("reading " + ops.outcomesTopic() + " from " + start.minus(OUTCOME_MARGIN) + " for --only-failed");
            out.flush();
            LatestOutcomes outcomes = LatestOutcomes.read(consumer, ops.outcomesTopic(), start.minus(OUTCOME_MARGIN),
                    ops.timeout(), node, task);
            out.println("outcomes of " + outcomes.events() + " events read from " + ops.outcomesTopic()
                    + (outcomes.unreadable() > 0 ? " (" + outcomes.unreadable() + " unreadable records)" : "")
                    + ": replaying only those whose newest outcome failed (and whose container has no later one"
                    + " that did not), or that have none");
            out.flush();
            return e -> outcomes.failedOrMissing(e.eventId(), e.containerId());
        }
    }

    private String filterText() {
        StringBuilder text = new StringBuilder();
        if (node != null) {
            text.append(" node ").append(node);
        }
        if (task != null) {
            text.append(" task ").append(task);
        }
        return text.length() == 0 ? "" : " (only" + text + ")";
    }

    private String summaryText(EventReplayer.Summary s) {
        return (dryRun ? "would replay " + s.matched() : "replayed " + s.replayed() + " of " + s.matched())
                + " matching events; scanned " + s.scanned() + " records: " + s.filteredOut() + " other node/task, "
                + s.earlierReplays() + " earlier replays, " + s.notReplayable() + " invalid"
                + (onlyFailed ? ", " + s.settled() + " not failed" : "")
                + (s.failed() > 0 ? ", " + s.failed() + " FAILED to re-publish" : "");
    }

    /** Prints each matching event (dry run) and progress lines. */
    private static final class Printer implements EventReplayer.Listener {
        private final PrintWriter out;
        private final boolean list;

        Printer(PrintWriter out, boolean list) {
            this.out = out;
            this.list = list;
        }

        @Override
        public void matched(ConsumerRecord<byte[], byte[]> record, ContainerEvent event) {
            if (list) {
                out.println(record.topic() + "-" + record.partition() + "@" + record.offset() + "  "
                        + OutcomeCodec.INSTANT_FORMAT.format(event.occurredAt()) + "  " + event.nodeId() + "  "
                        + event.taskId() + "  " + event.containerId() + "  " + event.eventId());
            }
        }

        @Override
        public void progress(long scanned, long span, long matched) {
            out.println("progress: scanned " + scanned + " of ~" + span + " offsets, " + matched + " matching");
            out.flush();
        }
    }
}
