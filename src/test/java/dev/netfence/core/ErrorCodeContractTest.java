package dev.netfence.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every error code netfence can put in an outcome is one the published contract knows: in the
 * outcome schema's enum (a consumer validating outcomes would reject any other; HOST_GUARD_UNAVAILABLE
 * was missing from it) and in the codes table of docs/contracts.md.
 */
class ErrorCodeContractTest {

    @Test
    void everyErrorCodeIsInTheOutcomeSchemasEnum() throws Exception {
        JsonNode schema = new ObjectMapper().readTree(Path.of("schemas", "outcome.v1.json").toFile());
        List<String> enumerated = new ArrayList<>();
        schema.findParents("enum").stream()
                .filter(node -> node.path("enum").toString().contains("POLICY_NOT_FOUND"))
                .forEach(node -> node.path("enum").forEach(code -> enumerated.add(code.asText())));

        assertThat(enumerated).containsAll(Arrays.stream(ErrorCode.values()).map(ErrorCode::code).toList());
    }

    @Test
    void everyErrorCodeHasARowInTheContractsTable() throws Exception {
        String contracts = Files.readString(Path.of("docs", "contracts.md"));

        for (ErrorCode code : ErrorCode.values()) {
            assertThat(contracts).as(code.code()).contains("| `" + code.code() + "` |");
        }
    }
}
