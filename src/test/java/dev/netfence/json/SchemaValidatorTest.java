package dev.netfence.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class SchemaValidatorTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final SchemaValidator policy = new SchemaValidator("policy.v1.json");

    static List<Path> examples(String glob) throws IOException {
        try (Stream<Path> files = Files.list(Path.of("schemas/examples"))) {
            return files.filter(p -> p.getFileName().toString().matches(glob)).sorted().toList();
        }
    }

    @Test
    void everyValidPolicyExamplePassesTheSchema() throws IOException {
        List<Path> valid = examples("policy-(?!invalid-).*\\.json");
        assertThat(valid).extracting(p -> p.getFileName().toString())
                .contains("policy-bridge.json", "policy-default.json", "policy-hipaa.json");
        for (Path p : valid) {
            assertThat(policy.validate(MAPPER.readTree(p.toFile()))).as(p.toString()).isEmpty();
        }
    }

    @Test
    void theSchemaReportsTheFieldPathAndWhatIsWrong() throws IOException {
        assertThat(policy.validate(MAPPER.readTree("{\"schemaVersion\":1,\"allowedEndpoints\":[\"a:1\",7]}")))
                .containsExactly("$.allowedEndpoints[1]: integer found, string expected");
        assertThat(policy.validate(MAPPER.readTree("{\"schemaVersion\":1,\"mode\":\"host\"}")))
                .singleElement().asString().startsWith("$.mode: does not have a value in the enumeration");
    }

    @Test
    void aMissingSchemaFailsAtConstructionWithItsPath() {
        assertThatThrownBy(() -> new SchemaValidator("nope.v1.json"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("schema not found on the classpath: /schemas/nope.v1.json");
    }
}
