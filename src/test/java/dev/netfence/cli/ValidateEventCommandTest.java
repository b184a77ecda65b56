package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ValidateEventCommandTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int validate(String file) {
        return Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), "validate", "--event", file);
    }

    @Test
    void aValidExampleEventIsValid() {
        assertThat(validate("schemas/examples/event-valid-full.json")).isEqualTo(Main.OK);
        assertThat(out.toString().trim()).isEqualTo("valid");
    }

    @Test
    void anInvalidExampleEventExitsOneWithItsReasons() {
        assertThat(validate("schemas/examples/event-invalid-pid-one.json")).isEqualTo(Main.INVALID_INPUT);
        assertThat(err.toString()).startsWith("INVALID_EVENT: ").contains("pid");
    }

    @Test
    void anEventWithAWrongTypeIsReportedAsMalformed() {
        assertThat(validate("schemas/examples/event-invalid-pid-type.json")).isEqualTo(Main.INVALID_INPUT);
        assertThat(err.toString().trim()).isEqualTo("MALFORMED_EVENT: field 'pid' must be integer, was string");
    }
}
