package dev.netfence.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.event.Outcome;
import dev.netfence.event.OutcomeCodec;
import dev.netfence.ops.OutcomeSummary;
import dev.netfence.ops.OutcomeTally;
import dev.netfence.ops.OutcomeTable;
import dev.netfence.ops.TopicRange;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code netfence outcomes}: reads the outcome topic (read_committed) and shows it to people or
 * scripts. By default: the latest outcomes as a table, then the summary (counts by status and
 * error code, latency p50/p95/p99, latest failures). {@code --summary} prints only the summary,
 * {@code --json} prints outcome JSON lines (or the summary as one JSON object), {@code --follow}
 * keeps printing outcomes as they arrive until interrupted or {@code --count} are printed.
 */
@Command(name = "outcomes", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Show policy outcomes: a table and a summary, JSON lines, or a live tail.",
        footerHeading = "%nExamples:%n",
        footer = {
                "  netfence outcomes --since -1h                 # table of the last hour + summary",
                "  netfence outcomes --since -24h --summary      # counts, codes, latency percentiles, failures",
                "  netfence outcomes --status failed --json | jq .error",
                "  netfence outcomes --follow --since -5m --container \"$CID\" --count 1 --wait 60s --json  # wait for one outcome",
                "",
                "Without --since: everything retained, or (with --follow) only new outcomes. The topic is read",
                "through, not held: --json prints each line as it is read (a read that fails part way, exit 3,",
                "leaves those printed before); the table keeps only the newest --limit rows.",
                "Exit codes: 0 ok, 1 invalid input, 2 usage, 3 Kafka failure."})
public final class OutcomesCommand implements Callable<Integer> {

    private static final Set<String> STATUSES = Set.of("applied", "failed", "skipped", "removed");

    @Mixin
    OpsOptions ops;

    @Spec
    CommandSpec spec;

    @Option(names = {"-f", "--follow"}, description = "Keep printing outcomes as they arrive.")
    boolean follow;

    @Option(names = "--since", paramLabel = "TIME", description = "Outcomes published at or after TIME (RFC 3339 or -15m).")
    String since;

    @Option(names = "--status", paramLabel = "STATUS", description = "Only applied, failed, skipped or removed.")
    String status;

    @Option(names = "--node", paramLabel = "NODE", description = "Only outcomes from this node id.")
    String node;

    @Option(names = "--task", paramLabel = "TASK", description = "Only outcomes for this task id.")
    String task;

    @Option(names = "--container", paramLabel = "ID", description = "Only outcomes for this container id (the whole id, as the event gives it).")
    String container;

    @Option(names = "--summary", description = "Print only the summary.")
    boolean summaryOnly;

