package dev.netfence.event;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every example under schemas/examples/ is valid or invalid exactly as its name says. */
class SchemaExamplesTest {
    private static final Path EXAMPLES = Path.of("schemas", "examples");
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Path> examples() throws IOException {
        try (Stream<Path> files = Files.list(EXAMPLES)) {
            List<Path> mine = files.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith("event-") || n.startsWith("outcome-") || n.startsWith("enforcement-");
            }).sorted().toList();
            assertThat(mine).hasSizeGreaterThanOrEqualTo(10);
            return mine.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("examples")
    void eachExampleValidatesExactlyAsItsNameSays(Path example) throws IOException {
        String name = example.getFileName().toString();
        DocumentSchema schema = DocumentSchema.load(name.startsWith("event-") ? "container-event.v1.json"
                : name.startsWith("enforcement-") ? "enforcement.v1.json" : "outcome.v1.json");
        List<String> reasons = schema.validate(JSON.readTree(example.toFile()));
        if (name.contains("-valid-")) {
            assertThat(reasons).as(name).isEmpty();
        } else {
            assertThat(name).contains("-invalid-");
            assertThat(reasons).as(name).isNotEmpty();
        }
    }
}
