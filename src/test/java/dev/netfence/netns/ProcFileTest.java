package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Small /proc files read whole (or up to a limit), one char per byte, with NIO's exceptions. */
class ProcFileTest {
    @TempDir
    Path dir;

    @Test
    void aFileLongerThanTheFirstBufferIsReadWholeAndALimitCutsIt() throws Exception {
        String text = "line\n".repeat(3000);
        Files.writeString(dir.resolve("f"), text);

        assertThat(ProcFile.read(dir.resolve("f"))).isEqualTo(text);
        assertThat(ProcFile.read(dir.resolve("f"), 4099)).isEqualTo(text.substring(0, 4099));
    }

    @Test
    void aFirstReadIsAPrefixOfALongFileAndAllOfAProcessStatus() throws Exception {
        String text = "line\n".repeat(3000);
        Files.writeString(dir.resolve("f"), text);

        String first = ProcFile.readFirst(dir.resolve("f"), ProcFile.LIMIT);
        assertThat(first).as("one read: a prefix, as long as the buffer the read went into").isNotEmpty()
                .hasSizeLessThan(text.length());
        assertThat(text).startsWith(first);
        assertThat(ProcFile.readFirst(dir.resolve("f"), 10)).isEqualTo(text.substring(0, 10));
        String status = ProcFile.readFirst(Path.of("/proc/self/status"), ProcFile.LIMIT);
        assertThat(status).startsWith("Name:").endsWith("\n").contains("\nCapBnd:");
        assertThat(Capabilities.heldInWholeLines(status)).isPresent();
    }

    @Test
    void bytesThatAreNotUtf8AreReadOneCharEachAndAMissingFileIsNoSuchFile() throws Exception {
        Files.write(dir.resolve("status"), new byte[] {'N', ':', (byte) 0xff, (byte) 0xc3, '\n'});

        assertThat(ProcFile.read(dir.resolve("status"))).isEqualTo(new String(new byte[] {'N', ':', (byte) 0xff,
                (byte) 0xc3, '\n'}, StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> ProcFile.read(dir.resolve("gone"))).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void aProcFileOfAProcessThatIsGoneIsNoSuchFileAndADirectoryIsAnIoError() {
        assertThatThrownBy(() -> ProcFile.read(Path.of("/proc/999999999/status"))).isInstanceOf(NoSuchFileException.class);
        assertThatThrownBy(() -> ProcFile.read(dir)).isInstanceOf(java.io.IOException.class)
                .isNotInstanceOf(NoSuchFileException.class);
    }

    @Test
    void aPathThatIsNotAsciiIsReadTheJavaWay() throws Exception {
        Files.writeString(dir.resolve("staétus"), "CapEff:\t0\n");

        assertThat(ProcFile.read(dir.resolve("staétus"))).isEqualTo("CapEff:\t0\n");
    }

    @Test
    void aWriteReplacesTheStartOfAFileAndAMissingFileIsNoSuchFile() throws Exception {
        Files.writeString(dir.resolve("flush"), "0");

        ProcFile.write(dir.resolve("flush"), "1");

        assertThat(Files.readString(dir.resolve("flush"))).isEqualTo("1");
        assertThatThrownBy(() -> ProcFile.write(dir.resolve("gone"), "1")).isInstanceOf(NoSuchFileException.class);
        assertThat(dir.resolve("gone")).as("never created").doesNotExist();
        assertThatThrownBy(() -> ProcFile.write(dir, "1")).isInstanceOf(java.io.IOException.class)
                .isNotInstanceOf(NoSuchFileException.class);
    }

    @Test
    void aPathThatIsNotAsciiIsWrittenTheJavaWay() throws Exception {
        Files.writeString(dir.resolve("flüsh"), "0");

        ProcFile.write(dir.resolve("flüsh"), "1");

        assertThat(Files.readString(dir.resolve("flüsh"))).isEqualTo("1");
    }

    @Test
    void aRealProcFileIsReadToItsEnd() throws Exception {
        String status = ProcFile.read(Path.of("/proc/self/status"));

        assertThat(status).startsWith("Name:").contains("\nCapBnd:").endsWith("\n");
    }
}
