package dev.netfence.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The shipped examples are documentation; they must stay true. */
class PolicyExamplesTest {
    private final PolicyParser parser = new PolicyParser();

    private static List<Path> examples(boolean invalid) throws IOException {
        try (Stream<Path> files = Files.list(Path.of("schemas/examples"))) {
            return files.filter(p -> p.getFileName().toString().startsWith("policy-"))
                    .filter(p -> p.getFileName().toString().startsWith("policy-invalid-") == invalid)
                    .sorted().toList();
        }
    }

    @Test
    void everyValidExampleParses() throws IOException {
        assertThat(examples(false)).hasSizeGreaterThanOrEqualTo(3);
        for (Path p : examples(false)) {
            assertThat(parser.parse(Files.readAllBytes(p))).as(p.toString()).isNotNull();
        }
    }

    @Test
    void everyInvalidExampleIsRejected() throws IOException {
        assertThat(examples(true)).isNotEmpty();
        for (Path p : examples(true)) {
            byte[] bytes = Files.readAllBytes(p);
            assertThatThrownBy(() -> parser.parse(bytes)).as(p.toString()).isInstanceOf(PolicyValidationException.class);
        }
    }

    @Test
    void theBridgeExampleIsTheDesignDocumentsPolicy() throws IOException {
        NetworkPolicy p = parser.parse(Files.readAllBytes(Path.of("schemas/examples/policy-bridge.json")));
        assertThat(p.mode()).isEqualTo(NetworkMode.BRIDGE);
        assertThat(p.allowedEndpoints()).extracting(Endpoint::toString)
                .containsExactly("198.51.100.7:443", "[2001:db8::7]:443", "pypi.internal:443", "198.51.100.9:53/udp");
        assertThat(p.dns()).isTrue();
        assertThat(p.outbound()).isFalse();
        assertThat(p.inbound()).isFalse();
    }

    @Test
    void theInvalidExamplesFailForTheDocumentedReasons() throws IOException {
        assertThatThrownBy(() -> parser.parse(Files.readAllBytes(Path.of("schemas/examples/policy-invalid-host-mode.json"))))
                .hasMessage("mode: host network mode is not allowed for security reasons");
        assertThatThrownBy(() -> parser.parse(Files.readAllBytes(Path.of("schemas/examples/policy-invalid-port-and-cidr.json"))))
                .isInstanceOfSatisfying(PolicyValidationException.class, e -> assertThat(e.reasons()).containsExactly(
                        "allowedEndpoints[0]: invalid port \"99999\" in \"1.2.3.4:99999\" (expected 1-65535)",
                        "blockedSubnets[0]: host bits set in \"10.0.0.1/8\" (did you mean \"10.0.0.0/8\"?)"));
        assertThatThrownBy(() -> parser.parse(Files.readAllBytes(Path.of("schemas/examples/policy-invalid-duplicate-field.json"))))
                .isInstanceOfSatisfying(PolicyValidationException.class, e -> assertThat(e.reasons()).singleElement()
                        .asString().startsWith("policy is not valid JSON: Duplicate field 'blockedSubnets'"));
    }
}
