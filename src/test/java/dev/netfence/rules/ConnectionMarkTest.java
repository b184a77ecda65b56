package dev.netfence.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConnectionMarkTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef, 19088743",
            "sha256:ffffffff00000000000000000000000000000000000000000000000000000000, 4294967295",
            "sha256:00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff, 1"})
    void theMarkIsTheDigestsFirst32BitsAndNeverZero(String digest, long mark) {
        assertThat(ConnectionMark.of(digest)).isEqualTo(mark);
    }

    @Test
    void aValueThatIsNoDigestIsRefusedNamingIt() {
        assertThatThrownBy(() -> ConnectionMark.of("md5:0123"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("digest must be sha256:<hex>, was: md5:0123");
    }
}
