package dev.netfence.policy.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ParsingPolicyDecoderTest {
    private final ParsingPolicyDecoder decoder = new ParsingPolicyDecoder();

    @Test
    void aValidExamplePolicyDecodesToAValidStoredPolicy() throws Exception {
        assertThat(decoder.decode(Files.readAllBytes(Path.of("schemas/examples/policy-bridge.json"))))
                .isInstanceOf(StoredPolicy.Valid.class);
    }

    @Test
    void hostModeIsKeptAsInvalidWithTheParsersReasons() throws Exception {
        StoredPolicy p = decoder.decode(Files.readAllBytes(Path.of("schemas/examples/policy-invalid-host-mode.json")));
        assertThat(p).isInstanceOf(StoredPolicy.Invalid.class);
        assertThat(((StoredPolicy.Invalid) p).reasons()).isNotEmpty();
    }

    @Test
    void somethingThatIsNotJsonIsInvalidNotAnException() {
        assertThat(decoder.decode("nope".getBytes())).isInstanceOf(StoredPolicy.Invalid.class);
    }
}
