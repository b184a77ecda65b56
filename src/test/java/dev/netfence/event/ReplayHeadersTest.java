package dev.netfence.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class ReplayHeadersTest {
    private static RecordHeaders headers(String... replayValues) {
        RecordHeaders h = new RecordHeaders();
        for (String v : replayValues) {
            h.add(ReplayHeaders.REPLAY, v == null ? null : v.getBytes(StandardCharsets.UTF_8));
        }
        return h;
    }

    @Test
    void aRecordIsAReplayOnlyWhenItsLastReplayHeaderIsTrue() {
        assertThat(ReplayHeaders.isReplay(headers("true"))).isTrue();
        assertThat(ReplayHeaders.isReplay(headers("false", "true"))).isTrue();
        assertThat(ReplayHeaders.isReplay(headers())).isFalse();
        assertThat(ReplayHeaders.isReplay(headers("false"))).isFalse();
        assertThat(ReplayHeaders.isReplay(headers("yes"))).isFalse();
        assertThat(ReplayHeaders.isReplay(headers((String) null))).isFalse();
        assertThat(ReplayHeaders.isReplay(headers("true", "false"))).isFalse();
    }

    @Test
    void markingMakesAReplayThatNamesItsSource() {
        RecordHeaders h = headers();
        ReplayHeaders.mark(h, "sandbox.container-events", 3, 42);
        assertThat(ReplayHeaders.isReplay(h)).isTrue();
        assertThat(new String(h.lastHeader(ReplayHeaders.SOURCE).value(), StandardCharsets.UTF_8))
                .isEqualTo("sandbox.container-events-3@42");
    }
}
