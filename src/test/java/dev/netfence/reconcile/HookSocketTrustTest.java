package dev.netfence.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.testkit.Python;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who the hook's socket trusts, both ways, with a real second user ({@code nobody}, through
 * {@code setpriv}): the service answers only its own user or root whatever the socket file's mode
 * says, refuses a directory another user could write or owns, and the shipped hook script does
 * not take a "fenced" from a socket another user serves.
 */
class HookSocketTrustTest {
    private static final Path SCRIPT = Path.of("scripts", "netfence-hook");
    private static final String NOBODY = "65534";
    /** The system's interpreter: another user cannot run one installed under root's home. */
    private static final String PYTHON = "/usr/bin/python3";
    private static final String STATE = "{\"ociVersion\":\"1.0.2\",\"id\":\"3f9a0c2d8e1b\",\"status\":\"creating\","
            + "\"pid\":31800,\"bundle\":\"/b\"}";
    /** A client: connects to argv[1], sends stdin, prints the answer. */
    private static final String CLIENT = "import socket, sys\n"
            + "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(10); s.connect(sys.argv[1])\n"
            + "s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)\n"
            + "print(s.makefile('rb').read().decode(), end='')\n";
    /** A server of another user: binds argv[1] open to all, says ready, answers "fenced" to everyone. */
    private static final String FAKE_SERVER = "import os, socket, sys\n"
            + "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1])\n"
            + "os.chmod(sys.argv[1], 0o666); s.listen(4); print('ready', flush=True)\n"
            + "while True:\n"
            + "    c, _ = s.accept(); c.recv(65536); c.sendall(b'{\"fenced\":true,\"status\":\"applied\"}\\n'); c.close()\n";

    @TempDir
    Path dir;

    @BeforeEach
    void letOtherUsersThroughTheTestsDirectory() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void aConnectionFromAnotherUserIsAnsweredWithARefusalAndNeverHandled() throws Exception {
        Path socket = dir.resolve("hook.sock");
        List<HookServer.Request> seen = new CopyOnWriteArrayList<>();
        try (HookServer server = HookServer.start(socket, r -> {
            seen.add(r);
            return new HookServer.Answer(true, "applied");
        })) {
            // the mode other users meet between bind and chmod under a lax umask, or after a careless chmod
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));

            Run other = run(STATE, "setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                    PYTHON, "-c", CLIENT, socket.toString());

            assertThat(other.exit()).as(other.output()).isZero();
            assertThat(other.output()).contains("\"fenced\":false")
                    .contains("refused: the hook runs as user nobody, not as netfence's user or root");
            assertThat(seen).as("nothing was fenced for it").isEmpty();

            Run own = run(STATE, Python.EXE, "-c", CLIENT, socket.toString());
            assertThat(own.output()).as("root is served").contains("\"fenced\":true");
            assertThat(seen).hasSize(1);
        }
    }

    @Test
    void aDirectoryGroupOrOthersCanWriteIsRefusedAtStartAndLeavesNoSocket() throws Exception {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = shared.resolve("hook.sock");

        assertThatThrownBy(() -> HookServer.start(socket, r -> new HookServer.Answer(true, "applied")))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("cannot serve the OCI hook on " + socket + ": the socket's directory " + shared
                        + " is writable by group or others (rwxrwxrwx): another user could put a socket of their own"
                        + " in its place; use a directory only netfence's user can write");
        assertThat(socket).doesNotExist();
    }

    @Test
    void aPathThroughAnotherUsersLinkInAStickyDirectoryIsRefusedAtStartAndNothingIsMadeThere() throws Exception {
        // before, only the last directory was checked, through the link: its owner could later point it at a
        // directory of their own, the hook would ask their socket, and netfence would never serve the path again
        Path sticky = Files.createDirectory(dir.resolve("tmp"));
        assertThat(run("", "chmod", "1777", sticky.toString()).exit()).isZero();
        Path real = Files.createDirectory(dir.resolve("real"));
        Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path link = sticky.resolve("netfence");
        assertThat(run("", "setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "ln", "-s",
                real.toString(), link.toString()).exit()).isZero();
        Path socket = link.resolve("sub").resolve("hook.sock");

        assertThatThrownBy(() -> HookServer.start(socket, r -> new HookServer.Answer(true, "applied")))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageEndingWith("the socket's path goes through " + link + ", which belongs to nobody, not to"
                        + " netfence's user or root: its owner could point the path at a socket of their own");
        assertThat(real.resolve("sub")).as("nothing made through it").doesNotExist();
    }

    @Test
    void aPathThroughADirectoryOthersMayWriteWithoutItsStickyBitIsRefused() throws Exception {
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = open.resolve("netfence").resolve("hook.sock");

        assertThatThrownBy(() -> HookServer.start(socket, r -> new HookServer.Answer(true, "applied")))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageEndingWith("the socket's path goes through " + open + ", which group or others may write"
                        + " without its sticky bit: another user could rename what follows it");
    }

    @Test
    void aDirectoryOfAnotherUserIsRefusedAtStart() throws Exception {
        Path theirs = Files.createDirectory(dir.resolve("theirs"));
        Files.setPosixFilePermissions(theirs, PosixFilePermissions.fromString("rwxr-xr-x"));
        chownToNobody(theirs);
        Path socket = theirs.resolve("hook.sock");

        assertThatThrownBy(() -> HookServer.start(socket, r -> new HookServer.Answer(true, "applied")))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageEndingWith("the socket's directory " + theirs + " belongs to nobody, not to netfence's"
                        + " user (root) or root: its owner could replace the socket");
        assertThat(socket).doesNotExist();
    }

    @Test
    void theHookTakesNoAnswerFromASocketAnotherUserServesAndRefusesTheContainer() throws Exception {
        Path theirs = Files.createDirectory(dir.resolve("theirs"));
        chownToNobody(theirs);
        Path socket = theirs.resolve("hook.sock");
        Process fake = new ProcessBuilder("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                PYTHON, "-c", FAKE_SERVER, socket.toString()).redirectErrorStream(true).start();
        try {
            String first = new String(fake.getInputStream().readNBytes(6), StandardCharsets.UTF_8);
            assertThat(first).as("the other user's server listens").isEqualTo("ready\n");
            Run asked = run(STATE, "setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                    PYTHON, "-c", CLIENT, socket.toString());
            assertThat(asked.output()).as("it answers whoever asks").contains("\"fenced\":true");

            Run hook = run(STATE, Python.EXE, SCRIPT.toString(), "--socket", socket.toString(), "--timeout", "10");

            assertThat(hook.exit()).as(hook.output()).isEqualTo(1);
            assertThat(hook.output()).contains("served by uid 65534, not by root: not netfence's socket")
                    .contains("--on-unavailable refuse");
        } finally {
            fake.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void chownToNobody(Path path) throws Exception {
        assertThat(run("", "chown", NOBODY + ":" + NOBODY, path.toString()).exit()).isZero();
    }

    private record Run(int exit, String output) {}

    private static Run run(String stdin, String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("finished: " + String.join(" ", command)).isTrue();
        return new Run(p.exitValue(), output);
    }
}
