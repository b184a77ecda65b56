package dev.netfence.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class ReportTest {
    @Test
    void theCeilingOfEnforceRatioIsTheNftFloorOverTheProcessFloorOfTheSameRun() {
        ObjectNode figures = Bench.JSON.createObjectNode();
        figures.put("nft_floor_events_per_s", 538.0);
        figures.put("process_floor_events_per_s", 152.7);

        Report.ceiling(figures);

        assertThat(figures.get("enforce_ratio_ceiling").asDouble()).isEqualTo(3.52);
    }

    @Test
    void noCeilingIsWrittenWithoutBothFloors() {
        ObjectNode onlyNft = Bench.JSON.createObjectNode();
        onlyNft.put("nft_floor_events_per_s", 538.0);
        ObjectNode zeroProcess = Bench.JSON.createObjectNode();
        zeroProcess.put("nft_floor_events_per_s", 538.0);
        zeroProcess.put("process_floor_events_per_s", 0.0);

        Report.ceiling(onlyNft);
        Report.ceiling(zeroProcess);

        assertThat(onlyNft.has("enforce_ratio_ceiling")).isFalse();
        assertThat(zeroProcess.has("enforce_ratio_ceiling")).isFalse();
    }
}
