package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RawSocketsTest {
    @Test
    void aLinesFieldsAreWhatAWhitespaceSplitOfTheStrippedLineGives() {
        for (String line : List.of("PACKET    1600      0      -1   NI       0   no   kernel    ",
                "  162: 00000000:00FF 00000000:0000 07 00000000:00000000", "\tRAW\t1152  3 ", "one", "   ", "")) {
            String text = "head\n" + line + "\ntail";
            int from = 5;
            List<String> split = line.isBlank() ? List.of() : Arrays.asList(line.strip().split("\\s+"));
            assertThat(RawSockets.fields(text, from, from + line.length(), Integer.MAX_VALUE)).as("[%s]", line)
                    .isEqualTo(split);
            assertThat(RawSockets.fields(text, from, from + line.length(), 2)).as("[%s], two", line)
                    .isEqualTo(split.subList(0, Math.min(2, split.size())));
        }
    }
}
