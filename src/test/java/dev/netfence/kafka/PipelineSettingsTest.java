package dev.netfence.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PipelineSettingsTest {
    private static PipelineSettings.Builder base() {
        return PipelineSettings.custom().kafka(Map.of("bootstrap.servers", "127.0.0.1:9092")).nodeId("n1");
    }

    @Test
    void theLoopsStallThresholdIsTwoMinutesByDefault() {
        assertThat(base().build().stallThreshold()).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void theLoopsStallThresholdIsAtLeastTwiceTheLongestABlockingCallMayWait() {
        assertThat(base().kafka(Map.of("bootstrap.servers", "b:9092", "max.block.ms", "180000")).build()
                .stallThreshold()).isEqualTo(Duration.ofMinutes(6));
        assertThat(base().kafka(Map.of("bootstrap.servers", "b:9092", "max.block.ms", 5000)).build()
                .stallThreshold()).isEqualTo(Duration.ofMinutes(2));
    }
}