    @Option(names = "--json", description = "Outcome JSON lines (with --summary: the summary as JSON).")
    boolean json;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "20",
            description = "Table rows and latest failures shown (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--count", paramLabel = "N", description = "With --follow: stop after N matching outcomes.")
    Integer count;

    @Option(names = "--wait", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "With --follow: stop after DURATION; with --count, fewer outcomes by then is exit 3.")
    Duration wait;

    private final Clock clock;
    private final OutcomeCodec codec = new OutcomeCodec();

    public OutcomesCommand() {
        this(Clock.systemUTC());
    }

    OutcomesCommand(Clock clock) {
        this.clock = clock;
    }

    @Override
    public Integer call() {
        if (follow && summaryOnly) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--follow and --summary cannot be combined");
        }
        if ((count != null || wait != null) && !follow) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--count and --wait need --follow");
        }
        if (limit < 0 || (count != null && count < 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be >= 0 and --count >= 1");
        }
        return ops.execute(() -> {
            if (status != null && !STATUSES.contains(status)) {
                throw new InvalidInputException("--status must be applied, failed, skipped or removed, was '" + status + "'");
            }
            Instant start = since == null ? null : TimeArgument.parse(since, clock);
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(ops.consumerConfig())) {
                if (follow) {
                    return follow(consumer, start);
                }
                return snapshot(consumer, start);
            }
        });
    }

    private int snapshot(KafkaConsumer<byte[], byte[]> consumer, Instant start) throws Exception {
        TopicRange range = TopicRange.between(consumer, ops.outcomesTopic(), start, null, ops.timeout());
        PrintWriter out = spec.commandLine().getOut();
        boolean lines = json && !summaryOnly; // printed as read: nothing of them is kept
        OutcomeTally tally = new OutcomeTally(summaryOnly || json ? 0 : limit, Math.min(limit, 10));
        long[] unreadable = {0};
        range.read(consumer, ops.timeout(), record -> {
            Outcome outcome = decode(record, unreadable);
            if (outcome != null && matches(outcome)) {
                if (lines) {
                    out.println(new String(record.value(), StandardCharsets.UTF_8));
                } else {
                    tally.add(outcome);
                }
            }
        });
        if (json && summaryOnly) {
            out.println(new ObjectMapper().writeValueAsString(summaryJson(tally.summary(), unreadable[0])));
        } else if (!json) {
            OutcomeSummary summary = tally.summary();
            if (!summaryOnly && summary.total() > 0) {
                out.print(OutcomeTable.rows(tally.newest()));
                out.println();
            }
            out.print(OutcomeTable.summary(summary));
            if (unreadable[0] > 0) {
                out.println("\n" + unreadable[0] + " record(s) were not outcome v1 JSON and are not counted");
            }
        }
        out.flush();
        return Main.OK;
    }

    private int follow(KafkaConsumer<byte[], byte[]> consumer, Instant start) {
        TopicRange range = TopicRange.between(consumer, ops.outcomesTopic(), start, null, ops.timeout());
        consumer.assign(range.start().keySet());
        range.start().forEach((tp, offset) -> consumer.seek(tp, start == null ? range.end().get(tp) : offset));
        PrintWriter out = spec.commandLine().getOut();
        Thread main = Thread.currentThread();
        Thread hook = new Thread(() -> {
            consumer.wakeup();
            try {
                main.join(ops.timeout().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "netfence-outcomes-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        int printed = 0;
        long[] unreadable = {0};
        if (!json) {
            out.print(OutcomeTable.followHeader());
            out.flush();
        }
        long deadline = wait == null ? 0 : System.nanoTime() + wait.toNanos();
        try {
            while ((count == null || printed < count) && (wait == null || System.nanoTime() - deadline < 0)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    Outcome outcome = decode(record, unreadable);
                    if (outcome == null || !matches(outcome) || (count != null && printed >= count)) {
                        continue;
                    }
                    out.print(json ? new String(record.value(), StandardCharsets.UTF_8) + "\n" : OutcomeTable.followRow(outcome));
                    out.flush();
                    printed++;
                }
            }
        } catch (WakeupException e) {
            return Main.OK; // Ctrl-C: stop quietly
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting
            }
        }
        if (wait != null && count != null && printed < count) {
            throw new IllegalStateException("only " + printed + " of " + count + " outcome(s) arrived within "
                    + wait.toSeconds() + "s");
        }
        return Main.OK;
    }

    private Outcome decode(ConsumerRecord<byte[], byte[]> record, long[] unreadable) {
        if (record.value() == null) {
            unreadable[0]++;
            return null;
        }
        try {
            return codec.decode(record.value());
        } catch (RuntimeException e) {
            unreadable[0]++;
            return null;
        }
    }

    private boolean matches(Outcome o) {
        return (status == null || status.equals(o.status())) && (node == null || node.equals(o.nodeId()))
                && (task == null || task.equals(o.taskId())) && (container == null || container.equals(o.containerId()));
    }

    private static java.util.Map<String, Object> summaryJson(OutcomeSummary s, long unreadable) {
        java.util.Map<String, Object> json = new java.util.LinkedHashMap<>();
        json.put("total", s.total());
        json.put("byStatus", s.statusCounts());
        json.put("byErrorCode", new java.util.TreeMap<>(s.byErrorCode()));
        json.put("replays", s.replays());
        json.put("latencyMs", s.latency());
        json.put("latestFailures", s.latestFailures().stream().map(f -> java.util.Map.of(
                "containerId", f.containerId(), "code", String.valueOf(f.errorCode()),
                "finishedAt", OutcomeCodec.INSTANT_FORMAT.format(f.finishedAt()),
                "message", f.error() == null ? "" : String.valueOf(f.error().message()))).toList());
        json.put("unreadable", unreadable);
        return json;
    }
}
