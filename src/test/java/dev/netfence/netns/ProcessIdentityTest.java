package dev.netfence.netns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.KernelTests;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A process's pidfs token (Linux 6.9+) against the real kernel: one process, one token, whether
 * reached through its pidfd or its pid, kept after it exits; another process, another token; and
 * what its pid names once it is gone is not it.
 */
class ProcessIdentityTest {
    @Test
    void aTokenNamesOneProcessThroughItsPidfdAndItsPidAndNoOtherProcessOnceItIsGone() throws Exception {
        requirePidfs();
        Process child = new ProcessBuilder("sleep", "60").start();
        try {
            int pid = (int) child.pid();
            String viaPid = ProcessIdentity.tokenOf(pid);
            try (ProcessIdentity process = ProcessIdentity.open(pid).orElseThrow()) {
                assertThat(viaPid).startsWith("pidfs:");
                assertThat(process.token()).isEqualTo(viaPid);
                assertThat(ProcessIdentity.tokenOf((int) ProcessHandle.current().pid())).isNotNull().isNotEqualTo(viaPid);

                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

                assertThat(process.alive()).isFalse();
                assertThat(process.token()).as("still names the process that exited").isEqualTo(viaPid);
                assertThat(ProcessIdentity.tokenOf(pid)).as("the pid now names nothing, or another process")
                        .isNotEqualTo(viaPid);
            }
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aThreadOtherThanTheLeaderHasATokenOfItsOwnAndTheLeaderTheProcesssToken() throws Exception {
        requirePidfs();
        int self = (int) ProcessHandle.current().pid();
        int thread;
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
            thread = tasks.map(p -> Integer.parseInt(p.getFileName().toString())).filter(t -> t != self).findFirst()
                    .orElseThrow();
        }
        String leader = ProcessIdentity.tokenOf(self);
        try (ProcessIdentity process = ProcessIdentity.open(self).orElseThrow()) {
            assertThat(process.token()).as("the process's pidfd names the leader's struct pid").isEqualTo(leader);
        }
        assertThat(ProcessIdentity.tokenOf(thread)).as("thread " + thread).startsWith("pidfs:").isNotEqualTo(leader);
    }

    /** pidfs is on every kernel CI runs on (6.9+); elsewhere the start time names processes, and this test is skipped. */
    private static void requirePidfs() {
        if (ProcessIdentity.tokens()) {
            return;
        }
        String why = "pidfds are not pidfs inodes on this kernel (" + System.getProperty("os.version") + ")";
        if ("1".equals(System.getenv(KernelTests.REQUIRE_ENV))) {
            Assertions.fail(why + " (and " + KernelTests.REQUIRE_ENV + "=1)");
        }
        Assumptions.abort(why);
    }
}
