package dev.netfence.ops;

import dev.netfence.event.Outcome;
import dev.netfence.core.Printable;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Renders outcomes for people: one aligned row per outcome, and the summary block (counts by
 * status and error code, latency percentiles, latest failures with their messages). Pure text in,
 * text out, so the exact layout is tested; the command decides what to print and where.
 */
public final class OutcomeTable {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final String[] HEADER =
            {"FINISHED", "STATUS", "CODE", "NODE", "TASK", "CONTAINER", "LATENCY", "TRIES", "REPLAY"};

    private OutcomeTable() {
    }

    /** A header and one row per outcome, columns padded to the widest cell. */
    public static String rows(List<Outcome> outcomes) {
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADER);
        for (Outcome o : outcomes) {
            rows.add(row(o));
        }
        return align(rows);
    }

    /** The header line for --follow, where rows are printed as they arrive (not aligned). */
    public static String followHeader() {
        return String.join("  ", HEADER) + "\n";
    }

    /** One unaligned row for --follow. */
    public static String followRow(Outcome o) {
        return String.join("  ", row(o)) + "\n";
    }

    /** The summary block. */
    public static String summary(OutcomeSummary s) {
        StringBuilder out = new StringBuilder();
        out.append("outcomes: ").append(s.total());
        if (s.replays() > 0) {
            out.append(" (").append(s.replays()).append(" from replays)");
        }
        out.append('\n');
        List<String[]> counts = new ArrayList<>();
        counts.add(new String[] {"STATUS", "COUNT"});
        for (Map.Entry<String, Integer> e : s.statusCounts().entrySet()) {
            counts.add(new String[] {dash(e.getKey()), String.valueOf(e.getValue())});
        }
        out.append(align(counts));
        if (!s.byErrorCode().isEmpty()) {
            List<String[]> codes = new ArrayList<>();
            codes.add(new String[] {"ERROR CODE", "COUNT"});
            new java.util.TreeMap<>(s.byErrorCode()).forEach((code, n) -> codes.add(new String[] {dash(code), String.valueOf(n)}));
            out.append('\n').append(align(codes));
        }
        OutcomeSummary.Latency l = s.latency();
        out.append('\n');
        if (l.count() == 0) {
            out.append("latency: no outcomes with a latency\n");
        } else {
            out.append("latency ms (").append(l.count()).append(" outcomes): p50 ").append(l.p50())
                    .append("  p95 ").append(l.p95()).append("  p99 ").append(l.p99())
                    .append("  max ").append(l.max()).append('\n');
        }
        if (!s.latestFailures().isEmpty()) {
            out.append("\nlatest failures:\n");
            for (Outcome f : s.latestFailures()) {
                out.append("  ").append(time(f.finishedAt())).append("  ").append(dash(f.errorCode()))
                        .append("  ").append(dash(f.nodeId())).append('/').append(dash(f.taskId()))
                        .append('/').append(dash(f.containerId()))
                        .append(": ").append(f.error() == null ? "-" : oneLine(f.error().message())).append('\n');
            }
        }
        return out.toString();
    }

    private static String[] row(Outcome o) {
        return new String[] {
                time(o.finishedAt()), dash(o.status()), dash(o.errorCode()), dash(o.nodeId()), dash(o.taskId()),
                dash(o.containerId()), o.latencyMs() == null ? "-" : o.latencyMs() + "ms", String.valueOf(o.attempts()),
                o.replay() ? "yes" : "no"};
    }

    private static String align(List<String[]> rows) {
        int columns = rows.get(0).length;
        int[] widths = new int[columns];
        for (String[] row : rows) {
            for (int i = 0; i < columns; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                line.append(row[i]);
                if (i < columns - 1) {
                    line.append(" ".repeat(widths[i] - row[i].length() + 2));
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }

    private static String time(Instant instant) {
        return instant == null ? "-" : TIME.format(instant);
    }

    /** {@code value}, or "-" for none; escaped ({@link Printable}): ids and messages come from producers and workloads. */
    private static String dash(String value) {
        return value == null || value.isEmpty() ? "-" : Printable.escape(value);
    }

    /** {@code text} on one line (line breaks and the blanks around them as one space), escaped. */
    private static String oneLine(String text) {
        return text == null ? "-" : Printable.escape(text.replaceAll("\\s*\\R\\s*", " "));
    }
}
