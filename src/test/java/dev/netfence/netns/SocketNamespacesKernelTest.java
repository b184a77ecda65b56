package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Python;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link SocketNamespaces} on the real kernel: a process that opened a socket in a namespace of
 * its own and then moved back into the test's namespace (so no process is left in the first one)
 * still shows that namespace through the socket it holds.
 */
@ExtendWith(KernelTests.class)
class SocketNamespacesKernelTest {
    private static final Path PROC = Path.of("/proc");

    @Test
    void theNamespaceOfASocketIsFoundThroughTheProcessHoldingItAfterEveryProcessLeftIt() throws Exception {
        // opens a UDP socket in a fresh namespace (whose identity it prints), then enters the test's namespace again
        String script = "import ctypes, os, socket, sys, time\n"
                + "libc = ctypes.CDLL(None, use_errno=True)\n"
                + "home = os.open('/proc/self/ns/net', os.O_RDONLY)\n"
                + "assert libc.unshare(0x40000000) == 0\n"
                + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                + "st = os.stat('/proc/self/ns/net')\n"
                + "assert libc.setns(home, 0x40000000) == 0\n"
                + "print(st.st_dev, st.st_ino, flush=True)\n"
                + "time.sleep(60)\n";
        Process p = new ProcessBuilder(Python.EXE, "-c", script).redirectErrorStream(true).start();
        try {
            String[] line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine().trim().split(" ");
            NamespaceId left = new NamespaceId(Long.parseLong(line[0]), Long.parseLong(line[1]));
            int pid = (int) p.pid();
            assertThat(NamespaceId.of(Path.of("/proc/" + pid + "/ns/net"))).as("back in the test's namespace")
                    .isEqualTo(NamespaceId.of(Path.of("/proc/self/ns/net"))).isNotEqualTo(left);

            SocketNamespaces.Search search = SocketNamespaces.first(PROC, List.of(pid), h -> true,
                    System.nanoTime() + 5_000_000_000L);

            SocketNamespaces.Held held = search.held();
            assertThat(held).isNotNull();
            assertThat(search.complete()).isTrue();
            try {
                assertThat(held.id()).isEqualTo(left);
                assertThat(held.holder()).isEqualTo(pid);
                assertThat(NamespaceId.of(Path.of("/proc/self/fd/" + held.descriptor()))).as("held by this process")
                        .isEqualTo(left);
            } finally {
                SocketNamespaces.release(held);
            }
            assertThat(SocketNamespaces.first(PROC, List.of(pid), h -> !h.id().equals(left),
                    System.nanoTime() + 5_000_000_000L)).as("none other than the one refused")
                    .isEqualTo(new SocketNamespaces.Search(null, true));
            assertThat(SocketNamespaces.first(PROC, List.of(pid), h -> true, System.nanoTime() - 1))
                    .as("a search out of time says so").isEqualTo(new SocketNamespaces.Search(null, false));
            assertThat(SocketNamespaces.first(Path.of("/tmp/not-proc"), List.of(pid), h -> true,
                    System.nanoTime() + 5_000_000_000L).held()).as("only through this pid namespace's /proc").isNull();
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
