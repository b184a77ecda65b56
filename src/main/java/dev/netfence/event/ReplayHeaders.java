package dev.netfence.event;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * The one definition of a replayed event (docs/contracts.md, "Header: netfence.replay"): a record
 * whose last {@value #REPLAY} header is {@code true}. {@code netfence replay} marks the events it
 * re-publishes so, the pipeline gives their outcomes {@code "replay": true}, and the replayer
 * never replays a replay. {@value #SOURCE} names the record that was replayed.
 */
public final class ReplayHeaders {
    /** Marks a re-published event; the value is {@code true}. */
    public static final String REPLAY = "netfence.replay";
    /** The replayed record: {@code topic-partition@offset}. */
    public static final String SOURCE = "netfence.replay.source";

    private static final byte[] TRUE = "true".getBytes(StandardCharsets.UTF_8);

    private ReplayHeaders() {}

    /** Whether the last {@value #REPLAY} header of {@code headers} is {@code true}. */
    public static boolean isReplay(Headers headers) {
        Header h = headers.lastHeader(REPLAY);
        return h != null && h.value() != null && "true".equals(new String(h.value(), StandardCharsets.UTF_8));
    }

    /** Adds the replay mark and the source of a record re-published from {@code topic-partition@offset}. */
    public static void mark(Headers headers, String topic, int partition, long offset) {
        headers.add(REPLAY, TRUE.clone());
        headers.add(SOURCE, (topic + "-" + partition + "@" + offset).getBytes(StandardCharsets.UTF_8));
    }
}
