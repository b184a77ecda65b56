package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When a process started, from a fake {@code /proc}: never before the real start, and on the clock as it is now. */
class ProcessStartTest {
    @TempDir
    Path proc;

    @Test
    void theStartIsTheBootTimePlusTheTicksRoundedUpBySecondAndTick() throws IOException {
        boot(1_764_900_000L);
        process(42, "sleep", 12_345);

        // boot + 1 s, plus (12,345 + 1) ticks of 10 ms
        assertThat(ProcessStart.of(proc, 42)).contains(Instant.ofEpochSecond(1_764_900_001L).plusMillis(123_460));
    }

    @Test
    void aNameWithParenthesesAndSpacesDoesNotShiftTheFields() throws IOException {
        boot(1_764_900_000L);
        process(42, "a) 1 2 3 (b", 500);

        assertThat(ProcessStart.of(proc, 42)).contains(Instant.ofEpochSecond(1_764_900_001L).plusMillis(5_010));
    }

    @Test
    void theBootTimeIsReadEachTimeSoAStepOfTheWallClockMovesTheStart() throws IOException {
        boot(1_764_900_000L);
        process(42, "sleep", 0);
        Optional<Instant> before = ProcessStart.of(proc, 42);

        boot(1_764_903_600L); // the wall clock stepped an hour ahead: btime is the wall clock minus the uptime

        assertThat(ProcessStart.of(proc, 42)).isNotEqualTo(before)
                .contains(before.orElseThrow().plusSeconds(3_600));
    }

    @Test
    void aGoneProcessOrAStatWithoutBootTimeHasNoStart() throws IOException {
        boot(1_764_900_000L);
        assertThat(ProcessStart.of(proc, 42)).isEmpty();

        process(42, "sleep", 7);
        Files.writeString(proc.resolve("stat"), "cpu  1 2 3 4\nctxt 5\n");
        assertThat(ProcessStart.of(proc, 42)).isEmpty();
    }

    @Test
    void aStatCutBeforeField22HasNoTicks() {
        assertThat(ProcessStart.ticksIn("42 (sleep) S 1 42 42 0 -1")).isNull();
        assertThat(ProcessStart.ticksIn("no parenthesis")).isNull();
    }

    private void boot(long btime) throws IOException {
        Files.writeString(proc.resolve("stat"), "cpu  10 0 20 3000 0 0 0 0 0 0\nintr 1\nctxt 99\nbtime " + btime
                + "\nprocesses 300\n");
    }

    /** A {@code /proc/PID/stat} whose field 22 (start time) is {@code ticks}. */
    private void process(int pid, String name, long ticks) throws IOException {
        StringBuilder stat = new StringBuilder(pid + " (" + name + ") S");
        for (int field = 4; field < 22; field++) {
            stat.append(' ').append(field);
        }
        stat.append(' ').append(ticks).append(" 8000000 200 18446744073709551615\n");
        Files.writeString(Files.createDirectories(proc.resolve(Integer.toString(pid))).resolve("stat"), stat);
    }
}
