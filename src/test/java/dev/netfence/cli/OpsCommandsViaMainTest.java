package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The ops commands are reachable from the one executable and keep the exit-code contract there. */
class OpsCommandsViaMainTest {

    private record Result(int code, String out, String err) {
    }

    private static Result main(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void everyOpsCommandHasHelpWithExamplesUnderTheMainExecutable() {
        for (String command : new String[] {"replay", "outcomes", "policy", "publish"}) {
            Result help = main(command, "--help");
            assertThat(help.code()).as(command).isZero();
            assertThat(help.out()).as(command).contains("Usage: netfence " + command, "Examples:", "netfence " + command);
        }
        assertThat(main("--help").out()).contains("replay", "outcomes", "policy", "publish");
    }

    @Test
    void usageErrorsAreExitTwoAndInvalidInputIsExitOneWithTheFullCommandName() {
        Result combined = main("outcomes", "--follow", "--summary");
        Result noSubcommand = main("policy");
        Result badTime = main("replay", "--from", "last tuesday");
        Result badTask = main("policy", "get", "bad task");

        assertThat(combined.code()).isEqualTo(2);
        assertThat(combined.err()).startsWith("--follow and --summary cannot be combined");
        assertThat(noSubcommand.code()).isEqualTo(2);
        assertThat(badTime.code()).isEqualTo(1);
        assertThat(badTime.err()).startsWith("netfence replay: cannot read time 'last tuesday'");
        assertThat(badTask.code()).isEqualTo(1);
        assertThat(badTask.err()).isEqualTo("netfence policy get: task id 'bad task' must match [A-Za-z0-9._:-]{1,128}\n");
    }
}
